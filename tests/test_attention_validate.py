"""validate.py without a GPU: the tolerance rule when PyTorch is missing (or its yardstick
overflows) comes from the float64 reference, and a wrong output falls outside it."""

import numpy as np
import pytest

from mmabench.attention import torch_ref, validate, variants
from mmabench.attention.reference import attention_f64


@pytest.fixture
def no_torch(monkeypatch):
    monkeypatch.setattr(torch_ref, "torch_module", lambda: None)


def _inputs(rng, n=96, d=64):
    return [rng.standard_normal((1, 2, n, d)).astype(np.float16) for _ in range(3)]


def test_without_torch_the_tolerance_is_the_float64_bound_and_says_so(no_torch):
    rng = np.random.default_rng(0)
    q, k, v = _inputs(rng)
    ref = validate.Reference(q, k, v, False, 0.125, 2, rng)
    assert ref.yard is None
    f32 = variants.variant(64, "f32", "f32")
    f16 = variants.variant(64, "f32", "f16")
    tol32, rule = ref.tolerance(f32)
    tol16, rule16 = ref.tolerance(f16)
    assert rule == rule16 == "float64 model bound (no PyTorch)"
    assert 0 < tol32 < tol16 < 1          # an f16 accumulator is allowed more, still a bound
    # the fp16-rounded reference passes; an output off by a few units of the bound fails
    good = attention_f64(*(ref.flat(x) for x in (q, k, v)), False, 0.125).astype(np.float16)
    assert np.abs(good.astype(np.float64) - ref.ref).max() <= tol32
    wrong = ref.ref.copy()
    wrong[0, 5, 3] += 4 * tol32
    assert np.abs(wrong - ref.ref).max() > tol32


def test_a_non_finite_yardstick_falls_back_to_the_bound(no_torch):
    rng = np.random.default_rng(1)
    q, k, v = _inputs(rng)
    ref = validate.Reference(q, k, v, True, 0.125, 2, rng)
    ref.yard = {"max_abs_err": float("inf"), "rel_l2_err": float("inf"), "nonfinite": 10}
    tol, rule = ref.tolerance(None)
    assert np.isfinite(tol) and "not finite" in rule


def test_with_a_yardstick_the_flashattention_rule_applies(no_torch):
    rng = np.random.default_rng(2)
    q, k, v = _inputs(rng)
    ref = validate.Reference(q, k, v, False, 0.125, 2, rng)
    ref.yard = {"max_abs_err": 1e-3, "rel_l2_err": 1e-4, "nonfinite": 0}
    tol, rule = ref.tolerance(variants.variant(64, "f32", "f32"))
    assert tol == pytest.approx(2e-3 + 1e-4) and rule == "PyTorch fp16 yardstick"
