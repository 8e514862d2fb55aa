"""Everything is configured in pyproject.toml. This file only adds one step to the build: the
git commit the package is built from ($MMABENCH_GIT_COMMIT, else the checkout's HEAD) is written
into it as mmabench/_build_commit.txt, so that the rows of an installed copy name their commit.
An sdist carries the file too, for a wheel built from it (python -m build) has no .git to ask."""

import importlib.util
import os
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

TOP = Path(__file__).resolve().parent


def _gitinfo():
    # loaded from its file: importing the mmabench package would need its dependencies here
    spec = importlib.util.spec_from_file_location("_mmabench_gitinfo", TOP / "mmabench" / "core" / "gitinfo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GITINFO = _gitinfo()
SOURCE_COPY = TOP / "mmabench" / GITINFO.BUILD_COMMIT_FILE    # present in an unpacked sdist


def _commit() -> str:
    commit = os.environ.get("MMABENCH_GIT_COMMIT") or GITINFO.commit_of(TOP)
    if not commit and SOURCE_COPY.is_file():
        commit = SOURCE_COPY.read_text().strip()
    return commit


def _record(package_dir: Path) -> None:
    """Write the commit into the built package, or remove a stale copy when there is none."""
    target = package_dir / GITINFO.BUILD_COMMIT_FILE
    commit = _commit()
    if commit:
        target.write_text(commit + "\n")
    elif target.exists():
        target.unlink()


class BuildPyRecordingCommit(build_py):
    def run(self):
        super().run()
        if not self.dry_run:
            _record(Path(self.build_lib) / "mmabench")


class SdistRecordingCommit(sdist):
    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        _record(Path(base_dir) / "mmabench")


setup(cmdclass={"build_py": BuildPyRecordingCommit, "sdist": SdistRecordingCommit})
