"""``theorybench smoothness EXPR --L1 L1 [--json]``: the tight L0 of a univariate objective for a given
L1 and how it was established (see :mod:`theorybench.smoothness`). Registered through the
``theorybench.commands`` entry-point group."""
import json
import math

from .errors import TheoryBenchError


def cmd_smoothness(args):
    from . import smoothness
    try:
        if args.curve:
            L1s = [float(v) for v in args.curve.split(",")]
            rows = smoothness.tight_curve(args.expr, L1s, args.method, args.X, args.cells)
            if args.json:
                print(json.dumps({"expr": args.expr, "curve": [{"L1": a, "L0": b} for a, b in rows]}, indent=1))
            else:
                for a, b in rows:
                    print(f"L1 = {a:g}: L0 = {b:.12g}")
            return 0
        res = smoothness.tight_L0(args.expr, args.L1, args.method, args.X, args.cells)
    except (ValueError, TypeError, SyntaxError) as e:
        raise TheoryBenchError(f"smoothness: {e}") from None
    except Exception as e:  # sympy's parse errors
        if type(e).__name__ in ("SympifyError", "TokenError"):
            raise TheoryBenchError(f"smoothness: cannot parse expression {args.expr!r}") from None
        raise
    if args.json:
        d = res.to_dict()
        d["L0"] = None if math.isinf(res.L0) else res.L0
        d["upper"] = None if math.isinf(res.upper) else res.upper
        print(json.dumps(d, indent=1))
        return 0
    if math.isinf(res.L0):
        print(f"f = {res.expr} is not (L0, L1)-smooth for L1 = {res.L1:g} (L0 = inf) [{res.method}]")
    elif res.exact is not None:
        print(f"tight L0 = {res.exact} = {res.L0:.12g} for L1 = {res.L1:g} [{res.method}"
              + (f"; attained at x = {res.argmax:.6g}]" if res.argmax is not None and math.isfinite(res.argmax)
                 else "]"))
    else:
        print(f"tight L0 in [{res.lower:.10g}, {res.upper:.10g}] for L1 = {res.L1:g} on {res.domain} "
              f"[{res.method}: grid lower bound, interval-arithmetic upper bound]")
    return 0


def add(subparsers):
    p = subparsers.add_parser("smoothness", help="tight (L0, L1) constants of a univariate objective")
    p.add_argument("expr", help='sympy expression in one variable, e.g. "x**4" or "Abs(x)**3/3"')
    p.add_argument("--L1", type=float, default=1.0, help="L1 (default 1)")
    p.add_argument("--curve", metavar="L1,L1,...", help="print the tight L0 for each of these L1 instead")
    p.add_argument("--method", choices=("auto", "closed", "grid"), default="auto")
    p.add_argument("--X", type=float, default=10.0, help="half-width of the certified grid (default 10)")
    p.add_argument("--cells", type=int, default=20000, help="cells of the certified grid (default 20000)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_smoothness)
