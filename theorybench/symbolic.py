"""Symbolic helpers (sympy is imported on first use only: it costs ~0.25 s)."""


def sp():
    import sympy
    return sympy


def is_identity(lhs, rhs, assumptions=None):
    """True when ``lhs - rhs`` simplifies to exactly 0 (a proof, not a numerical check)."""
    s = sp()
    return s.simplify(s.expand(lhs - rhs)) == 0


def gradient(expr, variables):
    """The gradient of a sympy expression as a list of expressions."""
    return [sp().diff(expr, v) for v in variables]


def lambdify(expr, variables):
    """A NumPy function of ``variables`` evaluating ``expr``."""
    return sp().lambdify(variables, expr, "numpy")


def poly_from_coefficients(coeffs, x):
    """``sum_k coeffs[k] x^k`` as a sympy expression (exact for floats that are dyadic rationals)."""
    s = sp()
    return sum(s.nsimplify(c, rational=True) * x**k for k, c in enumerate(coeffs))


# --- the safe expression parser ------------------------------------------------------------------------
# A user's expression is parsed, never evaluated: ``ast.parse(mode="eval")`` gives the syntax tree, which is
# walked node by node, and only the whitelisted node kinds below are turned into sympy objects (built here,
# not by sympify/parse_expr, which run ``eval``). The size limits keep sympy from being handed an input that
# would hang it (x**10**10**10, a 10^6-digit constant, a megabyte of text).

MAX_LENGTH = 300          # characters
MAX_NODES = 150           # syntax-tree nodes
MAX_EXPONENT = 64         # |p| for a constant exponent p
MAX_CONSTANT = 1e300      # numeric constants c must satisfy c = 0 or 1/MAX_CONSTANT <= |c| <= MAX_CONSTANT
FUNCTIONS = {"exp": 1, "log": 1, "sqrt": 1, "sin": 1, "cos": 1, "tan": 1, "sinh": 1, "cosh": 1, "tanh": 1,
             "Abs": 1, "Max": (2, 8), "Min": (2, 8)}   # name: number of arguments (or its range)
CONSTANTS = ("pi", "E")


def allowed_syntax(variables=("x",)):
    """One line saying what :func:`parse_expression` accepts (for error messages and help texts)."""
    return (f"allowed: the variable{'s' if len(variables) > 1 else ''} {', '.join(variables)}, numbers, "
            f"+ - * / ** and parentheses, the functions {', '.join(FUNCTIONS)}, the constants "
            f"{', '.join(CONSTANTS)}; at most {MAX_LENGTH} characters, constant exponents with "
            f"|p| <= {MAX_EXPONENT}, constants of magnitude <= {MAX_CONSTANT:g}")


def parse_expression(text, variables=("x",)):
    """The sympy expression written in ``text``, built from its Python syntax tree (never ``eval``-ed).

    Accepted (see :func:`allowed_syntax`): the given variable names (real symbols), int and decimal
    literals (read exactly: ``0.1`` is 1/10), ``+ - * / **``, unary ``+ -``, parentheses, calls of the
    whitelisted :data:`FUNCTIONS` with positional arguments, and the constants ``pi`` and ``E``. Anything
    else (attribute access, subscripts, lambdas, comprehensions, strings, other names, keyword arguments,
    ``//``, comparisons ...), a text over :data:`MAX_LENGTH` characters or :data:`MAX_NODES` syntax nodes, a
    constant exponent with ``|p| > MAX_EXPONENT``, a constant outside ``[1/MAX_CONSTANT, MAX_CONSTANT]`` in
    magnitude (other than 0), a division by zero or a complex constant raises
    :class:`~theorybench.errors.TheoryBenchError` naming the offending part and what is allowed."""
    import ast
    from .errors import TheoryBenchError

    def fail(why):
        raise TheoryBenchError(f"cannot use expression {_clip(text)}: {why} ({allowed_syntax(variables)})")

    if not isinstance(text, str):
        raise TheoryBenchError(f"the expression must be a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        fail(f"it has {len(text)} characters, more than {MAX_LENGTH}")
    if not text.strip():
        fail("it is empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        fail(f"invalid syntax{f' at column {e.offset}' if e.offset else ''}")
    except (ValueError, MemoryError, RecursionError) as e:  # e.g. a null byte; nesting too deep
        fail(f"it cannot be read ({type(e).__name__})")
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        fail(f"it has {nodes} syntax nodes, more than {MAX_NODES}")
    src = text.strip()
    s = sp()
    symbols = {v: s.Symbol(v, real=True) for v in variables}
    consts = {"pi": s.pi, "E": s.E}
    ops = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}

    def seg(node):
        return _clip(ast.get_source_segment(src, node) or type(node).__name__)

    def number(node):
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            fail(f"{seg(node)} is not allowed (a literal of type {type(v).__name__}; only int and decimal numbers)")
        if isinstance(v, int):
            return s.Integer(v)
        lit = (ast.get_source_segment(src, node) or repr(v)).replace("_", "")
        try:
            import decimal
            d = decimal.Decimal(lit)
        except Exception:
            fail(f"cannot read the number {seg(node)}")
        if not d.is_finite() or (d != 0 and not (-330 <= d.adjusted() <= 330)):
            fail(f"the number {seg(node)} is out of range")
        num, den = d.as_integer_ratio()
        return s.Rational(num, den)

    def check_constant(value, node):
        """value (no free symbols) must be a finite real number within the magnitude bounds."""
        if value.has(s.zoo, s.nan, s.oo, -s.oo):
            fail(f"{seg(node)} is not a finite number (division by zero?)")
        v = value.evalf(20)
        if not v.is_real:
            fail(f"{seg(node)} is not a real number")
        fv = abs(float(v))
        if not v.is_finite or (v != 0 and not (1 / MAX_CONSTANT <= fv <= MAX_CONSTANT)):
            fail(f"the constant {seg(node)} is outside the range 1e-300 <= |c| <= {MAX_CONSTANT:g}")
        return value

    def log10_abs(c):
        """An estimate of log10 |c| for a checked constant c (|log10 c| <= 300)."""
        import math
        v = abs(float(c.evalf(20)))
        return math.log10(v) if v > 0 else -math.inf

    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    binops = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitXor: "^", ast.BitAnd: "&",
              ast.BitOr: "|", ast.LShift: "<<", ast.RShift: ">>"}
    kinds = {ast.Attribute: "attribute access", ast.Subscript: "subscript", ast.Lambda: "lambda",
             ast.Compare: "comparison", ast.BoolOp: "boolean operator", ast.IfExp: "conditional",
             ast.NamedExpr: "assignment", ast.JoinedStr: "string", ast.Tuple: "tuple", ast.List: "list",
             ast.Dict: "dict", ast.Set: "set", ast.Starred: "starred argument", ast.Await: "await",
             ast.Yield: "yield", ast.ListComp: "comprehension", ast.GeneratorExp: "comprehension",
             ast.SetComp: "comprehension", ast.DictComp: "comprehension"}

    def problem(node):
        """What is wrong with this node by itself (its children are looked at on their own), or None."""
        if not isinstance(node, ast.expr):
            return None  # operators, keywords, lambda arguments ...: judged with the expression holding them
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                return f"{seg(node)} is not allowed (a literal of type {type(v).__name__}; only numbers)"
            return None
        if isinstance(node, ast.Name):
            if id(node) in calls:
                return None if node.id in FUNCTIONS else f"unknown function {node.id!r}"
            if node.id in symbols or node.id in consts:
                return None
            if node.id in FUNCTIONS:
                return f"the function {node.id!r} must be called, e.g. {node.id}(x)"
            return (f"unknown name {node.id!r}: the expression must be a function of one variable, "
                    f"{variables[0]}" if len(variables) == 1 else f"unknown name {node.id!r}")
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, (ast.USub, ast.UAdd)):
                return None
            return f"the operator {'not' if isinstance(node.op, ast.Not) else '~'!r} in {seg(node)} is not allowed"
        if isinstance(node, ast.BinOp):
            if type(node.op) in ops:
                return None
            return f"the operator {binops.get(type(node.op), type(node.op).__name__)!r} in {seg(node)} is not allowed"
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                return f"the call {seg(node)} is not allowed (only calls of the named functions)"
            if node.keywords:
                return f"keyword arguments in {seg(node)} are not allowed"
            want = FUNCTIONS.get(node.func.id)
            if want is None or any(isinstance(a, ast.Starred) for a in node.args):
                return None  # reported at the name / the starred argument
            lo, hi = (want, want) if isinstance(want, int) else want
            if not lo <= len(node.args) <= hi:
                return (f"{node.func.id} takes {lo if lo == hi else f'{lo} to {hi}'} "
                        f"argument{'s' if hi > 1 else ''}, got {len(node.args)} in {seg(node)}")
            return None
        return f"{seg(node)} is not allowed ({kinds.get(type(node), type(node).__name__)})"

    # report the first offending part in reading order (attribute access, lambdas, comprehensions,
    # subscripts and names starting with _ first), the innermost one where several start together
    offences = []
    for node in ast.walk(tree):
        msg = problem(node)
        if msg is not None:
            n = len(ast.get_source_segment(src, node) or "")
            risky = isinstance(node, (ast.Attribute, ast.Lambda, ast.Subscript, ast.ListComp, ast.GeneratorExp,
                                      ast.SetComp, ast.DictComp, ast.NamedExpr)) or (
                isinstance(node, ast.Name) and node.id.startswith("_"))
            offences.append((not risky, node.lineno, node.col_offset, n, msg))
    if offences:
        fail(min(offences)[-1])

    def build(node):
        """The sympy value of a node of the checked tree, with the value checks (sizes, finiteness)."""
        if isinstance(node, ast.Expression):
            return build(node.body)
        if isinstance(node, ast.Constant):
            out = number(node)
        elif isinstance(node, ast.Name):
            return symbols[node.id] if node.id in symbols else consts[node.id]
        elif isinstance(node, ast.UnaryOp):
            out = -build(node.operand) if isinstance(node.op, ast.USub) else build(node.operand)
        elif isinstance(node, ast.BinOp):
            a, b = build(node.left), build(node.right)
            if isinstance(node.op, ast.Pow):
                if not b.free_symbols:
                    if abs(float(b.evalf(20))) > MAX_EXPONENT:
                        fail(f"the exponent in {seg(node)} is larger than {MAX_EXPONENT} in magnitude")
                    if not a.free_symbols and a != 0 and abs(float(b.evalf(20)) * log10_abs(a)) > 300:
                        fail(f"the constant {seg(node)} is outside the range 1e-300 <= |c| <= {MAX_CONSTANT:g}")
                out = a ** b
            else:
                out = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
                       ast.Div: lambda: a / b}[type(node.op)]()
        else:  # ast.Call of a whitelisted function with the right number of plain arguments
            out = getattr(s, node.func.id)(*[build(a) for a in node.args])
        if not out.free_symbols:
            check_constant(out, node)
        elif out.has(s.zoo, s.nan, s.oo, -s.oo, s.I):
            fail(f"{seg(node)} is not a finite real expression (division by zero?)")
        return out

    try:
        out = build(tree)
    except TheoryBenchError:
        raise
    except (ArithmeticError, ValueError, TypeError, RecursionError) as e:  # sympy failing on a legal input
        fail(f"sympy cannot build it ({type(e).__name__}: {_clip(e, 60)})")
    for p in out.atoms(s.Pow):  # sympy merges (x**64)**64 into x**4096
        if p.exp.is_number and abs(float(p.exp.evalf(20))) > MAX_EXPONENT:
            fail(f"the power {_clip(p)} has an exponent larger than {MAX_EXPONENT} in magnitude")
    return out


def _clip(text, n=80):
    text = str(text)
    return repr(text if len(text) <= n else text[:n] + "...")
