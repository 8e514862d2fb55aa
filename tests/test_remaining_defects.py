"""The remaining user-facing defects of issue 19, found on a machine without a GPU: each test
failed before its fix (a traceback, a silent skip, an overwritten file, a run not repeatable)."""

from __future__ import annotations

import pytest

from mmabench.cli import main


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---------------------------------------------------------------- 1. arith's counts

@pytest.mark.parametrize("argv, named", [
    (["--trials", "0"], "--trials 0"), (["--trials", "-3"], "--trials -3"),
    (["--max-k", "8"], "--max-k 8"), (["--max-k", "0"], "--max-k 0")])
@pytest.mark.parametrize("mode", [["--offline"], []])
def test_arith_counts_are_checked_before_any_work(capsys, argv, named, mode):
    assert main(["arith", *mode, *argv]) == 2
    line = one_line(capsys.readouterr().err)
    assert named in line and "accepted: an integer >=" in line
