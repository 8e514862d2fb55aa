"""Options that only some modes of a sub-command read.

A sub-command declares, as data, which options each of its modes reads; an option given to a mode
that does not read it is refused with one line naming the conflict, never silently dropped.
Options listed here default to None (or False for a switch), so "given" means "not None/False".
"""

from __future__ import annotations

from mmabench.core.errors import UserError


def given(args, dest: str) -> bool:
    value = getattr(args, dest, None)
    return value is not None and value is not False


def reject_unused(args, options: dict[str, str], modes: dict[str, set[str]], mode: str,
                  mode_flags: dict[str, str] | None = None) -> None:
    """`options`: argparse dest -> flag; `modes`: mode label -> the dests it reads; `mode`: the
    label of the mode running; `mode_flags`: mode label -> the flag that selects it (a second
    mode flag is a conflict of modes, not an unused option)."""
    mode_flags = mode_flags or {}
    flag_modes = {flag: label for label, flag in mode_flags.items()}
    for dest, flag in options.items():
        if dest in modes[mode] or not given(args, dest):
            continue
        if flag in flag_modes:
            raise UserError(f"{flag} and {mode} are different modes; give one of "
                            f"{', '.join(mode_flags.values())}")
        readers = [label for label, used in modes.items() if dest in used]
        raise UserError(f"{flag} applies to {', '.join(readers) or 'nothing'} only, not to {mode}")
