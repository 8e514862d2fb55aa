"""The seed of a run's random inputs: the one given (--seed N), else a fresh one drawn here.
Either way it is printed with the option that draws the same inputs again, and the caller
records it in its rows and context, so that every random input of every run can be redrawn."""

from __future__ import annotations

import argparse
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


def option(text: str) -> int:
    """argparse type of --seed: checked as the command line is read, before a GPU is looked for."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < LIMIT:
        raise argparse.ArgumentTypeError(f"bad value {text!r}; accepted: an integer 0..{LIMIT - 1}")
    return value
