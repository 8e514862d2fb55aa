"""Files a user names on the command line (a report, a bundle, a plot, a self-check's JSON).

They are not results, so they live outside run folders; a path that cannot be written is refused
in one line before any work, and a write that fails is one line too, never a traceback.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from mmabench.core.errors import UserError


def check_writable(path: Path) -> Path:
    """`path` if a file can be written there now (nothing is left behind by the probe)."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UserError(f"cannot write {path}: it is a folder; give a file name")
    if not folder.is_dir():
        raise UserError(f"cannot write {path}: folder {folder} does not exist")
    existed = path.exists()
    with writing(path):
        with open(path, "ab"):
            pass
    if not existed:
        path.unlink()
    return path


@contextmanager
def writing(path: Path):
    """Turn an OSError raised while writing `path` into a one-line UserError."""
    try:
        yield path
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_text(path: Path, text: str) -> Path:
    with writing(path):
        Path(path).write_text(text, encoding="utf-8")
    return Path(path)
