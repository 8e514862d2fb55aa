"""The softmax instructions on a real GPU: each kernel against the host reference, a wrong
answer caught, and timing smoke runs (latency, a throughput point, a suite run with its
f16x2 vs f32 comparison)."""

import numpy as np
import pytest

from mmabench import hardware
from mmabench.core.errors import MeasurementError
from mmabench.instructions.bench import POINT_POLICY, POISON, measure_point
from mmabench.softmax import catalogue
from mmabench.softmax.bench import Point, build, check, make_inputs, measure_latency, verify_exact

pytestmark = pytest.mark.gpu


def _skip_unless_on_gpu(form):
    if not form.runs_on(hardware.device_arch()):
        pytest.skip(f"{form.name} not on this GPU")


@pytest.mark.parametrize("form", catalogue.FORMS, ids=lambda f: f.name)
def test_each_kernel_gives_the_host_answer_after_one_and_many_steps(form, rng):
    _skip_unless_on_gpu(form)
    built = build(form, 2)
    assert built.per_trip == 2 * built.unroll
    verify_exact(built, rng)           # zero trips and three trips, bit for bit (ex2: bound)


def test_a_wrong_answer_is_caught(rng):
    import cupy

    form = catalogue.by_name("fma.f32")
    built = build(form, 1)
    inputs = make_inputs(form, 1, rng)
    d = cupy.full((1, 1, 32, 1), POISON, dtype=cupy.uint32)
    t = cupy.zeros((1, 4), dtype=cupy.uint64)
    built.kernel.function((1,), (32,), (inputs.a, inputs.b, inputs.c, d, t, np.uint32(2)))
    assert check(form, d, inputs, 1 + 2 * built.unroll) == 0.0
    d[0, 0, 5, 0] ^= 1                     # one lane's answer off by one unit in the last place
    with pytest.raises(MeasurementError, match="differ from the exact result"):
        check(form, d, inputs, 1 + 2 * built.unroll)


@pytest.mark.parametrize("name", ["ex2.f16x2", "max.f16x2", "cvt.f16x2.f32"])
def test_latency_and_throughput_smoke(name, rng):
    form = catalogue.by_name(name)
    lat = build(form, 1)
    verify_exact(lat, rng)
    m = measure_latency(lat, rng, iters=256)
    assert 1 < m["latency_cycles"] < 200 and m["samples"] >= 5
    assert 100 < m["sm_clock_mhz"] < 3000 and m["sm_clock_source"].startswith("kernel")
    thr = build(form, 8)
    r = measure_point(Point(thr, rng, warps=16, blocks_per_sm=2, sms=hardware.sm_count(),
                            target_ms=0.5), POINT_POLICY)
    # per thread, no SM does more than 4 schedulers x 32 lanes x 2 halves (x2 fused) a clock
    assert 0 < r["elements_per_clk_per_sm"] < 1024 and r["sass_ops_per_clk_per_sm"] > 0
    assert r["instructions"] == r["grid_blocks"] * 16 * (thr.per_trip * r["iters"] + 8)
    assert r["elements"] == r["instructions"] * form.elements and r["check_max_abs_err"] >= 0
    assert r["sm_clock_source"].startswith("kernel") and r["samples"] >= 5


def test_suite_rows_carry_the_sass_and_the_comparison(tmp_path, seed):
    import pandas as pd

    from mmabench.record import CONTEXT_COLUMNS
    from mmabench.softmax.suite import QUICK, run, summary

    forms = catalogue.select(["max"], ["f16", "f32"])
    folder, rows = run(forms, QUICK, seed=seed, results_root=tmp_path)
    frame = pd.read_csv(folder.path / "softmax.csv")
    assert set(CONTEXT_COLUMNS) <= set(frame.columns)
    assert (frame["status"] == "ok").all(), frame[frame["status"] != "ok"]["error"].tolist()
    thr = frame[frame["kind"] == "throughput"]
    assert thr["saturating"].all() and (thr["elements_per_clk_per_sm"] > 0).all()
    (comp,) = [r for r in rows if r["kind"] == "comparison"]
    assert comp["form"] == "max.f16x2 vs max.f32" and comp["regime"] == "sustained"
    assert comp["f16_elements_per_clk_per_sm"] > 0 and comp["f32_elements_per_clk_per_sm"] > 0
    assert (folder.path / "sass" / "max.f16x2.ilp8.sass").exists()
    assert "max.f16x2 vs max.f32" in summary(rows)
