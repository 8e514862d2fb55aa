"""The mma chain check on the CPU: with the arithmetic measured on the H100 (shipped under
data/results/h100-sxm5/arith), a chain computed by that model passes, and a wrong fragment
layout or a flipped bit fails; the rule applied is named."""

import numpy as np
import pytest

from mmabench.arith import measured
from mmabench.arith.chain import expected_chain, swap_registers
from mmabench.mma import bench
from mmabench.mma import fragments as fr
from mmabench.mma.catalogue import by_name

H100 = "NVIDIA H100 80GB HBM3"


@pytest.fixture
def on_h100(monkeypatch):
    monkeypatch.setattr(bench, "_gpu_name", lambda: H100)


def _chain(name, steps=1 + 2 * 1000, seed=0):
    f = by_name(name)
    m = measured.model(name, H100)
    assert m is not None, "the shipped H100 arith results give a model for every f16/bf16 form"
    rng = np.random.default_rng(seed)
    M, N, K = f.mnk
    a = fr.quantize(rng.uniform(-1, 1, (M, K)), f.ab_type)
    b = fr.quantize(rng.uniform(-1, 1, (K, N)), f.ab_type)
    c = fr.quantize(rng.uniform(-1, 1, (2, M, N)), f.acc)
    d = expected_chain(a, b, c, steps, m)
    inputs = bench.Inputs(None, None, None, c + a @ b, np.abs(c) + np.abs(a) @ np.abs(b), (a, b, c))
    words = np.stack([np.stack([fr.to_fragments(f, "C", x) for x in d])])
    return f, inputs, words, steps


@pytest.mark.parametrize("name", ["m16n8k16.f16.acc_f32", "m16n8k16.f16.acc_f16",
                                  "m16n8k8.f16.acc_f16", "m16n8k16.bf16.acc_f32"])
def test_the_models_chain_passes_and_a_wrong_layout_fails(on_h100, name):
    f, inputs, words, steps = _chain(name)
    assert bench.check(f, words, inputs, steps) < 0.05
    assert "measured on " + H100 in bench.check_rule(f)[1]
    with pytest.raises(bench.MeasurementError):
        bench.check(f, swap_registers(words, 0, 1), inputs, steps)
    flipped = words.copy()
    flipped[0, 1, 5, 0] ^= 0x00400000 if f.acc == "f32" else 0x00000200
    with pytest.raises(bench.MeasurementError):
        bench.check(f, flipped, inputs, steps)


def test_without_a_measured_model_the_generic_rule_applies(monkeypatch):
    monkeypatch.setattr(bench, "_gpu_name", lambda: "Some Unmeasured GPU")
    f = by_name("m16n8k16.f16.acc_f32")
    assert bench.check_rule(f) == (None, "generic bound: (k/4 + 1) truncations of 2u per step")


@pytest.mark.parametrize("name", ["m16n8k16.f16.acc_f16", "m16n8k8.f16.acc_f16"])
def test_an_f16_chain_is_checked_bit_for_bit(on_h100, name):
    """The H100's f16 arithmetic is modelled bit for bit (arith): one ulp off in one output of
    one chain fails the check."""
    f, inputs, words, steps = _chain(name)
    assert bench.check_rule(f)[1].startswith("bit for bit the arith model measured on " + H100)
    assert bench.check(f, words, inputs, steps) == 0.0
    one_ulp = words.copy()
    one_ulp[0, 0, 3, 1] ^= 0x00000001
    with pytest.raises(bench.MeasurementError, match="bit for bit"):
        bench.check(f, one_ulp, inputs, steps)
