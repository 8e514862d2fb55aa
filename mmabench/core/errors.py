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


def items(text: str, kind: str, accepted: str) -> list[str]:
    """The comma-separated items of a CLI list, stripped; an empty item ('a,,b', 'a,') is a
    typo, not a shorter list: a one-line UserError naming the list and what it accepts."""
    parts = [t.strip() for t in text.split(",")]
    if not any(parts):
        raise UserError(f"empty {kind} list; accepted: {accepted}")
    if not all(parts):
        raise UserError(f"empty item in the {kind} list {text!r}; accepted: {accepted}, comma-separated")
    return parts


def split_list(text: str | None, kind: str, accepted) -> list[str] | None:
    """Parse a comma-separated CLI list, checking every item against `accepted`."""
    if text is None:
        return None
    return [choose(kind, t, accepted) for t in items(text, kind, ", ".join(map(str, accepted)))]


def int_list(text: str | None, what: str, low: int = 1, high: int = 1 << 30, *,
             accepted: tuple[int, ...] | None = None) -> tuple[int, ...] | None:
    """Parse a comma-separated CLI list of integers, each within low..high, or one of `accepted`
    where only some are (None if not given)."""
    if text is None:
        return None
    try:
        values = tuple(int(t) for t in text.split(","))
    except ValueError:
        values = ()
    allowed = (lambda v: v in accepted) if accepted else (lambda v: low <= v <= high)
    if not values or not all(map(allowed, values)):
        what_ok = ",".join(map(str, accepted)) if accepted else f"integers {low}..{high}"
        raise UserError(f"bad {what} list {text!r}; accepted: {what_ok}, comma-separated")
    return values


def at_least(value: int, flag: str, low: int = 1) -> int:
    """`value` of an integer option if it is at least `low`, else a one-line UserError."""
    if value < low:
        raise UserError(f"bad {flag} {value}; accepted: an integer >= {low}")
    return value


def in_range(value: int, flag: str, low: int, high: int) -> int:
    """`value` of an integer option if it is within low..high, else a one-line UserError."""
    if not low <= value <= high:
        raise UserError(f"bad {flag} {value}; accepted: an integer {low}..{high}")
    return value
