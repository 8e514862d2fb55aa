"""The git commit a copy of mmabench comes from, with the standard library only: read at run
time from a checkout, and by setup.py when a wheel is built, which records it in the wheel
(BUILD_COMMIT_FILE) so that an installed copy's rows name their commit too."""

from __future__ import annotations

import subprocess
from pathlib import Path

BUILD_COMMIT_FILE = "_build_commit.txt"   # beside mmabench/__init__.py in a built wheel


def commit_of(tree: Path) -> str:
    """HEAD of the checkout `tree` (12 hex digits, '+dirty' when tracked files changed); '' when
    `tree` is no checkout or git cannot say."""
    if not (Path(tree) / ".git").exists():     # not a folder nested in some other repository
        return ""
    try:
        head = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "-C", str(tree), "status", "--porcelain", "-uno"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    commit = head.stdout.strip() if head.returncode == 0 else ""
    return commit + ("+dirty" if commit and dirty else "")
