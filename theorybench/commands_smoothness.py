"""``theorybench smoothness EXPR --L1 L1 [--json]``: the tight L0 of a univariate objective for a given
L1 and how it was established (see :mod:`theorybench.smoothness`). Registered through the
``theorybench.commands`` entry-point group. EXPR is parsed by a whitelist parser, never evaluated; every
option is checked here and a bad one is reported (exit code 2, no traceback) with the allowed range."""
import json
import math

from .errors import TheoryBenchError


def _finite_or_none(v):
    """JSON has no inf or nan: null instead."""
    return None if isinstance(v, float) and not math.isfinite(v) else v


def _parse_curve(text):
    from . import smoothness
    parts = text.split(",")
    if len(parts) > smoothness.MAX_CURVE:
        raise TheoryBenchError(f"--curve takes at most {smoothness.MAX_CURVE} values of L1, got {len(parts)}")
    vals = []
    for p in parts:
        try:
            v = float(p)
        except ValueError:
            raise TheoryBenchError(f"--curve expects comma-separated numbers L1 >= 0 (e.g. 1,2,4), got "
                                   f"{p.strip()!r} in {text!r}") from None
        vals.append(smoothness.check_L1(v, "each value of --curve"))
    return vals


def cmd_smoothness(args):
    from . import smoothness
    # every option is checked before any work, naming the flag and its allowed range
    method = smoothness.check_method(args.method, "--method")
    X = smoothness.check_X(args.X, "--X")
    cells = smoothness.check_cells(args.cells, "--cells")
    time_limit = smoothness.check_time_limit(args.time_limit, "--time-limit")
    if args.curve is not None:
        L1s = _parse_curve(args.curve)
        rows = smoothness.tight_curve(args.expr, L1s, method, X, cells, time_limit)
        if args.json:
            print(json.dumps({"expr": args.expr, "curve": [{"L1": a, "L0": _finite_or_none(b)} for a, b in rows]},
                             indent=1))
        else:
            for a, b in rows:
                print(f"L1 = {a:g}: L0 = {b:.12g}")
        return 0
    L1 = smoothness.check_L1(args.L1, "--L1")
    res = smoothness.tight_L0(args.expr, L1, method, X, cells, time_limit)
    if args.json:
        d = res.to_dict()
        for k in ("L0", "lower", "upper"):
            d[k] = _finite_or_none(d[k])  # JSON has no inf
        print(json.dumps(d, indent=1))
        return 0
    grid = res.method == "certified grid"
    if math.isinf(res.L0) and not grid:
        print(f"f = {res.expr} is not (L0, L1)-smooth for L1 = {res.L1:g} (L0 = inf) [{res.method}]")
    elif res.exact is not None:
        print(f"tight L0 = {res.exact} = {res.L0:.12g} for L1 = {res.L1:g} [{res.method}"
              + (f"; attained at x = {res.argmax:.6g}]" if res.argmax is not None and math.isfinite(res.argmax)
                 else "]"))
    elif math.isinf(res.upper):
        print(f"tight L0 >= {res.lower:.10g} for L1 = {res.L1:g} on {res.domain}, no finite upper bound "
              f"[{res.method}: some cell could not be bounded: f'' unbounded there, or the cells are too coarse; "
              f"try more --cells or a smaller --X]")
    else:
        print(f"tight L0 in [{res.lower:.10g}, {res.upper:.10g}] for L1 = {res.L1:g} on {res.domain} "
              f"[{res.method}: grid lower bound, interval-arithmetic upper bound]")
    return 0


def add(subparsers):
    from .smoothness import DEFAULT_TIME_LIMIT, MAX_CELLS, MAX_CURVE, MAX_TIME_LIMIT, MAX_X
    p = subparsers.add_parser("smoothness", help="tight (L0, L1) constants of a univariate objective")
    p.add_argument("expr", help='a C^1 function of x, e.g. "x**4" or "Abs(x)**3/3": numbers, + - * / **, '
                                'exp log sqrt sin cos tan sinh cosh tanh Abs Max Min, pi, E (parsed, never '
                                'evaluated)')
    p.add_argument("--L1", type=float, default=1.0, help="L1 >= 0 (default 1)")
    p.add_argument("--curve", metavar="L1,L1,...",
                   help=f"print the tight L0 for each of these L1 (at most {MAX_CURVE}) instead")
    p.add_argument("--method", choices=("auto", "closed", "grid"), default="auto")
    p.add_argument("--X", type=float, default=10.0,
                   help=f"half-width of the certified grid, 0 < X <= {MAX_X:g} (default 10)")
    p.add_argument("--cells", type=int, default=20000,
                   help=f"cells of the certified grid, 1 to {MAX_CELLS} (default 20000)")
    p.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT, metavar="S",
                   help=f"seconds for each stage (checks, closed form, grid), at most {MAX_TIME_LIMIT:g} "
                        f"(default {DEFAULT_TIME_LIMIT:g}); a closed form not found in time falls back to the grid")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_smoothness)
