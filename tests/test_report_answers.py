"""The one-sentence answers and the facts behind them come from the rows, whatever they say."""

import math

import pandas as pd
import pytest

from mmabench.reporting import answers, facts, published
from mmabench.reporting.runs import Run
from mmabench.reporting.schema import check
from mmabench.reporting.sources import Results

GPU = "NVIDIA GeForce RTX 4090"


def _mma(form, acc, tflops, regs, lat, ilp=8):
    base = dict(gpu_name=GPU, sm_count=128, compute_capability="8.9", git_commit="c0ffee",
                timestamp="2026-01-02T03:04:05Z", shape=form.split(".")[0], ab_type="f16", acc=acc,
                form=form)
    return [dict(base, kind="throughput", status="ok", tflops=tflops, ilp=ilp, warps_per_block=4,
                 blocks_per_sm=1, registers=regs, sm_clock_mhz=2520.0, flop_per_clk_per_sm=1.0),
            dict(base, kind="throughput", status="ok", tflops=tflops / 2, ilp=1, warps_per_block=4,
                 blocks_per_sm=1, registers=regs - 10, sm_clock_mhz=2520.0),
            dict(base, kind="latency", status="ok", tflops=math.nan, latency_cycles=lat)]


def _attention(acc_o, tflops, seq, **kw):
    return dict(gpu_name=GPU, dim=128, seq=seq, causal=False, impl="mmabench", variant=f"v{acc_o}",
                acc_s="f32", acc_o=acc_o, norm="delayed", status="ok", tflops=tflops, **kw)


def _results(mma_rows, att_rows=(), num_rows=()):
    runs = [Run("mma", check(pd.DataFrame(mma_rows), "mma", "t"), {}, "t")]
    if att_rows:
        runs.append(Run("attention", check(pd.DataFrame(att_rows), "attention", "t"), {}, "t"))
    if num_rows:
        runs.append(Run("attention-numerics", check(pd.DataFrame(num_rows), "attention-numerics", "t"),
                        {}, "t"))
    return Results(runs)


@pytest.mark.parametrize("f16_rate, says", [(330.0, "2.00x"), (165.0, "1.00x"), (100.0, "0.61x")])
def test_instruction_clause_follows_the_rows(f16_rate, says):
    rows = _mma("m16n8k16.f16.acc_f16", "f16", f16_rate, 40, 33.0) + \
        _mma("m16n8k16.f16.acc_f32", "f32", 165.0, 56, 33.2)
    text = answers.answers(_results(rows), [])[0].sentence
    assert text.startswith("GeForce RTX 4090 (sm_89): f16 accumulation runs mma.sync m16n8k16 f16 at "
                           f"{says} the f32 rate")
    assert "same latency, 33 cycles" in text and "saves 16 registers per thread at ILP 8" in text
    assert text.count(".") >= 1 and text.endswith(".")


def test_different_latency_and_attention_range_with_error_and_overflow():
    rows = _mma("m16n8k16.f16.acc_f16", "f16", 330.0, 40, 20.0) + \
        _mma("m16n8k16.f16.acc_f32", "f32", 165.0, 56, 33.0)
    att = [_attention("f32", 100.0, 1024, median_ms=1.0, min_ms=0.99, max_ms=1.01),
           _attention("f16", 120.0, 1024, median_ms=1 / 1.2, min_ms=0.83, max_ms=0.84),
           _attention("f32", 100.0, 4096, median_ms=1.0, min_ms=0.9, max_ms=1.1),
           _attention("f16", 101.0, 4096, median_ms=1 / 1.01, min_ms=0.95, max_ms=1.05)]
    num = [dict(gpu_name=GPU, series="logits", point=p, scheme=s, rel_l2_err=e, nonfinite=n)
           for p, s, e, n in [("x1", "S=f32 O=f32 delayed", 1e-4, 0), ("x1", "S=f32 O=f16 delayed", 5e-4, 0),
                              ("x2", "S=f32 O=f32 delayed", 2e-4, 0), ("x2", "S=f32 O=f16 delayed", 0, 3)]]
    res = _results(rows, att, num)
    text = answers.answers(res, [])[0].sentence
    assert "latency 20 vs 33 cycles" in text
    assert "+1.0% to +20.0%" in text and "across 2 shapes" in text and "(1 within noise)" in text
    assert "at 5.0x the error of f32/f32" in text and "overflow from logits x2" in text
    cases = facts.attention_cases(res)
    assert cases[0].spread_from == "min/max of separate timings"
    assert cases[0].ratio_lo == pytest.approx(0.99 / 0.84) and cases[0].within_noise is False


def test_datasheet_only_gpus_get_a_labelled_answer_with_published_rows():
    rows = _mma("m16n8k16.f16.acc_f16", "f16", 330.0, 40, 33.0)
    pub = [{"gpu": "H100 SXM5", "level": "instruction", "form": "x", "acc": "f16", "metric": "tflops",
            "value": 1.0, "unit": "TFLOP/s", "citation": "Paper, Table 1", "from_chart": False}]
    out = {a.gpu: a for a in answers.answers(_results(rows), pub)}
    # the 4090 was measured (one form only): no datasheet-only line for it
    assert "GeForce RTX 4090" not in out and "no form ran with both accumulators" in out[GPU].sentence
    h100 = out["H100 SXM5"]
    assert "not measured here" in h100.sentence and "1.00x the f32 rate" in h100.sentence
    assert "1 published measurement" in h100.sentence
    assert [p.kind for p in h100.provenance] == ["datasheet", "published"]


def test_the_shipped_published_table_is_well_formed():
    """It ships with its columns (load refuses a missing one) and, so far, no row: no exact
    published table was found (data/published_sources.md)."""
    assert published.DATA.is_file(), f"{published.DATA} is missing"
    for row in published.load():
        assert row["citation"] and isinstance(row["value"], float)


def test_interleaved_comparison_rows_give_the_ratio_and_its_spread():
    """The measurement layer's rows: mma 'comparison' rows (ratio_f16_over_f32[_lo|_hi]) and
    attention rows with x_vs_f32f32[_lo|_hi|_within_noise]."""
    rows = _mma("m16n8k16.f16.acc_f16", "f16", 330.0, 40, 33.0) + \
        _mma("m16n8k16.f16.acc_f32", "f32", 165.0, 56, 33.0)
    rows.append(dict(gpu_name=GPU, form="m16n8k16.f16", kind="comparison", status="ok",
                     tflops=math.nan, ratio_f16_over_f32=1.004, ratio_f16_over_f32_lo=0.995,
                     ratio_f16_over_f32_hi=1.012))
    att = [_attention("f32", 100.0, 1024), _attention(
        "f16", 103.0, 1024, x_vs_f32f32=1.03, x_vs_f32f32_lo=1.01, x_vs_f32f32_hi=1.05,
        x_vs_f32f32_within_noise=False)]
    res = _results(rows, att)
    text = answers.answers(res, [])[0].sentence
    assert "at 1.00x the f32 rate (0.99-1.01 interleaved, within noise)" in text
    assert "gives +3.0% over the best f32/f32 one across 1 shape" in text
    case = facts.attention_cases(res)[0]
    assert (case.ratio_lo, case.ratio_hi, case.within_noise) == (1.01, 1.05, False)
    assert case.spread_from.startswith("interleaved")


def test_each_attention_kernel_is_compared_with_its_own_f32_f32():
    """The Hopper kernel's f16 rows are rated against the Hopper f32/f32, the FA2-class ones
    against theirs; a run with both gives two cases per shape and two clauses."""
    rows = [_attention("f32", 400.0, 4096), _attention("f16", 440.0, 4096),
            _attention("f32", 600.0, 4096, kernel="hopper"), _attention("f16", 720.0, 4096, kernel="hopper"),
            dict(gpu_name=GPU, dim=128, seq=4096, causal=False, impl="torch-sdpa",
                 variant="sdpa_cudnn_attention", status="ok", tflops=610.0)]
    cases = facts.attention_cases(_results(_mma("m16n8k16.f16.acc_f16", "f16", 300.0, 40, 30.0), rows))
    by_kernel = {c.kernel: c for c in cases}
    assert set(by_kernel) == {"fa2", "hopper"}
    assert by_kernel["fa2"].ratio == pytest.approx(1.1) and by_kernel["hopper"].ratio == pytest.approx(1.2)
    text = answers._attention_clause(cases, [])
    assert "+10.0% over the best f32/f32" in text and "Hopper kernel" in text and "+20.0%" in text
    assert "0.98-0.98x cuDNN" in text
