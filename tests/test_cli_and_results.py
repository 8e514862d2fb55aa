"""The CLI's contract (help, one-line errors, the no-GPU path) and the result files."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from mmabench import record, hardware
from mmabench.cli import main
from mmabench.mma import suite

NO_GPU = hardware.unavailable_reason() is not None


def run_cli(*argv, timeout=120):
    return subprocess.run([sys.executable, "-m", "mmabench", *argv], capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("argv", [[], ["mma"], ["info"]])
def test_help_everywhere(argv):
    proc = run_cli(*argv, "--help")
    assert proc.returncode == 0 and "usage:" in proc.stdout


@pytest.mark.parametrize("argv, accepted", [
    (["mma", "--shape", "m8n8k4"], "m16n8k16, m16n8k8"),
    (["mma", "--acc", "f64"], "f16, f32"),
    (["mma", "--type", "tf32"], "bf16, f16"),
    (["mma", "--offline", "--arch", "sm_70"], "sm_80"),
    (["mma", "--ilp", "99"], "1..16"),
])
def test_bad_input_is_one_line_naming_what_is_accepted(argv, accepted, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err and accepted in err


@pytest.mark.skipif(not NO_GPU, reason="checks the no-GPU path")
def test_no_gpu_says_so_in_one_line_then_runs_the_offline_parts():
    proc = run_cli(timeout=600)
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith("no GPU: ") and "offline" in first
    assert "Traceback" not in proc.stderr
    measured = run_cli("mma")
    assert measured.returncode == 2 and measured.stderr.count("\n") == 1
    assert "needs a CUDA GPU" in measured.stderr and "--offline" in measured.stderr


def test_offline_mma_prints_a_table_of_sass_checks():
    proc = run_cli("mma", "--offline", "--arch", "sm_90", "--acc", "f16")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(" ok ") == 2 and "HMMA.16816.F16" in proc.stdout


def test_run_folder_keeps_rows_as_they_come(tmp_path):
    folder = record.RunFolder("mma", "Some GPU 80GB", tmp_path)
    folder.add({"form": "x", "tflops": 1.5})
    # an interrupted run: the first row is on disk before the second is measured
    assert len(pd.read_csv(folder.path / "mma.csv")) == 1
    folder.add({"form": "y", "tflops": 2.5, "extra": "z"})
    assert list(pd.read_csv(folder.path / "mma.csv")["form"]) == ["x", "y"]
    assert json.loads((folder.path / "mma.json").read_text())[1]["extra"] == "z"
    assert folder.path.name.endswith("_mma_some-gpu-80gb")


def test_run_folder_keeps_the_gpu_state_from_nvml_and_nothing_without_it(tmp_path, fake_nvml):
    import pynvml

    def missing():
        raise pynvml.NVMLError_LibraryNotFound()
    fake_nvml(nvmlInit=missing)
    folder = record.RunFolder("mma", "Some GPU", tmp_path)
    folder.save_gpu_state("before")
    assert not list(folder.path.glob("*.txt"))
    fake_nvml(nvmlDeviceGetHandleByIndex=lambda i: "h", nvmlSystemGetDriverVersion=lambda: "580.65.06",
              nvmlDeviceGetPowerUsage=lambda h: 650_000)
    folder.save_gpu_state("after")
    text = (folder.path / "nvml-after.txt").read_text()
    assert "580.65.06" in text and "650.00 W" in text and "Clock event reasons" in text


def test_run_folder_writes_frames_documents_and_figures(tmp_path):
    folder = record.RunFolder("arith", "offline", tmp_path)
    frame = pd.DataFrame([{"k": 1, "v": 1 / 3}, {"k": 2, "v": float("nan")}])
    csv = folder.save_frame("table", frame)
    assert csv == folder.path / "table.csv"
    assert pd.read_csv(csv)["v"].iloc[0] == 1 / 3                  # the CSV keeps every digit
    assert json.loads((folder.path / "table.json").read_text()) == [{"k": 1, "v": 0.333333},
                                                                    {"k": 2, "v": None}]
    folder.save_frame("only_csv", frame, with_json=False)
    assert not (folder.path / "only_csv.json").exists()
    doc = folder.save_json("sub/doc.json", {"path": tmp_path, "n": [1, 2]})
    assert json.loads(doc.read_text()) == {"path": str(tmp_path), "n": [1, 2]}
    folder.save_context({"gpu_name": "offline"})
    assert json.loads((folder.path / "context.json").read_text()) == {"gpu_name": "offline"}
    plt = pytest.importorskip("matplotlib.pyplot")
    fig = plt.figure()
    png = folder.save_figure("plot.png", fig)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and not plt.fignum_exists(fig.number)


def test_output_files_are_checked_once_before_any_work(tmp_path):
    from mmabench.core.errors import UserError
    from mmabench.record.output import check_writable, write_text

    new = tmp_path / "report.html"
    assert check_writable(new) == new and not new.exists()           # the probe leaves nothing
    kept = write_text(tmp_path / "old.txt", "kept")
    assert check_writable(kept) == kept and kept.read_text() == "kept"
    for target, why in ((tmp_path, "it is a folder"), (tmp_path / "no" / "x.gz", "does not exist"),
                        (kept / "x.png", "does not exist")):
        with pytest.raises(UserError, match=f"cannot write {target}: .*{why}"):
            check_writable(target)
    with pytest.raises(UserError, match="cannot write"):
        write_text(tmp_path / "no" / "x.txt", "text")


def _row(form, tflops, **kw):
    return {"kind": "throughput", "status": "ok", "form": form, "tflops": tflops,
            "warps_per_block": 4, "ilp": 4, "blocks_per_sm": 1, "flop_per_clk_per_sm": 1.0,
            "pct_of_peak": None, "sm_clock_mhz": 1000.0, **kw}


def test_saturating_point_is_the_best_row_of_each_form_and_the_ratio_is_printed():
    rows = [_row("m16n8k16.f16.acc_f16", 10.0), _row("m16n8k16.f16.acc_f16", 30.0, ilp=8),
            _row("m16n8k16.f16.acc_f32", 15.0),
            {"kind": "latency", "status": "ok", "form": "m16n8k16.f16.acc_f16", "latency_cycles": 20.0},
            {"kind": "throughput", "status": "error", "form": "m16n8k16.f16.acc_f32",
             "error": "result off", "warps_per_block": 1, "ilp": 1, "blocks_per_sm": 1}]
    record.mark_saturating(rows)
    assert [r.get("saturating") for r in rows[:3]] == [False, True, True]
    text = suite.summary(rows)
    assert "4w x 8 ILP x 1 blk/SM" in text and "error:" in text and "best-of-N" in text
    assert "f16/f32" not in text     # no ratio is made from two best-of-sweep figures
    rows.append({"kind": "comparison", "status": "ok", "form": "m16n8k16.f16", "warps_per_block": 4,
                 "ilp": 4, "blocks_per_sm": 1, "f16_tflops": 30.0, "f32_tflops": 30.1,
                 "comparison": "1.00x (0.99-1.01), within noise"})
    text = suite.summary(rows)     # a row read back from an older CSV: only the described ratio
    assert "f16/f32" in text and "1.00x (0.99-1.01)~" in text and "within noise" in text
    rows[-1].update(ratio_f16_over_f32=1.031, ratio_f16_over_f32_lo=1.02, ratio_f16_over_f32_hi=1.04,
                    f16_sm_clock_mhz=1755.0, f16_power_w=731.0, f16_throttled=True,
                    f16_throttle="sw_power_cap", f32_sm_clock_mhz=1650.0, f32_power_w=790.0,
                    f32_power_above_limit=True, f32_throttled=True)
    text = suite.summary(rows)
    assert "1.03x (1.02-1.04)" in text and "1,755/731!" in text and "1,650/790?!" in text
    assert "'!' throttled (sw_power_cap)" in text and max(map(len, text.splitlines())) <= 120


def test_datasheet_rows_match_by_name_and_sm_count():
    h100 = hardware.datasheet_row("NVIDIA H100 80GB HBM3", 132)
    assert h100 and h100["key"].startswith("h100")
    assert hardware.datasheet_row("NVIDIA H100 80GB HBM3", 114) is None
    assert hardware.datasheet_row("Some Future GPU", 99) is None
    assert hardware.peak_tflops(None, "f16", "f16") is None
    table = hardware.datasheet_table()
    assert table["source"].notna().all() and (table["source"].str.len() > 10).all()
    assert table["key"].is_unique


def test_info_says_a_datasheet_gap_is_not_stated_rather_than_nan():
    from mmabench.info import _stated

    h200 = hardware.datasheet_row("NVIDIA H200", 132)     # its datasheet gives no boost clock
    assert h200 is not None and h200["boost_mhz"] != h200["boost_mhz"]
    assert _stated(h200["boost_mhz"], "MHz") == "not stated"
    assert _stated(h200["fp16_f32acc_dense_tflops"]) == "989.5"
    assert _stated(1755, "MHz") == "1755 MHz"


def test_compare_puts_measured_and_datasheet_rows_apart(tmp_path, capsys):
    rows = [dict(_row("m16n8k16.f16.acc_f16", 600.0), gpu_name="NVIDIA H100 80GB HBM3", sm_count=132),
            dict(_row("m16n8k16.f16.acc_f32", 300.0), gpu_name="NVIDIA H100 80GB HBM3", sm_count=132)]
    pd.DataFrame(rows).to_csv(tmp_path / "mma.csv", index=False)
    assert main(["compare", str(tmp_path)]) == 0
    measured, datasheet = capsys.readouterr().out.split("\n\n")
    assert "2.00x" in measured and "NVIDIA H100 80GB HBM3" in measured
    assert "H100 SXM5" not in datasheet and "GeForce RTX 4090" in datasheet
    (tmp_path / "bad").mkdir()
    pd.DataFrame([{"a": 1}]).to_csv(tmp_path / "bad" / "mma.csv", index=False)
    assert main(["compare", str(tmp_path / "bad" / "mma.csv")]) == 2


def _attention_row(variant, acc_s, acc_o, tflops, impl="mmabench", **extra):
    return dict(dict(gpu_name="NVIDIA H100 80GB HBM3", dim=128, seq=4096, causal=False, impl=impl,
                     variant=variant, acc_s=acc_s, acc_o=acc_o, norm="delayed", tflops=tflops,
                     status="ok"), **extra)


def test_compare_summarises_attention_against_flash_and_f32(tmp_path, capsys):
    rows = [_attention_row("a", "f32", "f32", 400.0), _attention_row("b", "f32", "f32", 380.0),
            _attention_row("c", "f32", "f16", 440.0), _attention_row("d", "f16", "f16", 900.0,
                                                                     status="wrong"),
            _attention_row("sdpa_flash_attention", "", "", 320.0, impl="torch-sdpa"),
            _attention_row("sdpa_cudnn_attention", "", "", 640.0, impl="torch-sdpa")]
    pd.DataFrame(rows).to_csv(tmp_path / "attention.csv", index=False)
    assert main(["compare", str(tmp_path / "attention.csv")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    first = next(l for l in lines if l.startswith("128 ")).split()
    # cuDNN, FLASH, f32/f32 delayed (the first, 400) = 1.25x FLASH, from two medians (no
    # interleaved range in these rows); a wrong (unchecked) row never wins: 440 / 400 = 1.10x
    assert first == ["128", "4096", "full", "640.0", "320.0", "400.0", "1.25x", "1.10x"]
    assert any(l.startswith("A = ") and "burst regime" in l for l in lines)
    assert main(["compare", str(tmp_path / "nothing-here")]) == 2


def test_plot_writes_a_png_and_rejects_other_files(tmp_path):
    rows = [dict(_row("m16n8k16.f16.acc_f16", t, ilp=i, warps_per_sm=w), gpu_name="G",
                 peak_at_measured_clock_tflops=1000.0)
            for i, t0 in ((1, 100.0), (4, 400.0)) for w, t in ((1, t0), (8, t0 * 1.5))]
    csv = tmp_path / "mma.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    assert main(["plot", str(csv)]) == 0
    png = csv.with_suffix(".png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    pd.DataFrame([{"a": 1}]).to_csv(tmp_path / "other.csv", index=False)
    assert main(["plot", str(tmp_path / "other.csv")]) == 2
