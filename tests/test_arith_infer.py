"""The feature inference run against SIMULATED hardware (the model with known parameters) must
recover those parameters: the inference logic is proven before any GPU run."""

import numpy as np
import pytest

from mmabench.arith import batch, designed, inference, reads
from mmabench.arith.device import Simulated
from mmabench.arith.forms import all_forms
from mmabench.arith.model import Model

FORMS = {f.name: f for f in all_forms()}

TRUTHS = [
    ("m16n8k16.f16.acc_f32", dict(block=8, extra_bits=3, rounding="rz")),
    ("m16n8k16.f16.acc_f32", dict(block=16, extra_bits=1, rounding="rn", align="floor", exponent="raw")),
    ("m16n8k16.f16.acc_f32", dict(block=4, extra_bits=0, subnormals=False)),
    ("m16n8k16.bf16.acc_f32", dict(block=8, extra_bits=2, overflow="saturate")),
    ("m16n8k8.f16.acc_f32", dict(block=4, extra_bits=5, c_join="last")),
    ("m16n8k8.bf16.acc_f32", dict(block=8, extra_bits=0, rounding="rn")),
    ("m16n8k16.f16.acc_f16", dict(block=8, extra_bits=2, out_rounding="rz", inter="acc")),
    ("m16n8k8.f16.acc_f16", dict(block=8, extra_bits=0, overflow="saturate", subnormals=False)),
    # the H100's f16 accumulators: rounded from the aligned sum, an underflow to zero is +0
    ("m16n8k16.f16.acc_f16", dict(block=16, extra_bits=2, exponent="raw", out_from="aligned",
                                  zero_sign="plus")),
]


def _observable(form, truth: dict) -> list[str]:
    names = ["block", "extra_bits", "align", "subnormals"]
    if form.acc == "f32":
        names += ["rounding", "exponent"]
        if truth.get("block", 16) < form.mnk[2]:
            names.append("c_join")
    else:
        names += ["out_rounding", "overflow", "product_exact"]
        if truth.get("block", 16) < form.mnk[2]:
            names.append("inter")
        elif truth.get("extra_bits", 0) >= 2 and truth.get("out_rounding", "rn") == "rn":
            names += ["out_from", "zero_sign"]     # 2^-25 below 1 survives the alignment
    if form.ab_type == "bf16":
        names.append("overflow")
    return names


@pytest.mark.parametrize("name,params", TRUTHS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(TRUTHS)])
def test_inference_recovers_simulated_features(name, params):
    form = FORMS[name]
    truth = Model(in_type=form.ab_type, acc=form.acc, **params)
    cs, d = batch.run(form, Simulated(truth))
    fi = inference.infer(form, cs, d)
    got = fi.model.features()
    for feat in _observable(form, params):
        assert got[feat] == truth.features()[feat], (feat, got[feat], fi.evidence.get(feat))
    assert fi.designed_match == (len(cs), len(cs))
    assert fi.features["specials_ieee"] is True


def test_inference_notices_a_wrong_hardware_claim():
    """Outputs of block-8 hardware do not fit a block-16 model: the read says 8, not 16."""
    form = FORMS["m16n8k16.f16.acc_f32"]
    cs, d = batch.run(form, Simulated(Model(block=8)))
    blocks, order, consistent, _ = reads.read_blocks(cs, d, 16)
    assert order == tuple(range(16))
    assert blocks == [8, 8] and consistent
    inference.infer(form, cs, d)  # the fit runs on block-8 outputs without error
    wrong = Model(block=16)
    from mmabench.arith.formats import same
    assert not same(wrong.dot(*designed.vectors(cs)), d, "f32").all()


def test_unseen_truncation_is_reported_not_invented():
    """Sequential hardware (block 1) never truncates the small term in the alignment family: the
    read says so instead of inventing a width, and the block read finds 8 blocks of 1."""
    form = FORMS["m16n8k8.f16.acc_f32"]
    cs, d = batch.run(form, Simulated(Model(block=1, extra_bits=2)))
    fi = inference.infer(form, cs, d)
    assert "no truncation seen" in fi.evidence["extra_bits"]
    assert fi.features["blocks"] == [1] * 8
    # and extra 20 (inside the sweep) is read exactly
    cs, d = batch.run(form, Simulated(Model(block=8, extra_bits=20)))
    assert inference.infer(form, cs, d).features["extra_bits"] == 20


@pytest.mark.parametrize("form", list(FORMS.values()), ids=lambda f: f.name)
def test_designed_cases_are_exact_values_of_their_formats(form):
    """A designed input that the packer would round is a different test than the one meant."""
    from mmabench.arith.formats import from_bits, to_bits

    cs = designed.cases(form)
    a, b, c = designed.vectors(cs)
    for x, fmt in ((a, form.ab_type), (b, form.ab_type), (c, form.acc)):
        fin = np.isfinite(x)
        back = from_bits(to_bits(np.where(fin, x, 0.0), fmt), fmt)
        assert np.array_equal(back, np.where(fin, x, 0.0)), fmt
    families = {c.family for c in cs}
    assert {"exact", "extra", "block", "round", "subnormal", "special"} <= families
