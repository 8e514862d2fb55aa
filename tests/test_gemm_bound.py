"""The GEMM check's bound (gemm/validate.py) against the hardware's own arithmetic: the bit-exact
wgmma models (arith, matched bit for bit on the H100 and the H200) accumulate dot products of the
GEMM's input distribution (normal fp16) over K = 1k ... 64k, and every result must sit inside
the bound the check applies to our kernels (slack 2), else the bound would turn correct f16
accumulation into error rows at large K (or let a wrong kernel through, were it loose)."""

import math

import numpy as np
import pytest

from mmabench.arith import measured
from mmabench.arith.consequence import hardware_dot
from mmabench.arith.formats import quantize
from mmabench.gemm.validate import CHUNK, U_ACC, U_OUT

FORMS = {"f16": "wgmma.m64n256k16.f16.acc_f16", "f32": "wgmma.m64n256k16.f16.acc_f32"}


@pytest.mark.parametrize("acc", ["f16", "f32"])
@pytest.mark.parametrize("k", [1024, 8192, 65536])
def test_the_modelled_hardware_accumulation_meets_the_checks_bound(acc, k):
    model = measured.model(FORMS[acc], "NVIDIA H200")
    assert model is not None
    rng = np.random.default_rng(k)
    a = quantize(rng.standard_normal((4, k)), "f16")
    b = quantize(rng.standard_normal((4, k)), "f16")
    got = quantize(hardware_dot(model, a, b, CHUNK), "f16")          # C is stored as fp16
    steps = (a * b).reshape(4, k // CHUNK, CHUNK).sum(axis=2)        # float64: exact enough
    partial = np.cumsum(steps, axis=1)
    exact = np.array([math.fsum(row) for row in a * b])
    bound = 2 * U_ACC[acc] * np.abs(partial).sum(axis=1) + U_OUT * np.abs(exact) + 1e-6
    err = np.abs(got - exact)
    assert np.all(np.isfinite(got)), "normal data never reaches fp16's 65504 at these K"
    assert np.all(err <= bound), (err / bound).max()
    # What the bound can still catch: with f32 accumulation, a lost 64-wide K tile (its sum
    # missing from C) at every K here; with f16, only at small K: the first-order bound sums
    # one rounding per k16 step, so from K = 8192 it exceeds one tile's contribution (measured
    # error/bound: 0.04 at K = 1k, 0.004 at 64k). README, "Why is an f16-accumulate GEMM ...".
    lost_tile = np.abs(steps[:, :4].sum(axis=1))
    if acc == "f32" or k <= 1024:
        assert np.all(lost_tile > bound)
    else:
        assert np.all(lost_tile < bound)
