"""Numba's on-disk cache, made safe for an engine whose kernels inline code from other modules.

Numba keys a cached kernel on its own source file only: after an edit of ``families.py`` or
``kernels/common.py`` a kernel in ``kernels/federated.py`` would load stale machine code. Here a
kernel of this package is stamped with a hash of the sources of its own file and of every engine module
that file imports at module level, directly or through others (:func:`engine_closure`, read from the import
statements; compiled code can only read module globals), so an edit of a piece a kernel uses recompiles it,
and an edit
elsewhere (the CLI, reports, plotting, the testing API) does not. Installed before any kernel module is
imported.

A damaged cache file (a truncated or garbled ``.nbi`` index or ``.nbc`` data file: a disk filled up, a
copy cut short) would otherwise fail every later run with ``UnpicklingError`` or ``EOFError``. For this
package's kernels a cache entry that fails to load warns once (``damaged compile cache <file>:
rebuilding``), its files are removed, and the kernel compiles as if it had never been cached; a cache
that cannot be written warns and the kernel runs uncached."""
import ast
import glob
import hashlib
import os
import warnings

from numba.core import caching

ENGINE_DIR = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.basename(ENGINE_DIR)
_STAMPS = {}


def _module_file(parts):
    """The engine file of the module ``parts`` (relative to the package root), or None."""
    base = os.path.join(ENGINE_DIR, *parts)
    for path in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(path):
            return path
    return None


def _imported_files(path):
    """Engine files that the module at ``path`` imports at module level (relative and absolute forms)."""
    rel = os.path.relpath(path, ENGINE_DIR).split(os.sep)
    package = rel[:-1]  # the module's package, relative to the engine root
    with open(path, "rb") as fh:
        tree = ast.parse(fh.read(), filename=path)
    out = set()
    for node in _module_level(tree):
        targets = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level - 1 > len(package):
                    continue
                root = package[:len(package) - (node.level - 1)]
            elif node.module and node.module.split(".")[0] == PACKAGE:
                root = []
            else:
                continue
            mod = (node.module or "").split(".") if node.module else []
            if not node.level:
                mod = mod[1:]
            for alias in node.names:  # `from .pkg import name`: the submodule name, else pkg itself
                targets.append(_module_file(root + mod + [alias.name]) or _module_file(root + mod))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == PACKAGE:
                    targets.append(_module_file(parts[1:]) if len(parts) > 1 else _module_file([]))
        out.update(t for t in targets if t)
    return out


def _module_level(tree):
    """The statements that run at import, nested blocks (if, try, with) included, function and class bodies
    not: compiled code reads only module globals (Numba compiles no import statement), so the imports inside
    Python functions cannot reach a kernel."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            todo.extend(getattr(node, field, []) or [])


def engine_closure(path):
    """``path`` and every engine file it imports, transitively (sorted)."""
    seen, todo = set(), [os.path.abspath(path)]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(_imported_files(p) - seen)
    return sorted(seen)


def engine_stamp(path):
    """sha256 of the sources of :func:`engine_closure` of ``path`` (each with its path in the engine)."""
    path = os.path.abspath(path)
    if path not in _STAMPS:
        h = hashlib.sha256()
        for p in engine_closure(path):
            with open(p, "rb") as fh:
                h.update(os.path.relpath(p, ENGINE_DIR).encode() + b"\0" + fh.read())
        _STAMPS[path] = h.digest()
    return _STAMPS[path]


class _EngineStamp:
    def get_source_stamp(self):
        return engine_stamp(self._py_file)

    @classmethod
    def from_function(cls, py_func, py_file):
        if not os.path.abspath(py_file).startswith(ENGINE_DIR + os.sep):
            return None
        return super().from_function(py_func, py_file)


def _base(name):
    return getattr(caching, name, None) or getattr(caching, "_" + name)


class EngineInTreeLocator(_EngineStamp, _base("InTreeCacheLocator")):
    pass


class EngineUserProvidedLocator(_EngineStamp, _base("UserProvidedCacheLocator")):
    pass


class EngineUserWideLocator(_EngineStamp, _base("UserWideCacheLocator")):
    pass


class CacheRepairWarning(RuntimeWarning):
    """A compile cache file of this package's kernels was damaged and is being rebuilt."""


def _ours(cache):
    return isinstance(getattr(getattr(cache, "_impl", None), "locator", None), _EngineStamp)


def _damaged_file(cache, sig, target_context):
    """The file whose load failed: the index if it does not read, else the data file it names."""
    cf = cache._cache_file
    try:
        overloads = cf._load_index()
        name = overloads.get(cache._index_key(sig, target_context.codegen()))
    except Exception:  # noqa: BLE001  (any failure to read the index is damage)
        return cf._index_path
    return cf._data_path(name) if name else cf._index_path


def _remove_entries(cache):
    """Remove the index and every data file of this function (all its signatures are recompiled)."""
    cf = cache._cache_file
    base = os.path.join(glob.escape(os.path.dirname(cf._index_path)),
                        glob.escape(os.path.basename(cf._index_path)[:-len(".nbi")]))
    for path in [cf._index_path] + glob.glob(base + ".*.nbc"):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as e:
            warnings.warn(f"cannot remove damaged compile cache {path}: {e}", CacheRepairWarning, stacklevel=3)


def _load_overload(self, sig, target_context):
    if not _ours(self):
        return _ORIGINAL["load"](self, sig, target_context)
    try:
        return _ORIGINAL["load"](self, sig, target_context)
    except Exception as e:  # noqa: BLE001  (UnpicklingError, EOFError, a garbled object: all mean rebuild)
        path = _damaged_file(self, sig, target_context)
        warnings.warn(f"damaged compile cache {path}: rebuilding ({type(e).__name__}: {e})",
                      CacheRepairWarning, stacklevel=2)
        _remove_entries(self)
        return None


def _save_overload(self, sig, data):
    if not _ours(self):
        return _ORIGINAL["save"](self, sig, data)
    try:
        return _ORIGINAL["save"](self, sig, data)
    except Exception:  # noqa: BLE001  (a damaged index read before writing): rebuild it once
        _remove_entries(self)
    try:
        return _ORIGINAL["save"](self, sig, data)
    except Exception as e:  # noqa: BLE001
        warnings.warn(f"cannot write compile cache in {self._cache_path}: {type(e).__name__}: {e}; "
                      "the kernel runs uncached", CacheRepairWarning, stacklevel=2)


_ORIGINAL = {}


def install():
    locs = _base("CacheImpl")._locator_classes
    for cls in (EngineUserWideLocator, EngineInTreeLocator, EngineUserProvidedLocator):
        if cls not in locs:
            locs.insert(0, cls)
    # numba's own methods, kept on its module so that a reload of this one does not wrap them twice
    if not hasattr(caching, "_theorybench_original"):
        caching._theorybench_original = {"load": caching.Cache.load_overload, "save": caching.Cache.save_overload}
    _ORIGINAL.update(caching._theorybench_original)
    caching.Cache.load_overload, caching.Cache.save_overload = _load_overload, _save_overload


install()
