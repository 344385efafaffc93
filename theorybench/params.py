"""Declared parameters: name, default, allowed range and meaning, with validation that names the
parameter in every error. Problems and algorithms describe their parameters with :class:`Param`."""
from dataclasses import dataclass, field
import math

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
        try:
            v = float(value)
        except (TypeError, ValueError):
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


def resolve(params, given, owner):
    """Merge ``given`` (a dict, values may be strings) into the defaults of ``params``, validating."""
    by_name = {p.name: p for p in params}
    out = {p.name: p.default for p in params}
    for k, v in (given or {}).items():
        if k not in by_name:
            raise unknown(f"parameter of {owner}", k, by_name)
        out[k] = by_name[k].validate(v, owner)
    return out
