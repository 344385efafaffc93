"""Numba's on-disk cache, made safe for an engine whose kernels inline code from other modules.

Numba keys a cached kernel on its own source file only: after an edit of ``families.py`` or
``kernels/common.py`` a kernel in ``kernels/federated.py`` would load stale machine code. Here the
kernels of this package are stamped with a hash of *all* the engine's Numba sources, so any edit of
any of them recompiles every kernel once. Installed before any kernel module is imported."""
import hashlib
import os

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


def install():
    locs = _base("CacheImpl")._locator_classes
    for cls in (EngineUserWideLocator, EngineInTreeLocator, EngineUserProvidedLocator):
        if cls not in locs:
            locs.insert(0, cls)


install()
