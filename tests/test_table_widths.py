"""Every default table fits 120 columns on real rows (H200 runs in tests/data/h200, the shipped H100
results), with the widest cells they can hold (power above the limit and throttled, long errors),
and drawing a table leaves the rows as they were: the CSV keeps every column."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pandas as pd
import pytest

from mmabench.reporting import tables

HERE = Path(__file__).parent
H200 = HERE / "data" / "h200"
H100 = HERE.parent / "data" / "results" / "h100-sxm5"


def _rows(path: Path) -> list[dict]:
    return pd.read_csv(path).to_dict("records")


def _worst_case(rows: list[dict], prefixes=("",)) -> list[dict]:
    """The rows with every clock/power flag raised: the widest 'MHz/W' cells."""
    return [dict(r, **{p + k: True for p in prefixes for k in ("throttled", "power_above_limit")},
                 **{p + "throttle": "sw_power_cap" for p in prefixes}) for r in rows]


def _drawn(summary, rows: list[dict]) -> str:
    """The summary's text, checked to fit 120 columns and to leave its rows unchanged."""
    before = copy.deepcopy(rows)
    text = summary(rows)
    assert max(map(len, text.splitlines())) <= tables.WIDTH, text
    assert rows == before or pd.DataFrame(rows).equals(pd.DataFrame(before))
    return text


@pytest.mark.parametrize("csv", ["attention-d64-sustained.csv.gz", "attention-d128-sustained.csv.gz"])
def test_attention_summary_of_h200_rows_fits_and_keeps_every_figure(csv):
    from mmabench.attention.tables import summary

    rows = _rows(H200 / csv)
    text = _drawn(summary, rows)
    assert "sustained regime" in text and "timing: sustained" in text
    assert "'!' throttled (sw_power_cap)" in text and "resources and accuracy" in text
    lines = [line for line in text.splitlines() if line.strip()]
    assert not any(line.split()[0].endswith("@f32tiles") for line in lines)   # '@f32' marks them
    assert sum(bool(re.search(r"\)~?= ", line)) for line in lines) == 3
    base = next(r for r in rows if str(r["variant"]).endswith("r@f32tiles"))
    line = next(x for x in text.splitlines() if f"{base['tflops']:.1f}" in x)
    assert f"{base['x_vs_f32f32_same_tiles']:.2f}x (" in line and line.split()[0] == (
        f"s{base['acc_s']}_o{base['acc_o']}_{base['norm']}@f32")


def test_attention_summary_with_flags_raised_and_an_error_row_fits():
    from mmabench.attention.tables import summary

    rows = _worst_case(_rows(H200 / "attention-d64-sustained.csv.gz"))
    rows[3] = dict(rows[3], status="error", error="CUDA_ERROR_ILLEGAL_ADDRESS: " + "x" * 200,
                   local_bytes=424, nonfinite_all=12)
    text = _drawn(summary, rows)
    assert "1,785/777?!" in text and "CUDA_ERROR_ILLEGAL_ADDRESS" in text
    assert any(line.split()[-5:-3] == ["424", "2"] and line.endswith(" 12") for line in text.splitlines())


def test_attention_overview_fits_for_one_and_for_several_gpus():
    from mmabench.attention.overview import overview

    h100 = _worst_case(_rows(H100 / "attention" / "attention.csv"))
    h200 = _rows(H200 / "attention-d64-sustained.csv.gz")
    text = _drawn(overview, h100)
    assert "fastest f16 (of 4)" in text and "sf32_of16_delayed" in text
    both = _drawn(overview, h100 + h200)
    assert "NVIDIA H200:" in both and both.count("fastest f16 (of 4)") == 2


def test_gemm_summary_fits_with_every_cell_at_its_widest():
    from mmabench.gemm.bench import summary

    rows = _worst_case(_rows(H100 / "gemm" / "gemm.csv"))
    for r in rows:
        if r["impl"] == "triton":
            r["ptx_wgmma"] = f"wgmma m64n256k16.{r['acc']}.f16.f16"     # as the H200 run printed it
    rows[2]["spill_bytes"] = 96
    # the longest names this run prints: a Triton configuration and cuBLASLt's FP8 fast accumulation
    rows += [dict(rows[-1], impl="triton-nn 128x256x64 w8 s3", key="triton-nn.128x256x64.w8s3.f32",
                  ptx_wgmma="wgmma m64n256k16.f32.f16.f16", registers=224),
             dict(rows[-1], impl="cublasLt fp8 fast-accum", key="cublaslt.fp8.fast"),
             dict(rows[-1], impl="tma fp8 256-row persistent", key="tma.e4m3.256x256.f16",
                  tensor_op="QGMMA.64x256x32.F16.E4M3.E4M3 x24", registers=168)]
    text = _drawn(summary, rows)
    assert "wgmma m64n256k16.f32 " in text and ".f32.f16.f16" not in text     # inputs are fp16 here
    assert "QGMMA.64x256x32.F16 x24" in text
    assert "f32 rpr" in text and "spills 96 B" in text
    assert "1.10x (1.00-1.10)" in text and "?!" in text


@pytest.mark.parametrize("path", [H200 / "mma.csv.gz", H100 / "mma" / "mma.csv"])
def test_mma_summary_fits(path):
    from mmabench.mma.suite import summary

    text = _drawn(summary, _worst_case(_rows(path), ("", "f16_", "f32_")))
    assert "f16/f32" in text and "MHz/W f16" in text and "?!" in text


def test_wgmma_summary_fits():
    from mmabench.wgmma.suite import summary

    text = _drawn(summary, _worst_case(_rows(H100 / "wgmma" / "wgmma.csv"), ("", "f16_", "f32_")))
    assert "f16 speed-up" in text and "90 / 154" in text and "1x2x4" in text


def test_numerics_tables_fit():
    from mmabench.attention import numerics

    rows = _rows(H100 / "attention-numerics" / "attention-numerics.csv")
    text = _drawn(lambda rs: numerics.table(rs) + "\n" + numerics.limits(rs), rows)
    assert "N=65536 V~16" in text and "qk x48 (max|q.k| 1.5e+05)" in text


def test_crosscheck_table_fits_and_names_a_mismatch_under_it():
    from mmabench.compiler.crosscheck import crosscheck_table

    ok = dict(kernel="wgmma.m64n256k32.e4m3.acc_f32.ss.sw128.thr", arch="sm_90a", status="ok",
              regs_offline=154, regs_driver=154, local_bytes_offline=0, local_bytes_driver=0,
              static_smem_offline=98304, static_smem_driver=98304, blocks_per_sm_offline=12,
              blocks_per_sm_driver=12, jit_regs=154, jit_local_bytes=0)
    bad = dict(ok, status="mismatch", regs_driver=168, message="regs: ptxas 154, driver 168 " * 5)
    text = _drawn(crosscheck_table, [ok, bad, dict(kernel="demo.spill.cap32", arch="sm_90",
                                                   message="offline build failed: " + "y" * 150)])
    assert "154/168" in text and "MISMATCH" in text and "offline build failed" in text


def test_selfcheck_table_fits_with_the_longest_variant_names():
    from mmabench.attention import variants
    from mmabench.attention.selfcheck import correctness_table

    names = sorted((v.name for v in variants.all_variants()), key=len)[-3:]
    rows = [dict(variant=n, seq=16384, causal=True, status="ok", err_vs_yardstick=12.34,
                 max_abs_err=1.2e-3, nonfinite_all=1024) for n in names]
    text = _drawn(correctness_table, rows)
    assert all(n in text for n in names) and "N=16384 causal" in text
