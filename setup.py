"""Everything is configured in pyproject.toml. This file only adds one step to the build: the
git commit the wheel is built from (or $MMABENCH_GIT_COMMIT) is written into it as
mmabench/_build_commit.txt, so that the rows of an installed copy name their commit."""

import importlib.util
import os
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TOP = Path(__file__).resolve().parent


def _gitinfo():
    # loaded from its file: importing the mmabench package would need its dependencies here
    spec = importlib.util.spec_from_file_location("_mmabench_gitinfo", TOP / "mmabench" / "core" / "gitinfo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyRecordingCommit(build_py):
    def run(self):
        super().run()
        gitinfo = _gitinfo()
        commit = os.environ.get("MMABENCH_GIT_COMMIT") or gitinfo.commit_of(TOP)
        if commit and not self.dry_run:
            (Path(self.build_lib) / "mmabench" / gitinfo.BUILD_COMMIT_FILE).write_text(commit + "\n")


setup(cmdclass={"build_py": BuildPyRecordingCommit})
