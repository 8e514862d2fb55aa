"""wgmma on the GPU (Hopper, sm_90a): exact small-integer results per form prove the fragment
maps, tile layouts (no swizzle and 128B) and descriptors against the hardware; a tiny timed run
checks the throughput path end to end. Off Hopper, the rows must say 'unsupported'."""

import numpy as np
import pytest

from mmabench import hardware
from mmabench.wgmma import catalogue
from mmabench.wgmma.catalogue import WgmmaForm

pytestmark = pytest.mark.gpu


def _hopper() -> bool:
    return hardware.unavailable_reason() is None and hardware.device_arch() == "sm_90"


hopper = pytest.mark.skipif("not _hopper()", reason="wgmma needs an sm_90 (Hopper) GPU")

EXACT_FORMS = ([WgmmaForm(n, ab, acc, a, sw) for ab, acc in catalogue.TYPE_ACC
                for n in (8, 64, 256) for a in catalogue.A_SOURCES for sw in catalogue.SWIZZLES]
               + [WgmmaForm(n, ab, acc) for ab, acc in catalogue.TYPE_ACC for n in (16, 32, 128)])


@hopper
@pytest.mark.parametrize("form", EXACT_FORMS, ids=lambda f: f.name)
def test_one_instruction_and_a_short_chain_are_exact_on_small_integers(form):
    from mmabench.wgmma.bench import build, run_exact
    from mmabench.wgmma.render import LATENCY

    built = build(form, LATENCY)
    rng = np.random.default_rng(0)
    for iters in (0, 3):
        r = run_exact(built, rng, iters)
        assert r.ok, "\n" + r.message       # the message says which (row, col) differ and how


@hopper
@pytest.mark.parametrize("form", [WgmmaForm(64, "f16", "f32", "rs", "none"),
                                  WgmmaForm(128, "e4m3", "f16", "ss", "128b"),
                                  WgmmaForm(256, "bf16", "f32", "ss", "none")], ids=str)
def test_throughput_pipeline_chains_are_exact(form):
    from mmabench.wgmma.bench import build, verify_exact
    from mmabench.wgmma.render import pipeline

    built = build(form, pipeline(min(2, form.max_ilp()), 4, 1), throughput=True)
    verify_exact(built, np.random.default_rng(1))


@hopper
def test_a_wrong_layout_is_caught_and_diagnosed():
    """The exact check can fail: B packed with the other swizzle gives wrong elements, and the
    diagnosis names positions."""
    from mmabench.wgmma import bench
    from mmabench.wgmma.layout import TileLayout
    from mmabench.wgmma.render import LATENCY
    from mmabench.wgmma import fragments as fr
    import cupy

    form = WgmmaForm(64, "f16", "f32", "ss", "128b")
    built = bench.build(form, LATENCY)
    inputs = bench.make_inputs(form, 1, np.random.default_rng(2), exact=True)
    wrong = TileLayout("none").pack(fr.row_bytes(inputs.bt_mat, form.ab_type))
    d = cupy.full((1, 1, 128, form.c_regs), bench.POISON, dtype=cupy.uint32)
    t = cupy.zeros((4, 4), dtype=cupy.uint64)
    built.kernel.function((1,), (128,), (inputs.a, cupy.asarray(wrong), inputs.c, d, t, np.uint32(0)))
    with pytest.raises(bench.MeasurementError):
        bench.check(form, d, inputs, 0, exact=True)
    text = bench.diagnose(form, fr.d_matrix(form, cupy.asnumpy(d)[0])[0], inputs)
    assert "elements differ" in text and "(row " in text


@hopper
def test_latency_and_a_tiny_throughput_run():
    from mmabench import hardware
    from mmabench.instructions.bench import POINT_POLICY, measure_point
    from mmabench.wgmma.bench import Point, build, measure_latency
    from mmabench.wgmma.render import LATENCY, pipeline

    rng = np.random.default_rng(3)
    form = WgmmaForm(128, "f16", "f32")
    lat = measure_latency(build(form, LATENCY), rng)
    assert 10 < lat["latency_cycles"] < 10_000
    assert 100 < lat["sm_clock_mhz"] < 3000 and lat["iters"] == 256 and lat["registers"] > 0
    thr = measure_point(Point(build(form, pipeline(2, 4), throughput=True), rng, 2,
                              hardware.sm_count(), target_ms=0.5), POINT_POLICY)
    assert thr["flop_per_clk_per_sm"] > 0 and thr["pct_of_datasheet_per_clk"] < 110
    assert 500 < thr["sm_clock_mhz"] < 3000
    assert thr["registers"] >= form.c_regs


@hopper
def test_quick_suite_rows_and_comparison(tmp_path):
    from mmabench.wgmma import suite

    forms = [WgmmaForm(64, "f16", "f16"), WgmmaForm(64, "f16", "f32")]
    folder, rows = suite.run(forms, suite.QUICK, seed=4, results_root=tmp_path)
    assert {r["status"] for r in rows} == {"ok"}, [r.get("error") for r in rows]
    kinds = [r["kind"] for r in rows]
    assert kinds.count("latency") == 2 and kinds.count("comparison") == 1
    comp = next(r for r in rows if r["kind"] == "comparison")
    assert comp["ratio_f16_over_f32"] > 0 and comp["f16_registers"] < comp["f32_registers"]
    assert "f16 vs f32" in suite.summary(rows)
    assert (folder.path / "wgmma.csv").exists()


@pytest.mark.skipif("hardware.unavailable_reason() is not None or _hopper()",
                    reason="needs a GPU without wgmma")
def test_non_hopper_gpu_gets_unsupported_rows(tmp_path):
    from mmabench.wgmma import suite

    _, rows = suite.run([WgmmaForm(64, "f16", "f32")], suite.QUICK, results_root=tmp_path)
    assert [r["status"] for r in rows] == ["unsupported"]
    assert "not supported on this GPU (wgmma needs sm_90a)" in rows[0]["error"]
