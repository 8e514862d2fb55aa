"""Whole-file writes that a reader, a Ctrl-C or a killed process never sees half done.

The bytes go to a temporary file beside the target, then os.replace() swaps it in: the target
holds either its old content or the new one. Run folders rewrite their rows after each
measurement, so an interrupt during a plain rewrite would lose the rows already kept.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write `data` (text as UTF-8) to `path` all at once; returns the path."""
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.part")
    # os.open with mode 0o666 (not mkstemp's 0o600): the file gets the permissions a plain write would
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)
    except BaseException:        # KeyboardInterrupt too: leave no .part file behind
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path
