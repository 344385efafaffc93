"""Plain NumPy references of the muon kernel's algorithms, straight from the pseudocode of Parshakova, Khaled,
Crawshaw, Garrigos, Gower (arXiv 2605.08980) (the oracle for ``theorybench.kernels.muon``)."""
import numpy as np

from theorybench.geometry import newton_schulz, polar


def value_subgrad(W, c, tie):
    s1 = np.sign(W[0, 0] + W[1, 1]) or tie
    s2 = np.sign(W[0, 0] - W[1, 1]) or tie
    G = np.zeros_like(W)
    G[0, 0] = c * s1 + s2
    G[1, 1] = c * s1 - s2
    return c * abs(W[0, 0] + W[1, 1]) + abs(W[0, 0] - W[1, 1]), G


def _alpha(h, t, f, G, kind, rng_u):
    if h["schedule"] == "constant":
        return h["alpha0"]
    if h["schedule"] == "power":
        return h["alpha0"] / (t + 1.0) ** h["power"]
    if h["schedule"] == "random":
        return h["alpha0"] * (1.0 - rng_u(t))
    dual = {"l1": np.abs(G).sum(), "fro": np.linalg.norm(G),
            "nuc": np.linalg.svd(G, compute_uv=False).sum()}[kind[0]]
    if dual <= 0:
        return 0.0
    gap = max(f - h.get("f_lower", 0.0), 0.0)
    return min(gap / dual if kind[1] else gap / dual ** 2, h.get("alpha_max", np.inf))


POLYAK_KIND = {"muon": ("nuc", True), "muon-ns": ("nuc", True), "signed-momentum": ("l1", True),
               "sign-descent": ("l1", True), "subgradient": ("fro", False), "ef": ("nuc", False),
               "ef-muon": ("nuc", False), "muonmax": ("nuc", False), "momo": ("fro", False)}


def reference(alg, W0, c, tie, steps, h, rng_u=None):
    """Iterates W_0..W_T of ``alg`` (a registered name) with hyperparameters ``h`` (dict)."""
    W = np.array(W0, dtype=float)
    b = h.get("beta", 0.0)
    M = np.zeros_like(W)
    E = np.zeros_like(W)
    fbar = gbar = 0.0
    out = [W.copy()]
    for t in range(steps):
        f, G = value_subgrad(W, c, tie)
        M = b * M + (1 - b) * G if alg in ("muon", "muon-ns", "signed-momentum", "ef-muon", "muonmax", "momo") else G
        a = _alpha(h, t, f, G, POLYAK_KIND[alg], rng_u)
        if alg == "muon":
            W = W - a * polar(M)
        elif alg == "muon-ns":
            W = W - a * newton_schulz(M, steps=h.get("ns_steps", 5))
        elif alg in ("signed-momentum", "sign-descent"):
            W = W - a * np.sign(M)
        elif alg == "subgradient":
            W = W - a * G
        elif alg in ("ef", "ef-muon"):
            P = a * M + E
            s = np.linalg.svd(P, compute_uv=False)
            r = int(np.sum(s > 1e-10 * s[0])) if s[0] > 0 else 0
            Delta = (s.sum() / r) * polar(P) if r else np.zeros_like(P)
            W = W - Delta
            E = P - Delta
        elif alg == "muonmax":
            W = W - a * np.linalg.svd(M, compute_uv=False).sum() * polar(M)
        elif alg == "momo":
            fbar = b * fbar + (1 - b) * f
            gbar = b * gbar + (1 - b) * np.sum(G * W)
            dd = np.sum(M * M)
            tau = min(a, max(fbar - h.get("f_lower", 0.0) + np.sum(M * W) - gbar, 0.0) / dd) if dd > 0 else 0.0
            W = W - tau * M
        out.append(W.copy())
    return np.array(out)
