"""Numba's on-disk cache, made safe for an engine whose kernels inline code from other modules.

Numba keys a cached kernel on its own source file only: after an edit of ``families.py`` or
``kernels/common.py`` a kernel in ``kernels/federated.py`` would load stale machine code. Here the
kernels of this package are stamped with a hash of *all* the engine's Numba sources, so any edit of
any of them recompiles every kernel once. Installed before any kernel module is imported.

A damaged cache file (a truncated or garbled ``.nbi`` index or ``.nbc`` data file: a disk filled up, a
copy cut short) would otherwise fail every later run with ``UnpicklingError`` or ``EOFError``. For this
package's kernels a cache entry that fails to load warns once (``damaged compile cache <file>:
rebuilding``), its files are removed, and the kernel compiles as if it had never been cached; a cache
that cannot be written warns and the kernel runs uncached."""
import glob
import hashlib
import os
import warnings

from numba.core import caching

ENGINE_DIR = os.path.dirname(os.path.abspath(__file__))
_STAMP = None


def engine_stamp():
    global _STAMP
    if _STAMP is None:
        h = hashlib.sha256()
        for root, _, files in sorted(os.walk(ENGINE_DIR)):
            for name in sorted(files):
                if name.endswith(".py"):
                    with open(os.path.join(root, name), "rb") as fh:
                        h.update(name.encode() + b"\0" + fh.read())
        _STAMP = h.digest()
    return _STAMP


class _EngineStamp:
    def get_source_stamp(self):
        return engine_stamp()

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
