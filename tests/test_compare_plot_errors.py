"""`compare` and `plot` on files a new user might hand them: one-line errors, never a traceback,
and never a plot or a table made of text that should have been numbers (issue 8)."""

import re

import pandas as pd
import pytest

from mmabench.cli import main


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("mmabench: ") and "\n" not in err and "Traceback" not in err
    return err


def _mma_rows(tflops):
    return [{"kind": "throughput", "status": "ok", "form": f, "tflops": t, "gpu_name": "G",
             "sm_count": 132, "ilp": 1, "warps_per_sm": w}
            for f, t in zip(("m16n8k16.f16.acc_f16", "m16n8k16.f16.acc_f32"), tflops) for w in (1, 8)]


@pytest.fixture
def empty_csv(tmp_path):
    path = tmp_path / "mma.csv"
    path.write_bytes(b"")
    return path


@pytest.fixture
def latin1_csv(tmp_path):
    path = tmp_path / "mma.csv"
    path.write_bytes("form,tflops\nm16n8k16 \xe9t\xe9,1\n".encode("latin-1") + b"\xff\xfe\x00")
    return path


@pytest.mark.parametrize("command", ["plot", "compare"])
@pytest.mark.parametrize("fixture", ["empty_csv", "latin1_csv"])
def test_empty_or_non_utf8_file_is_one_line(command, fixture, request, capsys):
    path = request.getfixturevalue(fixture)
    assert main([command, str(path)]) == 2
    err = _one_line_error(capsys)
    assert str(path) in err and ("empty" in err or "UTF-8" in err)


def test_plot_to_a_path_that_cannot_be_written_is_one_line(tmp_path, capsys):
    csv = tmp_path / "mma.csv"
    pd.DataFrame(_mma_rows([600.0, 300.0])).to_csv(csv, index=False)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for target in (blocker / "out.png", tmp_path / "no-such-folder" / "out.png", tmp_path):
        assert main(["plot", str(csv), "-o", str(target)]) == 2
        assert "cannot write" in _one_line_error(capsys)
    assert not (tmp_path / "no-such-folder").exists()


def test_compare_accepts_a_csv_holding_exactly_the_columns_its_error_asks_for(tmp_path, capsys):
    bad = tmp_path / "bad" / "mma.csv"
    bad.parent.mkdir()
    pd.DataFrame([{"a": 1}]).to_csv(bad, index=False)
    assert main(["compare", str(bad)]) == 2
    err = _one_line_error(capsys)
    asked = re.search(r"\((?:columns|needs) ([^)]*)\)", err)
    assert asked, err
    columns = [c.strip() for c in asked.group(1).split(",")]
    values = {"kind": "throughput", "status": "ok", "form": "m16n8k16.f16.acc_f16",
              "tflops": 600.0, "gpu_name": "NVIDIA H100 80GB HBM3"}
    good = tmp_path / "good" / "mma.csv"
    good.parent.mkdir()
    pd.DataFrame([{c: values.get(c, 1) for c in columns}]).to_csv(good, index=False)
    assert main(["compare", str(good)]) == 0
    out = capsys.readouterr().out
    assert "m16n8k16.f16 " in out and "600.0" in out


@pytest.mark.parametrize("command", ["compare", "plot"])
def test_non_numeric_tflops_is_refused_not_compared_as_text(tmp_path, command, capsys):
    csv = tmp_path / "mma.csv"
    pd.DataFrame(_mma_rows(["fast", "slow"])).to_csv(csv, index=False)
    assert main([command, str(csv)]) == 2
    err = _one_line_error(capsys)
    assert "tflops" in err and "not a number" in err
    assert not csv.with_suffix(".png").exists()
