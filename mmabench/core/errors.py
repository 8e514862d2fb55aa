"""Errors a user can cause or fix; the CLI prints them as one line, never a traceback."""


class UserError(Exception):
    """Bad input: the message names what was wrong and what is accepted."""


class ToolMissing(UserError):
    """A toolchain binary or library is not installed (the message says which package gives it)."""


class NoGPU(UserError):
    """No usable CUDA GPU or driver on this machine."""


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
