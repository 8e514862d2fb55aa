"""`python -m mmabench regs`: tables, --diff acc, results files, one-line errors."""

import json

import pytest

from mmabench import hardware
from mmabench.cli import main
from mmabench.compiler.crosscheck import compare


@pytest.fixture(autouse=True)
def _cache(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path_factory.mktemp("cli-cache")))


def test_regs_table_and_results_files(capsys, tmp_path):
    rc = main(["regs", "--family", "mma,demo", "--arch", "sm_80,sm_90", "--results", str(tmp_path),
               "--keep-code"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "HMMA.16816.F16 x68" in out and "HMMA.16816.F32 x68" in out
    assert "demo.spill.cap32" in out and "occupancy" in out
    (folder,) = list(tmp_path.iterdir())
    rows = json.loads((folder / "regs.json").read_text())
    assert len(rows) == 12 * 2
    assert all(isinstance(r["sass_histogram"], dict) for r in rows)
    assert (folder / "regs.csv").read_text().startswith("kernel,")
    index = (folder / "code" / "index.csv").read_text().splitlines()
    for kind, needle in (("ptx", ".entry"), ("ptxas", "registers"), ("sass", "FFMA")):
        (line,) = [x for x in index if x.startswith(f"demo.spill.cap32.sm_90,{kind},")]
        assert needle in (folder / "code" / line.split(",")[2]).read_text()
    assert json.loads((folder / "context.json").read_text())["gpu_name"] == "offline"


def test_diff_acc_table_names_each_twin_once_and_fits_120_columns():
    from mmabench.compiler.cli import diff_table

    row = dict(kernel="attn_d256_sf16q_of16f32_delayed_w8m1c64", twin="attn_d256_sf32_of32_delayed_w8m1c64",
               status="ok", regs_f16=255, regs_f32=255, regs_delta=0, spill_store_bytes_f16=1424,
               spill_load_bytes_f16=1240, spill_store_bytes_f32=1424, spill_load_bytes_f32=1240,
               warps_per_sm_f16=8, warps_per_sm_f32=8, occupancy_f16=0.125, occupancy_f32=0.125)
    text = diff_table([dict(row, arch=a) for a in ("sm_80", "sm_90", "sm_100", "sm_120")])
    assert max(map(len, text.splitlines())) <= 120 and "1424/1240" in text
    assert text.count(row["twin"]) == 1 and f"{row['kernel']} vs {row['twin']}" in text


def test_diff_acc_table(capsys, tmp_path):
    rc = main(["regs", "--kernel", "mma.m16n8k16.f16.acc_f16.*", "--diff", "acc", "--arch", "sm_86",
               "--markdown", "--results", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "| mma.m16n8k16.f16.acc_f16.thr | sm_86 |" in out and "| Δregs |" in out
    assert "mma.m16n8k16.f16.acc_f16.thr vs mma.m16n8k16.f16.acc_f32.thr" in out   # its twin, once
    assert out.count("acc_f32.thr") == 1
    (folder,) = list(tmp_path.iterdir())
    diffs = json.loads((folder / "regs_diff_acc.json").read_text())
    assert {d["kernel"] for d in diffs} == {"mma.m16n8k16.f16.acc_f16.lat",
                                            "mma.m16n8k16.f16.acc_f16.thr"}


@pytest.mark.parametrize("argv, needle", [
    (["regs", "--arch", "sm_70"], "unknown architecture 'sm_70'; accepted: sm_80"),
    (["regs", "--kernel", "nope"], "unknown kernel 'nope'; accepted:"),
    (["regs", "--family", "nope"], "unknown family 'nope'; accepted: mma"),
    (["regs", "--jobs", "0"], "bad --jobs"),
    (["regs", "--family", "demo", "--diff", "acc", "--no-save"], "no f16-accumulate kernel"),
])
def test_bad_input_is_one_line(capsys, argv, needle):
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_crosscheck_without_gpu_is_one_line(capsys):
    if not hardware.unavailable_reason():
        pytest.skip("a GPU is present: tests/test_compiler_gpu.py covers the cross-check")
    rc = main(["regs", "--crosscheck"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "GPU" in err


def test_crosscheck_comparison_logic():
    row = {"kernel": "k", "arch": "sm_90", "target": "sm_90", "regs": 32, "stack_frame_bytes": 176,
           "static_smem_bytes": 0, "blocks_per_sm": 16}
    same = {"num_regs": 32, "local_size_bytes": 176, "shared_size_bytes": 0, "blocks_per_sm": 16}
    assert compare(row, same)["status"] == "ok"
    off = compare(row, dict(same, num_regs=40, local_size_bytes=0))
    assert off["status"] == "mismatch"
    assert "regs 32 offline vs 40 driver" in off["message"] and "local_bytes" in off["message"]
