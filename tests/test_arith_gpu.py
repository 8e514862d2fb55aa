"""The arithmetic model on a real GPU: probe layout, bit-exact model on random vectors, exact chain
check (right layout passes, swapped registers fail). FP8 m16n8k32 forms too (all but the chain check)."""

import numpy as np
import pytest

from mmabench import hardware
from mmabench.arith import batch, inference
from mmabench.arith.device import Gpu
from mmabench.arith.forms import all_forms, fp8_forms, wgmma_forms
from mmabench.arith.validate import validate

pytestmark = pytest.mark.gpu


def _usable():
    arch = hardware.device_arch()
    return [f for f in FORMS if int(arch[3:].rstrip("a")) >= f.min_sm]


FORMS = all_forms() + fp8_forms()


@pytest.fixture(scope="module")
def inferred():
    """Designed vectors run once per form; the features inferred from them."""
    out = {}
    for form in _usable():
        dev = Gpu(form)
        cs, d = batch.run(form, dev)
        out[form.name] = (dev, inference.infer(form, cs, d, device=dev))
    return out


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.name)
def test_probe_layout_exact_on_integers(form, rng):
    if form not in _usable():
        pytest.skip("form not on this GPU")
    m, n, k = form.mnk
    a = rng.integers(-3, 4, (64, m, k)).astype(float)
    b = rng.integers(-3, 4, (64, k, n)).astype(float)
    c = rng.integers(-8, 9, (64, m, n)).astype(float)
    d = Gpu(form)(a, b, c)
    np.testing.assert_array_equal(d, c + a @ b)


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.name)
def test_model_matches_hardware_bit_for_bit(form, inferred, rng):
    if form.name not in inferred:
        pytest.skip("form not on this GPU")
    dev, fi = inferred[form.name]
    assert fi.designed_match[0] == fi.designed_match[1], fi.evidence
    v = validate(form, fi.model, dev, 4096, rng)
    assert v.matched == v.total, (fi.model, v.classes.most_common(8), v.examples[:3])


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.name)
def test_chain_exact_and_wrong_layout_rejected(form, inferred, rng):
    if form.name not in inferred:
        pytest.skip("form not on this GPU")
    from mmabench.arith.cli import chain_check

    if form in fp8_forms():
        pytest.skip("the chain check reads 16-bit fragments")
    _, fi = inferred[form.name]
    res = chain_check(form, fi.model, rng, iters=256)
    assert res["layout as in fragments.py"].ok, res["layout as in fragments.py"].detail
    assert not res["A registers 0,1 swapped"].ok


def test_fp8_answers_issue_10(inferred):
    """FP8 mma.sync: every feature read (none undetermined), the alignment width reported; on
    sm_90 the SASS lowering (two HMMA.16816 on k mod 4 in {0,1}, then {2,3}; C added last)."""
    fp8 = [n for n in inferred if n in {f.name for f in fp8_forms()}]
    if not fp8:
        pytest.skip("no FP8 mma.sync on this GPU")
    for name in fp8:
        fi = inferred[name][1]
        assert fi.features["alignment_bits"] is not None, fi.evidence["extra_bits"]
        assert fi.features["block"] is not None, fi.evidence["block"]
        if hardware.device_arch() in ("sm_90", "sm_90a"):
            assert (fi.model.block, fi.model.k_order, fi.model.c_join) == (16, "pairs", "add")
        print(name, fi.features["alignment_bits"], "bits;", fi.model)


def test_wgmma_one_instruction_per_launch(rng):
    """Every wgmma type and accumulator (sm_90a): exact on integers, then designed features and
    the model bit for bit on 2 x 16,384 random dot products per regime."""
    if hardware.device_arch() not in ("sm_90", "sm_90a"):
        pytest.skip("wgmma needs sm_90a")
    for form in wgmma_forms():
        dev = Gpu(form)
        m, n, k = form.mnk
        a = rng.integers(-3, 4, (2, m, k)).astype(float)
        b = rng.integers(-3, 4, (2, k, n)).astype(float)
        c = rng.integers(-8, 9, (2, m, n)).astype(float)
        np.testing.assert_array_equal(dev(a, b, c), c + a @ b)
        cs, d = batch.run(form, dev)
        fi = inference.infer(form, cs, d, device=dev, rng=rng)
        v = validate(form, fi.model, dev, 5 * 2 * m * n, rng)
        print(form.name, fi.model, f"{v.matched}/{v.total}", v.classes.most_common(4))
        assert fi.designed_match[0] == fi.designed_match[1], (form.name, fi.evidence)
        assert v.matched == v.total, (form.name, v.classes.most_common(8))
