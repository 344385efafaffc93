"""The compile-cache stamp of an engine kernel covers the engine modules its file imports (transitively),
so an edit of a piece it uses recompiles it and an edit elsewhere (CLI, reports, testing API) does not."""
import os

import pytest

from theorybench import _numba_cache as nc


def _rel(paths, root):
    return {os.path.relpath(p, root) for p in paths}


def test_federated_kernel_closure_has_its_pieces_and_not_the_cli():
    closure = _rel(nc.engine_closure(os.path.join(nc.ENGINE_DIR, "kernels", "federated.py")), nc.ENGINE_DIR)
    assert {"kernels/federated.py", "kernels/common.py", "families.py", "rng.py", "sampling.py"} <= closure
    assert not closure & {"cli.py", "report.py", "runner.py", "plotting.py", "claims.py"}


def _compiles_cached(path):
    """Whether the module's own code (not a string it generates) calls a Numba decorator with cache=True."""
    import ast
    tree = ast.parse(open(path).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and any(k.arg == "cache" and isinstance(k.value, ast.Constant)
                                              and k.value.value is True for k in node.keywords):
            return True
    return False


def test_no_cached_engine_module_depends_on_the_front_end():
    front = {"cli.py", "report.py", "plotting.py", "claims.py", "explore.py", "testing.py", "pytest_plugin.py"}
    checked = 0
    for root, _, files in os.walk(nc.ENGINE_DIR):
        for name in files:
            path = os.path.join(root, name)
            if name.endswith(".py") and _compiles_cached(path):
                checked += 1
                closure = _rel(nc.engine_closure(path), nc.ENGINE_DIR)
                assert not closure & front, (name, closure & front)
    assert checked >= 8  # the kernels, families, sampling, delays


@pytest.fixture
def toy_engine(tmp_path, monkeypatch):
    pkg = tmp_path / "toypkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": ("from .b import f\nimport toypkg.d\ntry:\n    from .sub.c import g\nexcept ImportError:\n    g = None\n"
                 "\n\ndef k():\n    from . import e  # inside a Python function: cannot reach compiled code\n"
                 "    return f() + g()\n"),
        "b.py": "from . import e_unused_name_of_init\ndef f():\n    return 1\n",
        "sub/__init__.py": "",
        "sub/c.py": "from ..b import f\ndef g():\n    return 2\n",
        "d.py": "X = 3\n",
        "e.py": "Y = 4  # imported only inside a function\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    monkeypatch.setattr(nc, "ENGINE_DIR", str(pkg))
    monkeypatch.setattr(nc, "PACKAGE", "toypkg")
    monkeypatch.setattr(nc, "_STAMPS", {})
    return pkg


def test_closure_follows_relative_absolute_and_nested_module_level_imports(toy_engine):
    closure = _rel(nc.engine_closure(str(toy_engine / "a.py")), str(toy_engine))
    # `from . import name` with no module `name`: the package's __init__ provides it
    assert closure == {"a.py", "b.py", "sub/c.py", "d.py", "__init__.py"}


def test_stamp_changes_with_a_dependency_and_not_with_another_file(toy_engine):
    a = str(toy_engine / "a.py")
    before = nc.engine_stamp(a)
    (toy_engine / "e.py").write_text("Y = 5\n")
    nc._STAMPS.clear()
    assert nc.engine_stamp(a) == before
    (toy_engine / "sub" / "c.py").write_text("from ..b import f\ndef g():\n    return 3\n")
    nc._STAMPS.clear()
    assert nc.engine_stamp(a) != before
