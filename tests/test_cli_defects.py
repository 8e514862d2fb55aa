"""User-facing defects of issue 8, found on a machine without a GPU: each test failed before its fix."""

from __future__ import annotations

import pytest

from mmabench import record
from mmabench.cli import main
from mmabench.compiler import report as creport
from mmabench.errors import UserError


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def unwritable(tmp_path):
    """A results path that cannot be created (its parent is a file: fails even for root)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    return blocker / "results"


# ---------------------------------------------------------------- 1. results root checked first

def test_results_root_is_created_and_probed(tmp_path, unwritable):
    assert record.results_root(tmp_path / "r" / "s") == tmp_path / "r" / "s"
    assert (tmp_path / "r" / "s").is_dir() and not list((tmp_path / "r" / "s").iterdir())
    with pytest.raises(UserError, match="cannot write results to .*a-file/results"):
        record.results_root(unwritable)
    with pytest.raises(UserError):
        record.RunFolder("mma", "gpu", unwritable)


@pytest.mark.parametrize("via_env", [False, True])
def test_unwritable_results_is_one_line_before_any_compile(monkeypatch, capsys, unwritable, via_env):
    def no_work(*a, **k):
        raise AssertionError("work started before the results folder was checked")

    monkeypatch.setattr(creport, "compile_builds", no_work)
    argv = ["regs", "--family", "demo", "--arch", "sm_80"]
    if via_env:
        monkeypatch.setenv("MMABENCH_RESULTS", str(unwritable))
    else:
        argv += ["--results", str(unwritable)]
    assert main(argv) == 2
    line = one_line(capsys.readouterr().err)
    assert str(unwritable) in line
    assert ("(from MMABENCH_RESULTS)" if via_env else "(from --results)") in line


@pytest.mark.parametrize("argv", [["mma"], ["attention"], ["attention", "--numerics"]])
def test_measuring_commands_check_the_results_folder_first(capsys, unwritable, argv):
    assert main(argv + ["--results", str(unwritable)]) == 2
    assert "cannot write results" in one_line(capsys.readouterr().err)
