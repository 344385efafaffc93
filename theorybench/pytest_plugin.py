"""pytest plugin (entry point ``pytest11``, name ``theorybench``): a researcher's paper claims as tests.

What it adds to every pytest run in an environment where theorybench is installed:

- options ``--theorybench-size quick|full`` (ini ``theorybench_size``, default ``quick``),
  ``--theorybench-seed N`` (ini ``theorybench_seed``, default 0) and ``--theorybench-papers A,B``;
- markers ``theorybench_full`` (the test runs only at ``--theorybench-size full``, skipped at quick) and
  ``theorybench_slow`` (a long check; the claims carry it at full size: ``-m "not theorybench_slow"``);
- fixtures ``theorybench_size`` and ``theorybench_engine`` (session-scoped: ``run``/``sweep`` bound to the
  session's seed, kernels compiled once and kept warm for the session; see :class:`Engine`);
- claims as test items, **opt-in**: only the papers named in the ini option ``theorybench_papers`` (or
  ``--theorybench-papers``) are collected, so a project's own test suite never runs its claims twice.

A user's project gets its claims tested by plain ``pytest`` with one ini line::

    # pyproject.toml                               # or pytest.ini: [pytest]
    [tool.pytest.ini_options]
    theorybench_papers = ["mypapers"]              # theorybench_papers = mypapers

Each entry is a module that registers papers (``PAPER = register_paper(...)`` at module level, claims
declared with ``@PAPER.claim(...)``), imported by the plugin; or a registered paper's key or alias, or a
claim id (papers installed through the ``theorybench.papers`` entry-point group are found that way); or
``all``: every installed paper.
Every claim gives two items, ``ID`` (its verdict must be the declared one: a claim that declares FAIL is
an xfail, strict) and ``ID[control]`` (its negative control must report FAIL). Claims named in the ini
file are collected when pytest runs without path arguments (``pytest``, ``pytest -k EP-3``); with
explicit paths (``pytest tests/test_x.py``) only those run, unless ``--theorybench-papers`` is given.
"""
import importlib
import importlib.util
import inspect
import sys

import pytest

SIZES = ("quick", "full")


def pytest_addoption(parser):
    group = parser.getgroup("theorybench", "theorybench: paper claims and rate assertions")
    group.addoption("--theorybench-size", dest="theorybench_size", choices=SIZES, default=None,
                    help="size of the claims and of Engine.pick: quick (CI, default) or full (the papers' sizes)")
    group.addoption("--theorybench-seed", dest="theorybench_seed", type=int, default=None,
                    help="seed of the theorybench_engine fixture (default 0)")
    group.addoption("--theorybench-papers", dest="theorybench_papers", default=None,
                    help="comma-separated modules, paper keys or claim ids whose claims are collected as tests "
                         "(overrides the ini option theorybench_papers)")
    parser.addini("theorybench_papers", type="args", default=[],
                  help="modules (that register papers), paper keys or claim ids whose claims are collected")
    parser.addini("theorybench_size", default="quick", help="quick or full (see --theorybench-size)")
    parser.addini("theorybench_seed", default="0", help="seed of the theorybench_engine fixture")
    parser.addini("theorybench_warmup", type="linelist", default=[],
                  help="'problem algorithm' lines run once (1 round) when theorybench_engine starts")


def _size(config):
    size = config.getoption("theorybench_size") or config.getini("theorybench_size")
    if size not in SIZES:
        raise pytest.UsageError(f"theorybench_size must be quick or full, got {size!r}")
    return size


def _seed(config):
    seed = config.getoption("theorybench_seed")
    if seed is None:
        text = config.getini("theorybench_seed")
        try:
            seed = int(text)
        except ValueError:
            raise pytest.UsageError(f"theorybench_seed must be a non-negative integer, got {text!r}") from None
    if seed < 0:
        raise pytest.UsageError(f"theorybench seed must be a non-negative integer, got {seed}")
    return seed


def pytest_configure(config):
    config.addinivalue_line("markers", "theorybench_full: runs only at --theorybench-size full (skipped at quick)")
    config.addinivalue_line("markers", "theorybench_slow: a long theorybench check (claims at full size carry it)")
    _size(config)


def _tokens(config):
    """The papers asked for, and whether the command line asked (else the ini file did)."""
    cli = config.getoption("theorybench_papers")
    if cli is not None:
        return [t.strip() for t in cli.split(",") if t.strip()], True
    return list(config.getini("theorybench_papers")), False


def pytest_report_header(config):
    tokens, _ = _tokens(config)
    if tokens or config.getoption("theorybench_size"):
        return f"theorybench: size {_size(config)}, seed {_seed(config)}, papers: {', '.join(tokens) or '-'}"
    return None


# ------------------------------------------------------------------ which claims

def _module_papers(modname):
    """The papers a module (and its imported submodules) registers: ``Paper`` objects held at module level,
    and registered papers with a claim whose check is defined there."""
    from theorybench import claims
    importlib.import_module(modname)
    mods = [m for n, m in list(sys.modules.items()) if m is not None and (n == modname or n.startswith(modname + "."))]
    found = {}
    for m in mods:
        for v in list(vars(m).values()):
            if isinstance(v, claims.Paper):
                found[v.key] = v
    for p in list(claims._PAPERS.values()):
        if any(getattr(c.check, "__module__", "") in {m.__name__ for m in mods} for c in p.claims):
            found.setdefault(p.key, p)
    return list(found.values())


def _is_module(name):
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def resolve_claims(tokens):
    """Claims named by ``tokens``: modules that register papers, paper keys or aliases, claim ids, ``all``."""
    from theorybench import claims
    from theorybench.errors import TheoryBenchError
    out = []
    for tok in tokens:
        if tok == "all":
            out.extend(claims.all_claims())
            continue
        if _is_module(tok):
            try:
                ps = _module_papers(tok)
            except Exception as exc:
                raise pytest.UsageError(f"theorybench_papers: importing {tok!r} failed: {exc!r}") from exc
            if not ps:
                raise pytest.UsageError(f"theorybench_papers: module {tok!r} registers no paper (expected "
                                        "PAPER = theorybench.claims.register_paper(...) at module level)")
            out.extend(c for p in ps for c in p.claims)
            continue
        try:
            out.extend(claims.select([tok]))
        except TheoryBenchError as exc:
            raise pytest.UsageError(f"theorybench_papers: {tok!r} is neither an importable module nor a "
                                    f"registered paper or claim: {exc}") from None
    return claims.unique_claims(out)


# ------------------------------------------------------------------ collection

class PaperCollector(pytest.Collector):
    """The claims of one paper (created by the plugin, not from a file)."""

    def collect(self):
        return []


class ClaimItem(pytest.Item):
    """One claim at the session's size: ``ID`` (verdict as declared) or ``ID[control]`` (must FAIL)."""

    def __init__(self, *, claim, control, size, **kw):
        super().__init__(**kw)
        self.claim, self.control, self.size = claim, control, size
        self.extra_keyword_matches.update({claim.paper, claim.id})

    def runtest(self):
        from theorybench.claims import FAIL, PASS
        from theorybench.testing import claim_message
        res = self.claim.run(self.size, control=self.control)
        # the declared verdict; a claim that declares FAIL is marked xfail (strict), so its item asks PASS
        wanted = FAIL if self.control else PASS
        if res.evidence.verdict != wanted:
            raise AssertionError(claim_message(res, wanted))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, AssertionError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        fn = inspect.unwrap(self.claim.check)
        try:
            path, line = inspect.getsourcefile(fn), inspect.getsourcelines(fn)[1]
        except (OSError, TypeError):
            path, line = self.path, None
        return path, line, f"claim {self.name} ({self.claim.reference})"


def _claim_items(session, config):
    tokens, from_cli = _tokens(config)
    if not tokens:
        return []
    args_source = getattr(config, "args_source", None)
    explicit = getattr(getattr(type(config), "ArgsSource", None), "ARGS", object())
    if not from_cli and args_source is explicit:
        return []  # `pytest path/...`: only what was named
    from theorybench.claims import FAIL
    size = _size(config)
    items, parents = [], {}
    for c in resolve_claims(tokens):
        if c.paper not in parents:
            parents[c.paper] = (PaperCollector.from_parent(session, name=c.paper, nodeid=f"theorybench::{c.paper}"),
                                [])
        parent, mine = parents[c.paper]
        for control in (False, True):
            name = f"{c.id}[control]" if control else c.id
            item = ClaimItem.from_parent(parent, name=name, nodeid=f"{parent.nodeid}::{name}", claim=c,
                                         control=control, size=size)
            if c.expected == FAIL and not control:
                item.add_marker(pytest.mark.xfail(strict=True, reason=c.expected_reason or "declared FAIL"))
            if size == "full":
                item.add_marker(pytest.mark.theorybench_slow)
            mine.append(item)
    for parent, mine in parents.values():
        # reported as collected, like the items of a file (the terminal's "collected N items", --lf, ...)
        report = pytest.CollectReport(parent.nodeid, "passed", None, mine)
        session.ihook.pytest_collectreport(report=report)
        items.extend(mine)
    return items


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    """Append the claims asked for (before -k/-m selection), and skip theorybench_full tests at quick size."""
    items.extend(_claim_items(session, config))
    if _size(config) != "full":
        skip = pytest.mark.skip(reason="theorybench_full: runs at --theorybench-size full")
        for item in items:
            if item.get_closest_marker("theorybench_full") is not None:
                item.add_marker(skip)


# ------------------------------------------------------------------ fixtures

class Engine:
    """theorybench bound to a seed and a size, for tests: ``run``/``sweep`` as :func:`theorybench.run` /
    :func:`theorybench.sweep` with the seed filled in (``seeds=k`` in a sweep means seeds
    ``seed .. seed + k - 1``), ``claim(id)`` as :func:`theorybench.testing.assert_claim` at the size, and
    ``pick(quick, full)`` to size a test's own runs. One engine per session, so the compiled kernels
    stay loaded (``warm(problem, algorithm)`` compiles one ahead of the timed tests)."""

    def __init__(self, seed=0, size="quick"):
        self.seed, self.size = seed, size

    def run(self, problem, algorithm, **kw):
        import theorybench
        kw.setdefault("seed", self.seed)
        return theorybench.run(problem, algorithm, **kw)

    def sweep(self, problem, algorithm, grid=None, problem_grid=None, *, seeds=1, **kw):
        import numbers
        import theorybench
        if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool) and seeds > 0:
            seeds = list(range(self.seed, self.seed + int(seeds)))
        return theorybench.sweep(problem, algorithm, grid, problem_grid, seeds=seeds, **kw)

    def claim(self, claim_id, control=False):
        from theorybench.testing import assert_claim
        return assert_claim(claim_id, self.size, control)

    def pick(self, quick, full):
        return full if self.size == "full" else quick

    def warm(self, problem, algorithm, **kw):
        """Run ``algorithm`` on ``problem`` for one round: its kernel is compiled (or loaded) now."""
        self.run(problem, algorithm, rounds=1, **kw)
        return self

    def __repr__(self):
        return f"Engine(seed={self.seed}, size={self.size!r})"


@pytest.fixture(scope="session")
def theorybench_size(pytestconfig):
    """``"quick"`` or ``"full"`` (``--theorybench-size``, ini ``theorybench_size``)."""
    return _size(pytestconfig)


@pytest.fixture(scope="session")
def theorybench_engine(pytestconfig):
    """A session-wide :class:`Engine` (seed from ``--theorybench-seed``, size from ``--theorybench-size``);
    the ``theorybench_warmup`` lines (``problem algorithm``) are run once for one round first."""
    engine = Engine(_seed(pytestconfig), _size(pytestconfig))
    for line in pytestconfig.getini("theorybench_warmup"):
        parts = line.split()
        if len(parts) != 2:
            raise pytest.UsageError(f"theorybench_warmup lines are 'problem algorithm', got {line!r}")
        engine.warm(*parts)
    return engine
