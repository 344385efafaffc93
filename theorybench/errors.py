"""Errors a user sees: they name the parameter, the allowed range, and the closest known names."""
import difflib


class TheoryBenchError(ValueError):
    """A bad input, reported without a traceback by the CLI."""


class UnknownNameError(TheoryBenchError, KeyError):
    def __init__(self, kind, name, known):
        close = difflib.get_close_matches(str(name), list(known), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        msg = f"unknown {kind} {name!r}{hint} (known: {', '.join(sorted(known))})"
        super().__init__(msg)
        self.msg = msg

    def __str__(self):
        return self.msg


def unknown(kind, name, known):
    return UnknownNameError(kind, name, known)
