"""wgmma m64n256k16 in `arith` without a GPU: designed cases 64 to a problem on the diagonal,
the inference against simulated hardware, the operand packing into the wgmma tiles."""

import numpy as np
import pytest

from mmabench.arith import batch, designed, inference
from mmabench.arith.device import Simulated
from mmabench.arith.forms import all_forms, by_names, wgmma_forms
from mmabench.arith.model import Model
from mmabench.arith.wgmma_probe import pack

WG = {f.acc: f for f in wgmma_forms() if f.ab_type == "f16"}


def test_wgmma_forms_selected_by_alias_only():
    assert [f.name for f in by_names("wgmma")][:2] == ["wgmma.m64n256k16.f16.acc_f32",
                                                       "wgmma.m64n256k16.f16.acc_f16"]
    assert len(by_names("wgmma")) == 7
    assert [f.name for f in by_names("wgmma.m64n256k32")] == [
        "wgmma.m64n256k32.e4m3.acc_f32", "wgmma.m64n256k32.e4m3.acc_f16",
        "wgmma.m64n256k32.e5m2.acc_f32", "wgmma.m64n256k32.e5m2.acc_f16"]
    assert not any(getattr(f, "family", "mma") == "wgmma" for f in all_forms())
    assert WG["f32"].mnk == (64, 256, 16)


def test_diagonal_batch_and_pick_round_trip():
    form = WG["f32"]
    cs = designed.cases(form)
    a, b, c = batch.problems(form, cs)
    assert len(a) == -(-len(cs) // 64)
    d = Model(block=16).mma(a, b, c)
    got = batch.pick(form, d, len(cs))
    with np.errstate(invalid="ignore"):
        want = Model(block=16).dot(*designed.vectors(cs))
    assert np.array_equal(np.nan_to_num(got, nan=7.0), np.nan_to_num(want, nan=7.0))


@pytest.mark.parametrize("acc,params", [("f32", dict(block=16, extra_bits=2, exponent="raw")),
                                        ("f32", dict(block=8, extra_bits=-8, c_join="last")),
                                        ("f16", dict(block=16, extra_bits=2, exponent="raw"))])
def test_wgmma_inference_recovers_simulated_features(acc, params):
    form = WG[acc]
    truth = Model(in_type="f16", acc=acc, **params)
    cs, d = batch.run(form, Simulated(truth))
    fi = inference.infer(form, cs, d)
    got = fi.model.features()
    for feat in ("block", "extra_bits", "exponent", "subnormals"):
        assert got[feat] == truth.features()[feat], (feat, fi.evidence.get(feat))
    assert fi.designed_match == (len(cs), len(cs))


def test_pack_puts_the_problem_in_k_slice_0():
    from mmabench.wgmma import fragments as wfr
    from mmabench.wgmma.layout import TileLayout

    form = WG["f32"]
    rng = np.random.default_rng(1)
    a = wfr.quantize(rng.uniform(-1, 1, (64, 16)), "f16")
    b = wfr.quantize(rng.uniform(-1, 1, (16, 256)), "f16")
    c = wfr.quantize(rng.uniform(-1, 1, (64, 256)), "f32")
    a_tile, b_tile, c_words = pack(form, a, b, c)
    # the same bytes as a tile of [a | 0 0 0] packed directly
    full = np.zeros((64, 64))
    full[:, :16] = a
    assert np.array_equal(a_tile, TileLayout("128b").pack(wfr.row_bytes(full, "f16")))
    assert np.array_equal(wfr.d_matrix(form.wg, c_words)[0], c)
    assert b_tile.size == 256 * 64 * 2


WG_ALL = {f.name: f for f in wgmma_forms()}
# the H100 FP8 wgmma of the published models (32 products, 13 fraction bits, the f32 result cut
# to them: internal_bits 14) and variants the inference must tell apart
FP8_TRUTHS = [
    ("wgmma.m64n256k32.e4m3.acc_f32", dict(block=32, internal_bits=14, extra_bits=0)),
    ("wgmma.m64n256k32.e5m2.acc_f32", dict(block=32, extra_bits=-10)),
    ("wgmma.m64n256k32.e4m3.acc_f16", dict(block=32, extra_bits=-10)),
    ("wgmma.m64n256k32.e5m2.acc_f32", dict(block=32, extra_bits=2, exponent="raw")),
]


def test_every_wgmma_type_and_accumulator_is_a_form():
    from mmabench.wgmma.catalogue import TYPE_ACC
    assert {(f.ab_type, f.acc) for f in WG_ALL.values()} == set(TYPE_ACC)
    assert WG_ALL["wgmma.m64n256k32.e4m3.acc_f32"].mnk == (64, 256, 32)


@pytest.mark.parametrize("name,params", FP8_TRUTHS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FP8_TRUTHS)])
def test_wgmma_fp8_inference_recovers_the_width(name, params):
    form = WG_ALL[name]
    truth = Model(in_type=form.ab_type, acc=form.acc, **params)
    cs, d = batch.run(form, Simulated(truth))
    fi = inference.infer(form, cs, d)
    got = fi.model
    assert fi.features["alignment_bits"] == truth.internal_bits + truth.extra_bits
    assert got.block == truth.block and got.exponent == truth.exponent
    if form.acc == "f32":  # an f16 result hides whether the f32-side result was cut
        assert got.internal_bits == truth.internal_bits, fi.evidence.get("result_bits")
    assert fi.designed_match == (len(cs), len(cs))


def test_fp8_pack_keeps_e5m2_inf():
    form = WG_ALL["wgmma.m64n256k32.e5m2.acc_f32"]
    a = np.zeros((64, 32))
    a[0, 0] = np.inf
    a_tile, _, _ = pack(form, a, np.zeros((32, 256)), np.zeros((64, 256)))
    assert 0x7C in a_tile.reshape(-1).tolist()          # e5m2 +inf, not 57344 (0x7B)
