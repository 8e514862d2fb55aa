"""The float64 reference's error metrics and its PyTorch-free error bound (CPU, NumPy)."""

import math

import numpy as np
import pytest

from mmabench.attention.reference import attention_f64, bound_ratio, default_scale, error_metrics, f64_bound


# ---- a non-finite output is never accurate ----------------------------------------------------

def test_all_inf_output_reads_as_infinite_error():
    ref = np.random.default_rng(0).standard_normal((2, 8, 16))
    m = error_metrics(np.full_like(ref, np.inf), ref)
    assert m["nonfinite"] == ref.size
    assert m["max_abs_err"] == math.inf and m["rel_l2_err"] == math.inf


def test_all_nan_output_reads_as_infinite_error():
    ref = np.random.default_rng(1).standard_normal((8, 16))
    m = error_metrics(np.full(ref.shape, np.nan, np.float16), ref)
    assert m["max_abs_err"] == math.inf and m["rel_l2_err"] == math.inf


def test_partly_inf_output_reads_as_infinite_error():
    ref = np.random.default_rng(2).standard_normal((8, 16))
    out = ref.copy()
    out[3, 5] = -np.inf
    m = error_metrics(out, ref)
    assert m["nonfinite"] == 1
    assert m["max_abs_err"] == math.inf and m["rel_l2_err"] == math.inf


def test_an_inf_the_reference_has_too_is_no_error():
    ref = np.array([1.0, np.inf])
    m = error_metrics(np.array([1.0, np.inf]), ref)
    assert m["max_abs_err"] == 0.0 and m["rel_l2_err"] == 0.0


def test_finite_output_error_is_measured():
    ref = np.zeros(4)
    ref[0] = 2.0
    out = ref.copy()
    out[1] = 0.5
    m = error_metrics(out, ref)
    assert m["max_abs_err"] == 0.5 and math.isclose(m["rel_l2_err"], 0.25)


# ---- the bound from the float64 reference alone ------------------------------------------------

def _inputs(n=300, d=64, heads=2, seed=3):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((heads, n, d)).astype(np.float16) for _ in range(3)]


def _kernel_model(q, k, v, causal, scale):
    """What the kernel computes, in NumPy: S in f32, p in f32, p rounded to fp16 for P V
    (f32 sums), O divided by the f32 row sum and rounded to fp16."""
    q32, k32, v32 = (x.astype(np.float32) for x in (q, k, v))
    s = (q32 @ np.swapaxes(k32, -1, -2)) * np.float32(scale)
    if causal:
        n = q.shape[-2]
        s = np.where(np.tril(np.ones((n, n), bool)), s, np.float32(-np.inf))
    p = np.exp(s - s.max(axis=-1, keepdims=True)).astype(np.float32)
    l = p.sum(axis=-1, keepdims=True, dtype=np.float32)
    o = (p.astype(np.float16).astype(np.float32) @ v32) / l
    return o.astype(np.float16)


@pytest.mark.parametrize("causal", [False, True])
def test_correct_outputs_pass_the_bound(causal):
    q, k, v = _inputs()
    scale = default_scale(q.shape[-1])
    ref = attention_f64(q, k, v, causal, scale)
    bound = f64_bound(q, k, v, causal, scale, ref=ref)
    assert bound.shape == ref.shape and (bound > 0).all()
    assert bound_ratio(ref.astype(np.float16), ref, bound) <= 1.0      # fp16-rounded reference
    model = _kernel_model(q, k, v, causal, scale)
    r = bound_ratio(model, ref, bound)
    assert 0.0 < r <= 1.0
    # and the bound is not vacuous: its max stays within a few fp16 units of max|V|
    assert bound.max() < 16 * 2.0 ** -11 * float(np.abs(v).max())


@pytest.mark.parametrize("wrong", ["scale 1% off", "mask off", "last key ignored", "rows swapped"])
def test_wrong_outputs_fail_the_bound(wrong):
    q, k, v = _inputs()
    scale = default_scale(q.shape[-1])
    causal = wrong != "last key ignored"
    ref = attention_f64(q, k, v, causal, scale)
    bound = f64_bound(q, k, v, causal, scale, ref=ref)
    if wrong == "scale 1% off":
        out = _kernel_model(q, k, v, True, scale * 1.01)
    elif wrong == "mask off":
        out = _kernel_model(q, k, v, False, scale)
    elif wrong == "last key ignored":
        out = _kernel_model(q, k[:, :-1], v[:, :-1], False, scale)
    else:
        out = _kernel_model(q, k, v, True, scale)
        out[:, [10, 11]] = out[:, [11, 10]]
    assert bound_ratio(out, ref, bound) > 1.0, wrong


def test_bound_of_a_nonfinite_output_is_exceeded():
    q, k, v = _inputs(n=40)
    ref = attention_f64(q, k, v)
    bound = f64_bound(q, k, v, ref=ref)
    out = ref.copy()
    out[0, 0, 0] = np.nan
    assert bound_ratio(out, ref, bound) == math.inf


def test_f16_accumulators_widen_the_bound():
    q, k, v = _inputs(n=64)
    b32 = f64_bound(q, k, v)
    b16 = f64_bound(q, k, v, s_unit=2.0 ** -11, o_unit=2.0 ** -11)
    assert (b16 > b32).all()


def test_numerics_reads_an_infinite_error_as_overflow_even_without_a_count():
    from mmabench.attention import numerics
    ref = np.ones((4, 4))
    row = {**error_metrics(np.full_like(ref, np.inf), ref)}
    assert numerics.state(row, None) == "overflow"
    row.pop("nonfinite")
    assert numerics.state(row, {"rel_l2_err": 1e-3}) == "overflow"
    assert numerics.cell(row, None) == "inf/NaN"
