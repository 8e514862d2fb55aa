"""The seed of a run's random inputs: the one given (--seed N), else a fresh one drawn here.
Either way it is printed with the option that draws the same inputs again, and the caller
records it in its rows and context, so that every random input of every run can be redrawn."""

from __future__ import annotations

import secrets

from mmabench.core.errors import UserError

LIMIT = 2 ** 32   # NumPy's and CuPy's generators both take any seed below it


def chosen(given: int | None, say=print) -> int:
    """`given` (checked), or a fresh seed when None; said as 'seed N; rerun with --seed N'."""
    if given is None:
        given = secrets.randbelow(LIMIT)
    elif not 0 <= given < LIMIT:
        raise UserError(f"bad --seed {given}; accepted: an integer 0..{LIMIT - 1}")
    say(f"seed {given}; rerun with --seed {given}")
    return given
