"""The instruction kernels on a real GPU: numerics against numpy, and timing smoke runs."""

import numpy as np
import pytest

from mmabench import hardware
from mmabench.mma import fragments as fr
from mmabench.instructions.bench import POINT_POLICY, measure_point
from mmabench.mma.bench import (POISON, MeasurementError, Point, build, check, make_inputs, measure_latency, verify_exact)
from mmabench.mma.catalogue import FORMS

pytestmark = pytest.mark.gpu


def _usable():
    arch = hardware.device_arch()
    return [f for f in FORMS if int(arch[3:].rstrip("a")) >= f.min_sm]


def _one_instruction(form, inputs, ilp=1):
    import cupy

    built = build(form, ilp)
    d = cupy.full((1, ilp, 32, form.c_regs), POISON, dtype=cupy.uint32)
    t = cupy.zeros((1, 4), dtype=cupy.uint64)
    built.kernel.function((1,), (32,), (inputs.a, inputs.b, inputs.c, d, t, np.uint32(0)))
    return fr.from_fragments_batch(form, cupy.asnumpy(d))[0]


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.name)
def test_one_instruction_is_exact_on_integer_data(form, rng):
    if form not in _usable():
        pytest.skip("form not on this GPU")
    inputs = make_inputs(form, 2, rng, exact=True)
    out = _one_instruction(form, inputs, ilp=2)
    np.testing.assert_array_equal(out, inputs.expected)


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.name)
def test_one_instruction_on_random_data_is_within_one_rounding(form, rng):
    if form not in _usable():
        pytest.skip("form not on this GPU")
    inputs = make_inputs(form, 1, rng)
    out = _one_instruction(form, inputs)[0]
    # f32: the hardware sums 16 exact products with f32-ish internal precision;
    # f16: the same, then one rounding to f16.
    u = 2.0 ** -11 if form.acc == "f16" else 2.0 ** -22
    assert np.all(np.abs(out - inputs.expected[0]) <= u * inputs.scale[0])


def test_a_wrong_reference_is_caught(rng):
    """The output check must reject a result that is not C + A.B."""
    form = _usable()[0]
    inputs = make_inputs(form, 1, rng, exact=True)
    import cupy

    built = build(form, 1)
    d = cupy.full((1, 1, 32, form.c_regs), POISON, dtype=cupy.uint32)
    t = cupy.zeros((1, 4), dtype=cupy.uint64)
    built.kernel.function((1,), (32,), (inputs.a, inputs.b, inputs.c, d, t, np.uint32(0)))
    inputs.expected[0, 0, 0] += 1.0
    with pytest.raises(MeasurementError):
        check(form, cupy.asnumpy(d), inputs, steps=0)


@pytest.mark.parametrize("form", FORMS[:2], ids=lambda f: f.name)
def test_latency_and_throughput_smoke(form, rng):
    lat = build(form, 1)
    verify_exact(lat, rng)
    m = measure_latency(lat, rng, iters=256)
    assert 1 < m["latency_cycles"] < 1000 and m["samples"] >= 5
    assert 100 < m["sm_clock_mhz"] < 3000 and m["sm_clock_source"].startswith("kernel")
    thr = build(form, 4)
    r = measure_point(Point(thr, rng, warps=4, blocks_per_sm=1, sms=hardware.sm_count(),
                            target_ms=0.5), POINT_POLICY)
    assert r["tflops"] > 0 and r["sm_clock_mhz"] > 100
    assert r["sm_clock_source"].startswith("kernel") and r["samples"] >= 5
    # the conditions during the timed region come from NVML on a machine with a driver
    assert r["nvml_samples"] >= 1 and r["power_w"] > 10 and r["sm_clock_mhz_nvml"] > 100
    assert r["throttled"] in (True, False) and r["timing_mode"] == "batch"
    assert r["instructions"] == r["grid_blocks"] * 4 * (thr.per_trip * r["iters"] + 4)


def test_suite_rows_carry_their_context_and_files(tmp_path, seed):
    import pandas as pd

    from mmabench.record import CONTEXT_COLUMNS
    from mmabench.mma.suite import Sweep, run

    form = _usable()[0]
    folder, rows = run([form], Sweep(warps=(4,), ilps=(2,), blocks_per_sm=(1,)), seed=seed,
                       results_root=tmp_path)
    frame = pd.read_csv(folder.path / "mma.csv")
    assert len(frame) == 2 and set(frame["kind"]) == {"latency", "throughput"}
    assert set(CONTEXT_COLUMNS) <= set(frame.columns)
    assert frame["gpu_name"].notna().all() and (frame["status"] == "ok").all()
    thr = frame[frame["kind"] == "throughput"].iloc[0]
    assert thr["saturating"] and thr["sm_clock_mhz"] > 100
    assert (folder.path / "sass" / f"{form.name}.ilp2.sass").read_text().count(form.sass) >= 2 * 16
    assert (folder.path / "context.json").exists()


def test_f16_and_f32_accumulators_are_compared_interleaved(tmp_path, seed):
    import pandas as pd

    from mmabench.mma.catalogue import select
    from mmabench.mma.suite import QUICK, run

    forms = select(["m16n8k16"], ["f16", "f32"], ["f16"])
    folder, rows = run(forms, QUICK, seed=seed, results_root=tmp_path)
    frame = pd.read_csv(folder.path / "mma.csv")
    comp = frame[frame["kind"] == "comparison"]
    assert len(comp) == 1 and comp.iloc[0]["status"] == "ok"
    c = comp.iloc[0]
    assert c["ratio_f16_over_f32_lo"] <= c["ratio_f16_over_f32"] <= c["ratio_f16_over_f32_hi"]
    # the comparison's default regime is sustained: >= 5 rounds, named in the row
    assert c["ratio_f16_over_f32_rounds"] == max(5, QUICK.policy.rounds)
    assert c["regime"] == "sustained" and "200 ms" in c["regime_detail"]
    assert c["f16_tflops"] > 0 and c["f32_tflops"] > 0 and c["f16_sm_clock_mhz"] > 100
