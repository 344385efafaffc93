"""Stored claim results: ``figures`` redraws from them and runs only what is missing.

Each finished run of a claim (its :class:`~theorybench.claims.ClaimResult`: verdict, measured and
predicted values as text and as numbers (``Evidence.numbers``, see :meth:`ClaimStore.numbers`), the numbers of the JSON report, and the figure functions with the data they draw) is
kept in one file, keyed on

- the code: a SHA-256 of the sources of the engine (``theorybench``), of ``problems`` and of the package
  that holds the claim's module (``paper_checks``, or a researcher's own package), with the versions of
  numpy, scipy, numba and sympy; any edit to any of them is a new key, so a stored result is never
  older than the code;
- the settings: the claim id, the size (``quick``/``full``) and whether it is the negative control.

The figure functions are closures over arrays, which :mod:`pickle` cannot write; ``cloudpickle`` (the
serializer of joblib and Dask) writes them, and functions defined at a module's top level by reference.
A result that cannot be written is simply not stored (the run is not affected), and a file that cannot
be read back counts as missing. Storing a result removes the one made by earlier code for the same
claim, size and control, so the store keeps one file per (claim, size, control).

Where: ``$THEORYBENCH_STORE``, else ``$XDG_CACHE_HOME/theorybench/claims`` (``~/.cache/...``);
``THEORYBENCH_STORE=off`` turns the store off. The files are pickles: like any cache of pickles, read
only a store you wrote yourself. Files are written atomically (:mod:`theorybench.atomic_io`)."""
import functools
import hashlib
import logging
import os
import sys

log = logging.getLogger("theorybench")

OFF = ("0", "off", "no", "false", "none")
_PACKAGES = ("numpy", "scipy", "numba", "sympy", "cloudpickle")


def store_dir():
    """The store's folder, or ``None`` when ``THEORYBENCH_STORE`` turns it off."""
    env = os.environ.get("THEORYBENCH_STORE", "").strip()
    if env.lower() in OFF and env:
        return None
    if env:
        return env
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "theorybench", "claims")


@functools.lru_cache(maxsize=None)
def _tree_hash(folder):
    """SHA-256 of the ``.py`` files under ``folder`` (their relative paths and bytes), sorted."""
    h = hashlib.sha256()
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for f in sorted(files):
            if f.endswith(".py"):
                p = os.path.join(root, f)
                h.update(os.path.relpath(p, folder).encode() + b"\0")
                with open(p, "rb") as fh:
                    h.update(fh.read())
                h.update(b"\0")
    return h.hexdigest()


def _package_folder(module_name):
    mod = sys.modules.get(module_name)
    f = getattr(mod, "__file__", None)
    if not f:
        return None
    top = module_name.split(".")[0]
    top_mod = sys.modules.get(top)
    top_file = getattr(top_mod, "__file__", None) or f
    return os.path.dirname(os.path.abspath(top_file))


def code_key(claim):
    """The hash of the code a claim's result depends on (see the module docstring)."""
    from importlib import metadata
    import theorybench
    h = hashlib.sha256()
    folders = {os.path.dirname(os.path.abspath(theorybench.__file__))}
    for name in ("problems", getattr(claim.check, "__module__", None)):
        if name:
            try:
                __import__(name)
            except ImportError:
                continue
            folder = _package_folder(name)
            if folder:
                folders.add(folder)
    for folder in sorted(folders):
        h.update(folder.encode() + b"\0" + _tree_hash(folder).encode() + b"\0")
    for pkg in _PACKAGES:
        try:
            h.update(f"{pkg}={metadata.version(pkg)}\0".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{pkg}=-\0".encode())
    return h.hexdigest()


def _path(folder, claim, size, control):
    import re
    key = hashlib.sha256(f"{code_key(claim)}\0{claim.id}\0{size}\0{bool(control)}".encode()).hexdigest()[:32]
    safe = lambda s: re.sub(r"[^A-Za-z0-9_.+-]", "_", s)  # noqa: E731
    name = f"{safe(claim.id)}-{size}{'-control' if control else ''}-{key}.pkl"
    return os.path.join(folder, safe(claim.paper), name)


class ClaimStore:
    """Claim results on disk under ``folder`` (default :func:`store_dir`)."""

    def __init__(self, folder):
        self.folder = folder
        self._warned = False

    @classmethod
    def default(cls):
        """The store at :func:`store_dir`, or ``None`` when it is turned off."""
        folder = store_dir()
        return None if folder is None else cls(folder)

    def path(self, claim, size, control=False):
        return _path(self.folder, claim, size, control)

    def load(self, claim, size, control=False):
        """The stored result of ``claim`` at ``size`` (``control``), made by the present code, or ``None``."""
        import cloudpickle
        p = self.path(claim, size, control)
        try:
            with open(p, "rb") as fh:
                r = cloudpickle.load(fh)
        except FileNotFoundError:
            return None
        except Exception as e:  # a damaged or unreadable file: missing (it is rewritten by the next run)
            log.debug("stored result %s unreadable (%s); running the claim", p, e)
            return None
        if getattr(r, "claim", None) is None or r.claim.id != claim.id or r.size != size or r.control != control:
            return None
        r.claim = claim  # the live claim (its check function, the registry's object)
        return r

    def numbers(self, claim, size, control=False):
        """The numeric quantities (``Evidence.numbers``: measured, predicted, tolerance, kind, rule) of the
        stored result of ``claim`` at ``size`` (``control``), or ``None`` when none is stored."""
        r = self.load(claim, size, control)
        return None if r is None else dict(getattr(r.evidence, "numbers", {}))

    def _prune(self, kept):
        """Remove the results of the same claim, size and control made by other code (one file each)."""
        import re
        folder, name = os.path.split(kept)
        stem = re.escape(name[: -len("0" * 32 + ".pkl")])
        pattern = re.compile(stem + r"[0-9a-f]{32}\.pkl")
        for other in os.listdir(folder):
            if other != name and pattern.fullmatch(other):
                try:
                    os.unlink(os.path.join(folder, other))
                except OSError:
                    pass

    def save(self, result):
        """Store ``result``; return its path, or ``None`` when it cannot be written (the run goes on)."""
        import cloudpickle
        from .atomic_io import atomic_write_bytes
        p = self.path(result.claim, result.size, result.control)
        try:
            data = cloudpickle.dumps(result)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            atomic_write_bytes(p, data)
            self._prune(p)
            return p
        except Exception as e:  # an unpicklable closure, a full disk, a read-only folder: not stored
            if not self._warned:
                log.debug("claim result %s not stored (%s)", result.claim.id, e)
                self._warned = True
            return None
