"""Files a user names on the command line (a report, a bundle, a plot, a self-check's JSON).

They are not results, so they live outside run folders; a path that cannot be written is refused
in one line before any work, and a write that fails is one line too, never a traceback. Nothing
is written into mmabench's own files (the package, its shipped data) or over a file git tracks
in its checkout, and no command writes one file twice (two of its outputs naming the same file).
"""

from __future__ import annotations

import subprocess
from contextlib import contextmanager
from pathlib import Path

from mmabench.core.errors import UserError


def shipped(path: Path) -> str:
    """Why `path` lies among mmabench's shipped files ('' if it does not)."""
    from mmabench.core import project_files

    target = Path(path).resolve()
    for folder in project_files.shipped_folders():
        if target.is_relative_to(folder.resolve()):
            return f"it is inside mmabench's shipped files ({folder})"
    return ""


def protected(path: Path) -> str:
    """Why mmabench must not write the file `path` ('' if it may): shipped, or tracked by git
    in the checkout mmabench runs from (a tracked file is the project's, not a run's)."""
    from mmabench.record import SOURCE_CHECKOUT

    reason = shipped(path)
    target = Path(path).resolve()
    if reason or SOURCE_CHECKOUT is None or not target.is_relative_to(SOURCE_CHECKOUT):
        return reason
    try:
        tracked = subprocess.run(["git", "-C", str(SOURCE_CHECKOUT), "ls-files", "--error-unmatch",
                                  "--", str(target)], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):  # no git: nothing is known to be tracked
        tracked = False
    return f"it is tracked by git in mmabench's checkout ({SOURCE_CHECKOUT})" if tracked else ""


def overwrites_input(path: Path, inputs=()) -> str:
    """Why writing `path` would destroy what this command reads ('' if it would not): it is one
    of the input files. (Files inside an input folder that the command does not read, such as
    an earlier report beside the CSVs, may be written: each writer's suffixes keep it off the
    files the readers take, result CSVs and bundles.)"""
    target = Path(path).resolve()
    for item in inputs:
        if target == Path(item).resolve():
            return f"it is an input of this command ({item})"
    return ""


def check_writable(path: Path, suffixes: tuple[str, ...] = (), inputs=()) -> Path:
    """`path` if a file can be written there now (nothing is left behind by the probe);
    `suffixes`: the file types the writer can produce, one of which `path` must end in;
    `inputs`: the paths the command reads, none of which `path` may be."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if reason := protected(path):
        raise UserError(f"cannot write {path}: {reason}; give a path outside it")
    if reason := overwrites_input(path, inputs):
        raise UserError(f"cannot write {path}: {reason}; give an output path outside the inputs")
    if suffixes and not path.name.lower().endswith(tuple(suffixes)):
        raise UserError(f"cannot write {path}: accepted suffixes {', '.join(suffixes)}")
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


def check_folder(path: Path, what: str) -> Path:
    """`path` if `what` may be written into it as a folder (made later, when needed): not a file,
    not inside mmabench's shipped files; a one-line UserError before any work otherwise."""
    path = Path(path)
    if reason := shipped(path):
        raise UserError(f"cannot write {what} into {path}: {reason}; give a folder outside it")
    if path.exists() and not path.is_dir():
        raise UserError(f"cannot write {what} into {path}: it is a file; give a folder")
    return path


def fresh_name(path: Path, suffix: str | None = None) -> Path:
    """`path`, or name_2, name_3, ... (before `suffix`, default the last one) where a file is
    there already: a default output name never replaces an earlier run's file."""
    path = Path(path)
    suffix = suffix if suffix is not None else path.suffix
    stem = path.name[: len(path.name) - len(suffix)] if suffix else path.name
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{stem}_{n}{suffix}")
    return candidate


class Outputs:
    """The files one command writes, each claimed (checked) before it is written: a file
    claimed twice would overwrite what the same command has just written, so it is refused."""

    def __init__(self, inputs=()):
        self._claimed: dict[Path, str] = {}
        self._inputs = list(inputs)      # what the command reads: never written over

    def claim(self, path: Path, what: str, suffixes: tuple[str, ...] = ()) -> Path:
        key = Path(path).resolve()
        if key in self._claimed:
            raise UserError(f"{what} {path} is the same file as {self._claimed[key]}; give "
                            "each output its own file")
        path = check_writable(path, suffixes, self._inputs)
        self._claimed[key] = f"{what} {path}"
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
