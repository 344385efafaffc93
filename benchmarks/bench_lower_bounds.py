"""The lower-bound claims' own batches (LB-A, LB-B, LB-C; Crawshaw, Bao, Liu, NeurIPS 2023) on their composed
kernels (``theorybench.compose``, families ``ramp1``, ``cosh1``, ``huber1`` of ``problems/lower_bounds.py``)
against the generic ``federated`` kernel (runtime dispatch on the family and algorithm codes, reached by
removing the method from ``declare.ROUTED``), one Numba thread, same process, interleaved repeats.

Batches (``paper_checks/episode_pp_neurips23.py``, its helpers called as the claims call them):

    LB-A   clipped minibatch SGD, regime A, S = 1 of N = 3, I = 1, R = 400, D/gamma in {1, 2, 3, 4}
           (quick 4000 runs each, full 20000)
    LB-B   clipped minibatch SGD (never clipped), regime B, the (eta, M, L1) grid (quick 27, full 125), R = 200
           (full 5000) or until the escaping orbit overflows
    LB-C   clipped minibatch SGD and EPISODE++ on regime C, rounds to eps over the (M, eps) grid (quick 12 + 4
           configurations, full 30 + 6), horizon 2 max(bound) + 1000 rounds

A "step" is one stochastic gradient draw of one client of one trajectory (configurations x rounds run x
sampled clients x I; a run that overflows stops there). Every batch's results are checked bit-identical
between the two kernels. Timings: medians of ``--repeats`` round-robin repeats (the first call of each kernel,
its compilation or cache load, is not timed).

    python benchmarks/bench_lower_bounds.py [--full] [--repeats K]

Writes ``results/lower_bounds[_full].json``.
"""
import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from _common import machine_info  # noqa: E402  (scripts run from benchmarks/)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def batches(size):
    """``{name: (method, problems, settings, seeds, rounds, record, targets)}`` for the three claims (LB-A: one
    problem, one settings dict, a seed count and one target: a sweep, as the claim runs it)."""
    import theorybench as tb
    from paper_checks import episode_pp_neurips23 as pp
    out = {}
    cm = tb.get_algorithm("clipped-minibatch")
    eta, gamma = pp.LB_A["eta"], pp.LB_A["gamma"]
    runs = 4000 if size == "quick" else 20000
    for k in (1, 2, 3, 4):  # the claim's sweeps (pp.lb_a_fraction): one per D/gamma, a seed axis of `runs`
        p = tb.make_problem("lower-bound-a", eps=pp.LB_A["eps"], L0=pp.LB_A["L0"], c=2 * gamma / eta, D=k * gamma)
        out[f"LB-A D/gamma={k}"] = ("clipped-minibatch", p, dict(eta=eta, gamma=gamma, local_steps=1, clients_per_round=1),
                                    runs, 400, [400], pp.LB_A["eps"])
    etas, Ms, L1s = pp.lb_b_grid(size)
    probs, sets = [], []
    for e in etas:
        for M in Ms:
            for L1 in L1s:
                probs.append(tb.make_problem("lower-bound-b", eta=e, M=M, L1=L1, p=1e-9))
                sets.append(cm.resolve(dict(eta=e, gamma=2 * e * M, local_steps=1)))
    out["LB-B"] = ("clipped-minibatch", probs, sets, [0] * len(probs), 200 if size == "quick" else 5000, None, None)
    if size == "quick":
        Ms, epss, eps_ref = [10.0, 20.0, 40.0, 80.0], [0.2, 0.1, 0.05], 0.05
    else:
        Ms, epss, eps_ref = [10.0, 20.0, 40.0, 80.0, 160.0, 320.0], [0.2, 0.1, 0.05, 0.025, 0.0125], 0.025
    for name, method, rule, es in (("LB-C clipped-minibatch", "clipped-minibatch", pp._clipped_minibatch_rule, epss),
                                   ("LB-C episode++", "episode++", pp._episode_pp_rule, [eps_ref])):
        alg = tb.get_algorithm(method)
        probs, sets, targets, bounds = [], [], [], []
        for M in Ms:
            for eps in es:
                e, g = rule(M)
                probs.append(tb.make_problem("lower-bound-c", eps=eps, L0=pp.LB_C["L0"], Delta=pp.LB_C["Delta"]))
                sets.append(alg.resolve(dict(eta=e, gamma=g, local_steps=1)))
                targets.append(eps)
                bounds.append(pp.regime_c_rounds_lower_bound(eps, pp.LB_C["L0"], pp.LB_C["Delta"], e))
        horizon = int(2 * max(bounds)) + 1000
        out[name] = (method, probs, sets, [0] * len(probs), horizon, [horizon], targets)
    return out


def run(batch, generic):
    """``(x, loss, grad_norm, stats)`` of the batch: a sweep (LB-A, as the claim runs it) or ``run_batch``."""
    import theorybench as tb
    from theorybench import declare
    method, probs, sets, seeds, rounds, record, targets = batch
    saved = declare.ROUTED.pop(method) if generic else None
    try:
        if isinstance(probs, list):
            res = tb.run_batch(method, probs, sets, seeds, rounds, record=record, targets=targets)
            return res[1], res[2], res[3], {k: res[4][k] for k in res[4].names}
        sw = tb.sweep(probs, method, seeds=seeds, rounds=rounds, record=record, target=targets, **sets)
        return sw.x, sw.loss, sw.grad_norm, {k: np.asarray(v).ravel() for k, v in sw.stats.items()}
    finally:
        if saved is not None:
            declare.ROUTED[method] = saved


def steps_of(batch, res):
    """Draws actually taken: per configuration, rounds run x sampled clients x I."""
    _, probs, sets, _, rounds, _, _ = batch
    div = res[3]["diverged_round"]
    rr = np.where(div >= 0, div, rounds)
    if not isinstance(probs, list):
        probs, sets = [probs] * rr.size, [sets] * rr.size
    per = np.array([(st.get("clients_per_round") or p.n_clients) * st.get("local_steps", 1)
                    for p, st in zip(probs, sets)], dtype=float)
    return float((rr * per).sum())


def same(a, b):
    ok = all(np.array_equal(u, v, equal_nan=True) for u, v in zip(a[:3], b[:3]))
    return ok and set(a[3]) == set(b[3]) and all(np.array_equal(a[3][k], b[3][k], equal_nan=True) for k in a[3])


def n_configs(batch):
    return len(batch[1]) if isinstance(batch[1], list) else batch[3]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="the claims' full sizes (default: quick)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    import numba
    from theorybench.atomic_io import atomic_write_text
    numba.set_num_threads(1)
    size = "full" if args.full else "quick"
    rows = {}
    for name, batch in batches(size).items():
        comp, gen = run(batch, False), run(batch, True)  # warm-up: compile or load both kernels
        identical = same(comp, gen)
        tc, tg = [], []
        for _ in range(args.repeats):
            t = time.perf_counter()
            run(batch, True)
            tg.append(time.perf_counter() - t)
            t = time.perf_counter()
            run(batch, False)
            tc.append(time.perf_counter() - t)
        n = steps_of(batch, comp)
        mc, mg = statistics.median(tc), statistics.median(tg)
        rows[name] = {"method": batch[0], "configurations": n_configs(batch), "rounds": batch[4], "steps": n,
                      "generic_s": mg, "composed_s": mc, "generic_ns_per_step": 1e9 * mg / n,
                      "composed_ns_per_step": 1e9 * mc / n, "speedup": mg / mc, "bit_identical": identical,
                      "generic_all_s": tg, "composed_all_s": tc}
        print(f"{name:24s} {n_configs(batch):6d} configs  {n:.3g} steps  generic {mg:.3f} s ({1e9 * mg / n:.2f} ns/step)"
              f"  composed {mc:.3f} s ({1e9 * mc / n:.2f} ns/step)  x{mg / mc:.2f}  identical={identical}")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"lower_bounds{'_full' if args.full else ''}.json"
    atomic_write_text(path, json.dumps({"machine": machine_info(), "size": size, "threads": 1, "batches": rows},
                                       indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
