"""``theorybench search PROBLEM ALGORITHM --bound NAME=LOW:HIGH ... [-a k=v] --steps T [--json]``: the
worst instance found by differential evolution (see :mod:`theorybench.search`). Registered through the
``theorybench.commands`` entry-point group."""
import json

from .errors import TheoryBenchError


def _pairs(items, what):
    out = {}
    for it in items or []:
        if "=" not in it:
            raise TheoryBenchError(f"{what} must look like NAME=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def cmd_search(args):
    from .search import worst_instance
    bounds = {}
    for k, v in _pairs(args.bound, "--bound").items():
        try:
            lo, hi = (float(s) for s in v.split(":"))
        except ValueError:
            raise TheoryBenchError(f"--bound {k} must be LOW:HIGH (two numbers), got {v!r}") from None
        bounds[k] = (lo, hi)
    if not bounds:
        raise TheoryBenchError("give at least one --bound NAME=LOW:HIGH")
    import math
    # fixed values stay text: the problem's declared parameters parse and check them (choices included)
    res = worst_instance(args.problem, args.algorithm, bounds, args.steps, hyper=_pairs(args.a, "-a"),
                         fixed=_pairs(args.p, "-p"), maxiter=args.maxiter,
                         popsize=args.popsize, seed=args.seed, log_scale=tuple(args.log or ()),
                         max_work=math.inf if args.allow_long else None)
    if args.json:
        print(json.dumps(res, indent=1, default=float))
        return 0
    what = "diverged (overflow)" if res["diverged"] else f"log10(f(x_T) - f*) = {res['score']:.4g}"
    print(f"worst instance of {args.problem} for {res['algorithm']} after {args.steps} steps: "
          + ", ".join(f"{k} = {v:.6g}" for k, v in res["params"].items()) + f"; {what} "
          f"({res['evaluations']} instances evaluated)")
    return 0


def add(subparsers):
    p = subparsers.add_parser("search", help="counterexample search: the worst instance at a fixed budget")
    p.add_argument("problem")
    p.add_argument("algorithm")
    p.add_argument("--bound", action="append", metavar="NAME=LOW:HIGH", help="a searched problem parameter")
    p.add_argument("-p", action="append", metavar="NAME=VALUE", help="a fixed problem parameter")
    p.add_argument("-a", action="append", metavar="NAME=VALUE", help="a hyperparameter")
    p.add_argument("--log", action="append", metavar="NAME", help="search NAME on a log scale")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--maxiter", type=int, default=30)
    p.add_argument("--popsize", type=int, default=10)
    p.add_argument("--seed", type=int, default=0, help="seed of the search and of the runs (0 .. 2**32 - 1)")
    p.add_argument("--allow-long", action="store_true",
                   help="run a search above the work limit (1e10 client steps) instead of refusing it")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_search)
