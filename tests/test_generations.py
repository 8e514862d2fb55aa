"""GPUs side by side (compare, report): one column group per GPU and regime, never merged."""

import subprocess
import sys

import pandas as pd

from mmabench.reporting import generations, sources, tables


def _comparison(gpu, regime, form, f16, f32, commit="c1"):
    row = {"kind": "comparison", "status": "ok", "gpu_name": gpu, "form": form,
           "f16_tflops": f16, "f32_tflops": f32, "ratio_f16_over_f32": f16 / f32,
           "ratio_f16_over_f32_lo": f16 / f32 - 0.01, "ratio_f16_over_f32_hi": f16 / f32 + 0.01,
           "git_commit": commit, "timestamp": "2026-12-04T10:00:00Z"}
    if regime:
        row["regime"] = regime
    return row


def test_each_gpu_and_regime_is_its_own_group_and_old_rows_read_as_burst():
    frame = pd.DataFrame([
        _comparison("NVIDIA H100 80GB HBM3", None, "m16n8k16.f16", 656.0, 655.0, "old"),
        _comparison("NVIDIA H200", "sustained", "m16n8k16.f16", 640.0, 630.0, "new"),
        _comparison("NVIDIA H200", "burst", "m16n8k16.f16", 650.0, 649.0, "new"),
    ])
    side = generations.instructions({"mma": frame})
    assert [h for h in side.headers if h.endswith("f16 acc")] == ["A f16 acc", "B f16 acc",
                                                                "C f16 acc"]
    legend = "\n".join(side.legend)
    assert "A = H100 SXM5 (NVIDIA H100 80GB HBM3), burst regime (rows from before" in legend
    assert "B = H200 SXM (NVIDIA H200), burst regime, at new" in legend
    assert "C = H200 SXM (NVIDIA H200), sustained regime, at new" in legend
    assert side.rows == [["m16n8k16.f16", "656.0", "655.0", "1.00x (0.99-1.01)~",
                          "650.0", "649.0", "1.00x (0.99-1.01)~", "640.0", "630.0",
                          "1.02x (1.01-1.03)"]]
    assert len(side.row_records[0]) == 3


def test_a_later_run_of_the_same_group_stands():
    older = _comparison("NVIDIA H200", "sustained", "m16n8k16.f16", 600.0, 600.0)
    newer = dict(_comparison("NVIDIA H200", "sustained", "m16n8k16.f16", 640.0, 630.0),
                 timestamp="2026-12-05T10:00:00Z")
    side = generations.instructions({"mma": pd.DataFrame([newer, older])})
    assert side.rows[0][1:3] == ["640.0", "630.0"]


def test_many_groups_split_into_parts_of_whole_groups_that_fit_120_columns():
    rows = [_comparison(f"GPU number {i}", "sustained", "m16n8k16.f16", 600.0 + i, 600.0)
            for i in range(6)]
    text = generations.instructions({"mma": pd.DataFrame(rows)}).text()
    assert max(map(len, text.splitlines())) <= tables.WIDTH
    for part in text.split("\n\n"):
        heads = [h for h in part.splitlines() if h.startswith("form")]
        for head in heads:    # a group's three columns stay together
            letters = [w for w in head.split() if len(w) == 1]
            assert all(letters.count(x) == 3 for x in letters)


def test_compare_sets_the_shipped_h100_and_h200_side_by_side():
    proc = subprocess.run([sys.executable, "-m", "mmabench", "compare"], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for title in ("Instruction forms, GPUs side by side", "GEMM, GPUs side by side",
                  "Attention forward, GPUs side by side"):
        assert title in out
    assert "H100 SXM5 (NVIDIA H100 80GB HBM3), burst regime" in out
    assert "H200 SXM (NVIDIA H200), sustained regime" in out
    assert max(map(len, out.splitlines())) <= tables.WIDTH


def test_the_report_has_the_side_by_side_section_with_each_rows_sources():
    from mmabench.reporting import document

    doc = document.build(sources.load(None), [])
    section = next(s for s in doc.sections if s.key == "generations")
    assert {t.title for t in section.blocks} >= {"Instruction forms, GPUs side by side",
                                                "Attention forward, GPUs side by side"}
    for t in section.blocks:
        assert len(t.sources) == len(t.rows)
        assert all(s.kind == "measured" for s in t.sources)


def test_an_attention_case_never_mixes_regimes_and_the_answer_takes_the_sustained_one():
    from mmabench.reporting import answers, facts
    from mmabench.reporting.runs import Run

    def row(regime, acc_o, tflops):
        return {"gpu_name": "NVIDIA H200", "dim": 64, "seq": 4096, "causal": False,
                "status": "ok", "impl": "mmabench", "variant": f"v_{acc_o}", "acc_s": "f32",
                "acc_o": acc_o, "norm": "delayed", "tflops": tflops, "regime": regime,
                "x_vs_f32f32": 1.1 if acc_o == "f16" else None}

    frame = pd.DataFrame([row("burst", "f32", 346.0), row("burst", "f16", 380.0),
                          row("sustained", "f32", 305.0), row("sustained", "f16", 330.0)])
    results = sources.Results([Run("attention", frame)])
    cases = facts.attention_cases(results)
    assert sorted((c.regime, c.base["tflops"], c.low["tflops"]) for c in cases) == [
        ("burst", 346.0, 380.0), ("sustained", 305.0, 330.0)]
    assert [c.regime for c in answers._headline_cases(cases)] == ["sustained"]


def _sweep(gpu, form, tflops, regime=None):
    row = {"kind": "throughput", "status": "ok", "gpu_name": gpu, "form": form, "tflops": tflops,
           "git_commit": "c", "timestamp": "2026-11-25T10:00:00Z"}
    if regime:
        row["regime"] = regime
    return row


def test_a_gpu_with_sweep_rows_only_keeps_its_figures_beside_one_with_twins():
    frame = pd.DataFrame([
        _comparison("NVIDIA H200", "sustained", "m16n8k16.f16", 640.0, 630.0),
        _sweep("NVIDIA H100 80GB HBM3", "m16n8k16.f16.acc_f16", 650.0),
        _sweep("NVIDIA H100 80GB HBM3", "m16n8k16.f16.acc_f32", 600.0)])
    side = generations.instructions({"mma": frame})
    assert side.rows[0][1:4] == ["650.0", "600.0", "1.08x"], side.rows    # H100 first, sorted


def test_sweep_rows_of_another_regime_of_the_same_gpu_are_a_group_of_their_own():
    frame = pd.DataFrame([
        _comparison("NVIDIA H200", "sustained", "m16n8k16.f16", 640.0, 630.0),
        _sweep("NVIDIA H200", "m16n8k16.f16.acc_f16", 650.0),
        _sweep("NVIDIA H200", "m16n8k16.f16.acc_f32", 600.0)])
    side = generations.instructions({"mma": frame})
    assert len(side.legend) == 2 and "burst" in side.legend[0] and "sustained" in side.legend[1]


def test_an_undated_row_never_stands_for_the_latest():
    dated = _comparison("NVIDIA H200", "sustained", "m16n8k16.f16", 640.0, 630.0)
    undated = dict(_comparison("NVIDIA H200", "sustained", "m16n8k16.f16", 500.0, 500.0),
                   timestamp=float("nan"))
    side = generations.instructions({"mma": pd.DataFrame([dated, undated])})
    assert side.rows[0][1] == "640.0"


def _attention(variant, acc_s, acc_o, norm, tflops, **extra):
    return {"gpu_name": "NVIDIA H200", "dim": 128, "seq": 4096, "causal": True, "status": "ok",
            "impl": "mmabench", "variant": variant, "acc_s": acc_s, "acc_o": acc_o, "norm": norm,
            "tflops": tflops, "regime": "sustained", **extra}


def test_the_best_f16_scheme_is_set_against_the_f32_kernel_shown_beside_it():
    """An in-loop f16 winner's interleaved ratio is against the in-loop f32/f32 kernel: beside the
    delayed f32/f32 column it is the quotient of the two medians instead."""
    from mmabench.attention.overview import _best_vs_base
    from mmabench.reporting import facts
    from mmabench.reporting.runs import Run

    rows = [_attention("d", "f32", "f32", "delayed", 349.4),
            _attention("i", "f32", "f32", "inloop", 337.7),
            _attention("o", "f32", "f16", "inloop", 360.3, x_vs_f32f32=1.068,
                       x_vs_f32f32_lo=1.04, x_vs_f32f32_hi=1.10)]
    side = generations.attention(pd.DataFrame(rows))
    assert side.rows[0][-3:] == ["349.4", "-", "1.03x"]
    assert _best_vs_base(rows[2], rows[0]) == "1.03x (medians)"
    (case,) = facts.attention_cases(sources.Results([Run("attention", pd.DataFrame(rows))]))
    assert round(case.ratio, 2) == 1.03 and case.spread_from == "min/max of separate timings"


def test_compare_refuses_a_gemm_file_without_its_columns_in_one_line(tmp_path, capsys):
    from mmabench.cli import main

    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "context.json").write_text("{}")
    pd.DataFrame([{"gpu_name": "G", "impl": "tma", "acc": "f16", "status": "ok",
                   "tflops": 1.0}]).to_csv(folder / "gemm.csv", index=False)
    assert main(["compare", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "m" in err and "Traceback" not in err


def test_gemm_problems_of_a_sweep_are_cases_of_their_own():
    """A skinny 8192x8192x1024 problem is not the 8192 cube (it once overwrote its figures)."""
    def row(m, n, k, acc, tflops):
        return {"status": "ok", "gpu_name": "NVIDIA H200", "regime": "sustained", "impl": "tma",
                "key": f"tma.128.{acc}", "acc": acc, "m": m, "n": n, "k": k, "tflops": tflops,
                "git_commit": "c1", "timestamp": "2026-12-04T10:00:00Z"}

    side = generations.gemm(pd.DataFrame([row(8192, 8192, 8192, "f32", 650.0),
                                          row(8192, 8192, 1024, "f32", 455.0),
                                          row(1024, 8192, 8192, "f32", 623.0)]))
    assert [r[:3] for r in side.rows] == [["tma", "8192", "-"], ["tma", "8192x8192x1024", "-"],
                                          ["tma", "1024x8192x8192", "-"]]
    assert [r[3] for r in side.rows] == ["650.0", "455.0", "623.0"]
