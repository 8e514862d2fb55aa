"""scripts/hopper_attention_ncu.py without a GPU: its unit of the per-tile counts and its reading
of ncu's raw row into pipe-use columns."""

import math

import pytest
from conftest import load_script


@pytest.fixture(scope="module")
def script():
    return load_script("hopper_attention_ncu")


def test_warp_tiles_count_every_consumer_warp_and_kv_tile(script):
    from mmabench.attention import variants
    from mmabench.attention.variants import HopperTiles

    v = variants.hopper_variant(64, "f32", "f32", tiles=HopperTiles(3, 128, 4))
    # B=2, H=32, 8192/192 -> 43 query blocks, 3 consumer warpgroups of 4 warps, 64 key tiles
    assert script.warp_tiles(v, 8192) == 2 * 32 * math.ceil(8192 / 192) * 3 * 4 * 64


def test_opcodes_are_grouped_by_base_and_pipes_read_from_the_raw_row(script):
    from mmabench.attention import variants

    v = variants.hopper_variant(64, "f16p", "f16")
    trips = script.warp_tiles(v, 8192)
    rows = script.opcode_rows({"HGMMA.64x128x16.F16": 8 * trips, "MUFU.EX2.F16": 32 * trips,
                               "MUFU.EX2": 2 * trips, "IMAD": trips}, v, 8192)
    g = script._grouped(rows)
    assert g["HGMMA"] == 8 and g["MUFU"] == 34 and g["all"] == 43 and g["FFMA"] == 0
    raw = {"sm__inst_executed_pipe_xu.avg.pct_of_peak_sustained_active": "61.5",
           "sm__inst_executed_pipe_fma.avg.pct_of_peak_sustained_active": "1,2.5",
           "gpu__time_duration.sum": "80.5", "smsp__average_warps_issue_stalled_wait_per_issue_active.ratio": "1.9"}
    row = script.condensed(raw, v, "none", {"gpu__time_duration.sum": "us"})
    assert row["pipe_xu_pct"] == 61.5 and row["pipe_fma_pct"] == 12.5
    assert row["duration_us"] == 80.5 and row["top_stalls"] == "wait 1.90"


def test_an_exported_profile_is_read_back_from_the_report(script, monkeypatch):
    """With --export, ncu may print no metrics: the raw page is read back with --import."""
    import subprocess
    import ncu_common

    calls = []

    def fake_run(cmd, capture_output, text):
        calls.append(cmd)
        out = '"ID","Kernel Name"\n"",""\n"0","hopper_d64"\n' if "--import" in cmd else "==PROF== done\n"
        return subprocess.CompletedProcess(cmd, 0, out, "")

    monkeypatch.setattr(ncu_common.subprocess, "run", fake_run)
    text = ncu_common.profile("ncu", ["python", "child.py"], "regex:^hopper_d", ("SpeedOfLight",),
                              "none", [], export="/tmp/x/hopper")
    assert [r["Kernel Name"] for r in ncu_common.parse_raw(text)] == ["hopper_d64"]
    assert calls[1] == ["ncu", "--import", "/tmp/x/hopper.ncu-rep", "--csv", "--page", "raw"]


def test_hopper_attention_rows_meet_the_hopper_numerics():
    from mmabench.reporting.facts import scheme_of

    row = {"acc_s": "f16p", "acc_o": "f16", "norm": "delayed"}
    assert scheme_of(dict(row, kernel="hopper")) == "hopper S=f16p O=f16 delayed"
    assert scheme_of(row) == "S=f16p O=f16 delayed"          # rows from before the column: FA2
