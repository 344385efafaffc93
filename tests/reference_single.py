"""Plain NumPy references of the single-machine methods and EF21 / normalized EF21, written from the
pseudocode of the papers named in ``theorybench.kernels.single`` (not from the kernel). ``grads``: list of
callables ``grad f_i(x)``; ``value``: ``f(x)`` (for Polyak); noise: ``noise_fn(i, k, d)`` as in
``reference_federated``.
Returns the list of iterates x_0 .. x_T."""
import math

import numpy as np

from theorybench import rng


def _oracle(grads, noise_fn, counts, x):
    gs = []
    for i, gf in enumerate(grads):
        g = np.array(gf(x), dtype=float)
        if noise_fn is not None:
            g = g + noise_fn(i, counts[i], x.size)
        counts[i] += 1
        gs.append(g)
    return gs


def topk(v, k):
    out = np.zeros_like(v)
    order = sorted(range(v.size), key=lambda j: (-abs(v[j]), j))[:k]
    out[order] = v[order]
    return out


def randk(v, k, seed, stream, counter):
    d = v.size
    idx = list(range(d))
    out = np.zeros_like(v)
    for q in range(min(k, d)):
        r = q + int(rng.uniform01(seed, stream, counter * d + q) * (d - q))
        idx[q], idx[r] = idx[r], idx[q]
        out[idx[q]] = v[idx[q]]
    return out


def scheduled_eta(h, t, x, g, value, seed, normalized):
    """eta_t of the step schedule (constant, power, random on stream 2**21, Polyak)."""
    from theorybench.rng import uniform01
    eta, sch = h.get("eta", 0.01), h.get("schedule", "constant")
    if sch == "constant":
        return eta
    if sch == "power":
        return eta / (t + 1.0) ** h.get("power", 0.5)
    if sch == "random":
        return eta * (1.0 - uniform01(seed, 1 << 21, t))
    dual = np.abs(g).sum() if normalized else np.linalg.norm(g)
    if dual <= 0:
        return 0.0
    gap = max(value(x) - h.get("f_lower", 0.0), 0.0)
    return min(gap / dual if normalized else gap / dual ** 2, h.get("alpha_max", np.inf))


def reference_run(algo, grads, value, x0, T, noise_fn=None, seed=0, **h):
    x = np.array(x0, dtype=float)
    d = x.size
    n = len(grads)
    counts = [0] * n
    xs = [x.copy()]
    eta = h.get("eta", 0.01)
    if algo in ("ef21", "normalized-ef21"):
        k = h.get("k", 10)
        comp = h.get("compressor", "topk")
        gi = _oracle(grads, noise_fn, counts, x)
        g = sum(gi) / n
        ccount = [0] * n
        for t in range(T):
            if algo == "ef21":
                eta = scheduled_eta(h, t, x, g, value, seed, False)
                x = x - eta * g
            else:
                gn = np.linalg.norm(g)
                if gn > 0:
                    x = x - h.get("gamma0", 1.0) / math.sqrt(T + 1) * (g / gn)
            new = _oracle(grads, noise_fn, counts, x)
            for i in range(n):
                diff = new[i] - gi[i]
                c = topk(diff, k) if comp == "topk" else randk(diff, k, seed, (1 << 20) + i, ccount[i])
                ccount[i] += 1
                gi[i] = gi[i] + c
            g = sum(gi) / n
            xs.append(x.copy())
        return xs
    m = np.zeros(d)
    v = np.zeros(d)
    gamma = h.get("gamma", 1.0)
    acc = gamma ** 2
    lam_prev, theta, x_prev, g_prev = h.get("lambda0", 1e-6), math.inf, None, None
    b1, b2, eps = h.get("beta1", 0.9), h.get("beta2", 0.999), h.get("eps", 1e-8)
    for t in range(T):
        g = sum(_oracle(grads, noise_fn, counts, x)) / n
        gn = np.linalg.norm(g)
        eta = scheduled_eta(h, t, x, g, value, seed, algo == "signsgd")
        if algo == "gd":
            x = x - eta * g
        elif algo == "l0l1-gd":
            x = x - eta / (h["L0"] + h["L1"] * gn) * g
        elif algo == "clipped-gd":
            conv = h.get("convention", "step")
            if conv == "step":
                x = x - (gamma * (g / gn) if gn > gamma / eta else eta * g)
            else:
                x = x - (eta * gamma * (g / gn) if gn > gamma else eta * g)
        elif algo == "normalized-gd":
            if gn > 0:
                x = x - h["R_hat"] / math.sqrt(t + 1) * (g / gn)
        elif algo == "polyak":
            if gn > 0:
                x = x - (value(x) - h.get("f_star", 0.0)) / gn ** 2 * g
        elif algo == "adgd":
            if t == 0:
                lam = lam_prev
            else:
                a = math.sqrt(1 + theta) * lam_prev
                dg = np.linalg.norm(g - g_prev)
                b = np.linalg.norm(x - x_prev) / (2 * dg) if dg > 0 else math.inf
                lam = min(a, b)
                if not math.isfinite(lam):
                    lam = lam_prev
                theta = lam / lam_prev if lam_prev > 0 else math.inf
            x_prev, g_prev = x.copy(), g.copy()
            x = x - lam * g
            lam_prev = lam
        elif algo in ("generalized-signsgd", "signsgd-momentum"):
            bb2 = 0.0 if algo == "signsgd-momentum" else b2
            m = b1 * m + (1 - b1) * g
            v = bb2 * v + (1 - bb2) * m ** 2
            den = np.sqrt(v) + eps
            x = x - np.where(den > 0, eta * m / np.where(den > 0, den, 1.0), 0.0)
        elif algo == "signsgd":
            x = x - eta * np.sign(g)
        elif algo == "adam":
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g ** 2
            x = x - eta * (m / (1 - b1 ** (t + 1))) / (np.sqrt(v / (1 - b2 ** (t + 1))) + eps)  # eps > 0 here
        elif algo == "adagrad-norm":
            acc += gn ** 2
            x = x - eta * g / math.sqrt(acc)
        elif algo == "decorrelated-adagrad-norm":
            x = x - eta * g / math.sqrt(acc) if acc > 0 else x
            acc += gn ** 2
        elif algo == "adagrad":
            v = v + g ** 2
            x = x - eta * g / np.sqrt(gamma ** 2 + v)
        elif algo == "decorrelated-adagrad":
            x = x - eta * g / np.sqrt(gamma ** 2 + v)
            v = v + g ** 2
        else:
            raise ValueError(algo)
        xs.append(x.copy())
    return xs
