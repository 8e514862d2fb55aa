"""The published features as data, the model they imply, and their agreement with the shipped
H100 measurements (no GPU)."""

import numpy as np
import pytest

from mmabench.arith import measured, published
from mmabench.arith.cli import fp8_consequence_models
from mmabench.arith.consequence import table
from mmabench.arith.forms import known_forms

H100 = "NVIDIA H100 80GB HBM3"
FORMS = {f.name: f for f in known_forms()}


@pytest.fixture
def shipped_h100():
    """The H100 arith results shipped in data/results: project data, so missing fails the test."""
    assert H100 in measured.gpus(), f"no shipped arith results of {H100} under {measured.RESULTS}"


def test_every_row_is_well_formed_and_cited():
    rows = published.reported()
    assert rows
    for r in rows:
        assert r.status in published.STATUSES and r.source in published.sources(), r
        assert r.instruction in ("mma", "wgmma") and r.acc in ("f16", "f32", "any"), r


def test_published_models_follow_the_rows():
    wg = published.published_model(FORMS["wgmma.m64n256k32.e4m3.acc_f32"], "H100")
    assert (wg.block, wg.internal_bits + wg.extra_bits, wg.internal_bits) == (32, 14, 14)
    fp8 = published.published_model(FORMS["m16n8k32.e5m2.acc_f32"], "H100")
    assert (fp8.k_order, fp8.c_join, fp8.core_type) == ("pairs", "add", "f16")
    k8 = published.published_model(FORMS["m16n8k8.f16.acc_f32"], "H100")
    assert k8.block == 8                       # 16 per rounding, capped at the instruction's k
    # no row gives the f16 path of FP8 mma.sync: no guessed model
    assert published.published_model(FORMS["m16n8k32.e4m3.acc_f16"], "H100") is None
    assert published.published_model(FORMS["m16n8k16.f16.acc_f32"], None) is None
    assert published.gpu_key("NVIDIA H200") == "H100" and published.gpu_key("Tesla T4") is None


def test_shipped_h100_measurements_reproduce_the_published_features(shipped_h100):
    """Every published H100 feature is reproduced, open (the data cannot tell), or the one known
    difference: the sign of an f16 result rounded to zero (+0 on the H100, -0 in one model)."""
    rows = measured.agreement(known_forms(), H100)
    assert sum(r["agree"] is True for r in rows) > 100
    differ = {(r["feature"], r["source"]) for r in rows if r["agree"] is False}
    assert differ <= {("zero_sign", "KM-code")}, differ
    assert not [r for r in rows if r["agree"] is None]          # every form measured


def test_fp8_wgmma_accumulation_loses_what_mma_sync_keeps(shipped_h100):
    models = fp8_consequence_models(lambda n: measured.model(n, H100))
    assert set(models) == {"wgmma k32", "mma.sync m16n8k32"}
    rows = table(models, k_instr=32, trials=4, ks=(1024,), rng=np.random.default_rng(0),
                 dists=("uniform(0,1)",))
    err = {r["method"]: r["median_rel_err"] for r in rows}
    assert err["wgmma k32"] > 1e-3 > 1e-6 > err["mma.sync m16n8k32"]
    assert err["IEEE RN recursive"] < 1e-6
