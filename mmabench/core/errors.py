"""Errors a user can cause or fix; the CLI prints them as one line, never a traceback.
Also the parsers of comma-separated CLI lists, whose bad input is such an error, and the error of
a measurement that yields no figure (a row with its reason, not a stop)."""

from __future__ import annotations


class UserError(Exception):
    """Bad input: the message names what was wrong and what is accepted."""


class ToolMissing(UserError):
    """A toolchain binary or library is not installed (the message says which package gives it)."""


class NoGPU(UserError):
    """No usable CUDA GPU or driver on this machine."""


class MeasurementError(Exception):
    """The kernel ran but its output or its SASS is not what was meant: no figure."""


class Infeasible(MeasurementError):
    """The launch shape cannot be resident (registers, warps, shared memory): the point is skipped."""


def choose(kind: str, given: str, accepted) -> str:
    """Return `given` if it is among `accepted`, else raise a one-line UserError listing them."""
    accepted = list(accepted)
    if given not in accepted:
        raise UserError(f"unknown {kind} {given!r}; accepted: {', '.join(map(str, accepted))}")
    return given


def split_list(text: str | None, kind: str, accepted) -> list[str] | None:
    """Parse a comma-separated CLI list, checking every item against `accepted`."""
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise UserError(f"empty {kind} list; accepted: {', '.join(map(str, accepted))}")
    return [choose(kind, t, accepted) for t in items]


def int_list(text: str | None, what: str, low: int, high: int) -> tuple[int, ...] | None:
    """Parse a comma-separated CLI list of integers, each within low..high (None if not given)."""
    if text is None:
        return None
    try:
        values = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        values = ()
    if not values or any(not low <= v <= high for v in values):
        raise UserError(f"bad {what} list {text!r}; accepted: integers {low}..{high}, comma-separated")
    return values


def at_least(value: int, flag: str, low: int = 1) -> int:
    """`value` of an integer option if it is at least `low`, else a one-line UserError."""
    if value < low:
        raise UserError(f"bad {flag} {value}; accepted: an integer >= {low}")
    return value
