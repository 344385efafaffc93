"""Declared parameters: name, default, allowed range and meaning, with validation that names the
parameter in every error. Problems and algorithms describe their parameters with :class:`Param`.

Also the checks of the other inputs every boundary (CLI and Python API) shares, so that bad input is
refused with one clear :class:`~theorybench.errors.TheoryBenchError` before any work starts: seeds
(:func:`check_seed`, :func:`seed_list`), output paths (:func:`check_output_file`,
:func:`check_output_dir`)."""
from dataclasses import dataclass, field
import math
import numbers
import os

from .errors import TheoryBenchError, unknown


@dataclass(frozen=True)
class Param:
    """One parameter.

    kind: ``"float"``, ``"int"``, ``"choice"`` or ``"str"`` (free text, e.g. a data file's path); ``low``/``high`` bound floats and ints
    (``low_open``/``high_open`` make the bound strict); ``choices`` lists a choice's values.
    """
    name: str
    default: object
    doc: str
    kind: str = "float"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple = field(default_factory=tuple)

    def range_text(self):
        if self.kind == "choice":
            return "one of " + ", ".join(map(str, self.choices))
        if self.kind == "str":
            return "text"
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        lb = "(" if (self.low_open or self.low is None) else "["
        rb = ")" if (self.high_open or self.high is None) else "]"
        word = "integer" if self.kind == "int" else "real"
        return f"{word} in {lb}{lo}, {hi}{rb}"

    def validate(self, value, owner=""):
        """Parse (from a string too) and check ``value``; return it typed."""
        where = f" of {owner}" if owner else ""
        if self.default is None and (value is None or str(value).lower() in ("auto", "none")):
            return None
        if self.kind == "str":
            return str(value)
        if self.kind == "choice":
            v = str(value)
            if v not in self.choices:
                raise TheoryBenchError(
                    f"parameter {self.name!r}{where} must be {self.range_text()}, got {value!r}")
            return v
        if _is_bool(value):  # True is not the number 1 here: a flag passed where a number belongs
            raise TheoryBenchError(
                f"parameter {self.name!r}{where} must be a number ({self.range_text()}), got {value!r}")
        if self.kind == "int" and isinstance(value, (str, numbers.Integral)):
            try:  # exactly (float() would round integers above 2**53)
                value = int(value.strip()) if isinstance(value, str) else int(value)
            except ValueError:
                pass
        try:
            v = value if (self.kind == "int" and isinstance(value, int)) else float(value)
        except (TypeError, ValueError, OverflowError):
            raise TheoryBenchError(
                f"parameter {self.name!r}{where} must be a number ({self.range_text()}), got {value!r}") from None
        if self.kind == "int":
            if not math.isfinite(v) or v != int(v):
                raise TheoryBenchError(
                    f"parameter {self.name!r}{where} must be an {self.range_text()}, got {value!r}")
            v = int(v)
        elif not math.isfinite(v):
            raise TheoryBenchError(f"parameter {self.name!r}{where} must be finite, got {value!r}")
        bad = False
        if self.low is not None:
            bad |= v <= self.low if self.low_open else v < self.low
        if self.high is not None:
            bad |= v >= self.high if self.high_open else v > self.high
        if bad:
            raise TheoryBenchError(
                f"parameter {self.name!r}{where} must be {self.range_text()}, got {value!r}")
        return v


def _is_bool(value):
    return isinstance(value, bool) or type(value).__name__ == "bool_"


def resolve(params, given, owner):
    """Merge ``given`` (a dict, values may be strings) into the defaults of ``params``, validating."""
    by_name = {p.name: p for p in params}
    out = {p.name: p.default for p in params}
    if given is not None and not hasattr(given, "items"):
        raise TheoryBenchError(f"the parameters of {owner} must be a dict {{name: value}}, got {given!r}")
    for k, v in (given or {}).items():
        if k not in by_name:
            raise unknown(f"parameter of {owner}", k, by_name)
        out[k] = by_name[k].validate(v, owner)
    return out


# ------------------------------------------------------------------ seeds

SEED_MAX = 2**63 - 1   # the kernels' counter-based generator takes the seed as an int64


def check_seed(seed, name="seed"):
    """``seed`` as a Python int in ``[0, 2**63 - 1]``. An integral float (``3.0``) is accepted; a
    fraction, a string, a bool or a number out of range is refused (never truncated or wrapped)."""
    if _is_bool(seed) or isinstance(seed, (str, bytes)):
        raise TheoryBenchError(f"parameter {name!r} must be an integer in [0, 2**63 - 1], got {seed!r}")
    if isinstance(seed, numbers.Integral):
        v = int(seed)
    elif isinstance(seed, numbers.Real) and math.isfinite(seed) and float(seed) == int(seed):
        v = int(seed)
    else:
        raise TheoryBenchError(f"parameter {name!r} must be an integer in [0, 2**63 - 1], got {seed!r}")
    if not 0 <= v <= SEED_MAX:
        raise TheoryBenchError(f"parameter {name!r} must be an integer in [0, 2**63 - 1], got {v}")
    return v


def seed_list(seeds, name="seeds"):
    """The seeds of a sweep: a count ``n`` (seeds ``0 .. n-1``; an int >= 1) or a list of seeds (each
    checked by :func:`check_seed`). A string is refused (``seeds='3'`` is neither)."""
    if _is_bool(seeds) or isinstance(seeds, (str, bytes)):
        raise TheoryBenchError(f"parameter {name!r} must be a count (an integer >= 1) or a list of seeds, "
                               f"got {seeds!r}")
    if isinstance(seeds, numbers.Integral):
        if not 1 <= seeds <= SEED_MAX:
            raise TheoryBenchError(f"parameter {name!r} must be a count of seeds in [1, 2**63 - 1], got {seeds}")
        return range(int(seeds))  # a range: its length is known without building the list
    try:
        out = [check_seed(s, "seed") for s in seeds]
    except TypeError:
        raise TheoryBenchError(f"parameter {name!r} must be a count (an integer >= 1) or a list of seeds, "
                               f"got {seeds!r}") from None
    if not out:
        raise TheoryBenchError(f"parameter {name!r} must name at least one seed")
    return out


# ------------------------------------------------------------------ output paths

def check_output_file(path, flag, extensions=None):
    """Before any work: ``path`` can be written as a file. Refused: an existing directory, a folder that
    does not exist or is not writable, and (when ``extensions`` is given) an extension not in it.
    An existing non-regular file (``/dev/stdout``, a pipe) is accepted as it is."""
    path = os.fspath(path)
    if not path:
        raise TheoryBenchError(f"{flag} needs a file name, got an empty one")
    if os.path.isdir(path) or path.endswith(("/", os.sep)):
        raise TheoryBenchError(f"{flag} {path!r} is a directory; give a file name inside it, e.g. "
                               f"{os.path.join(path, 'out' + (('.' + extensions[0]) if extensions else ''))!r}")
    if os.path.exists(path) and not os.path.isfile(path):
        return path  # a device or a pipe: written in place
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise TheoryBenchError(f"{flag} {path!r}: the folder {folder!r} does not exist; create it first")
    _probe_writable(folder, f"{flag} {path!r}: the folder {folder!r}")
    if extensions is not None:
        ext = os.path.splitext(path)[1].lower().lstrip(".")
        if ext not in extensions:
            raise TheoryBenchError(f"{flag} {path!r}: unknown file type {('.' + ext) if ext else '(none)'}; "
                                   f"use one of {', '.join('.' + e for e in extensions)}")
    return path


def check_output_dir(path, flag):
    """Before any work: ``path`` is a writable directory or can be created (its nearest existing ancestor
    is a writable directory, and nothing on the way is a file)."""
    path = os.fspath(path)
    if not path:
        raise TheoryBenchError(f"{flag} needs a folder name, got an empty one")
    p = os.path.abspath(path)
    while not os.path.exists(p):
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    if not os.path.isdir(p):
        what = "is a file" if p == os.path.abspath(path) else f"lies under {p!r}, which is a file"
        raise TheoryBenchError(f"{flag} {path!r} {what}; give a folder")
    try:  # created now (the writer would create it anyway): a folder that cannot be made fails here
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise TheoryBenchError(f"{flag} {path!r}: cannot create the folder ({e.strerror})") from None
    _probe_writable(path, f"{flag} {path!r}")
    return path


def _probe_writable(folder, what):
    """Create and remove a file in ``folder`` (permission bits do not tell for root or a read-only mount)."""
    import tempfile
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".theorybench-probe-"):
            pass
    except OSError as e:
        raise TheoryBenchError(f"{what} is not writable ({e.strerror})") from None
