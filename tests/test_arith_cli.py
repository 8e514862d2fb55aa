"""`python -m mmabench arith`: offline output, and the GPU flow end to end on SIMULATED hardware
(the probe replaced by a model with known features; the chain check by its CPU twin)."""

import json

import numpy as np
import pandas as pd
import pytest

from mmabench.arith import chain, cli as arith_cli, device as arith_device
from mmabench.arith.model import Model
from mmabench.cli import main


def test_offline_prints_published_features_and_consequences(capsys):
    assert main(["arith", "--offline", "--trials", "4", "--max-k", "256"]) == 0
    out = capsys.readouterr().out
    assert "published" in out and "Fasi" in out and "the H100 model" in out
    assert "139 agree" in out or " agree, " in out
    assert max(len(line) for line in out.splitlines()) <= 120
    assert "IEEE RN recursive" in out and "hardware model" in out


def test_bad_form_is_one_line_error(capsys):
    assert main(["arith", "--offline", "--form", "m99"]) == 2
    assert "unknown form" in capsys.readouterr().err


TRUTH = dict(block=8, extra_bits=1, rounding="rz")


class FakeGpu(arith_device.Simulated):
    def __init__(self, form):
        super().__init__(Model(in_type=form.ab_type, acc=form.acc, **TRUTH,
                               **({"b_type": form.b_type} if form.b_type != form.ab_type else {})))

        class P:
            ptx = "// simulated"
        self.probe = P()


def fake_chain_check(form, model, rng, iters=64):
    from mmabench.mma import fragments as fr
    m, n, k = form.mnk
    a = fr.quantize(rng.uniform(-1, 1, (m, k)), form.ab_type)
    b = fr.quantize(rng.uniform(-1, 1, (k, n)), form.ab_type)
    c = fr.quantize(rng.uniform(-1, 1, (2, m, n)), form.acc)
    steps = 1 + iters * 16
    hw = Model(in_type=form.ab_type, acc=form.acc, **TRUTH)
    out = {}
    for label, a_hw in (("layout as in fragments.py", a),
                        ("A registers 0,1 swapped",
                         chain.a_from_fragments(form, chain.swap_registers(fr.to_fragments(form, "A", a))))):
        d = chain.expected_chain(a_hw, b, c, steps, hw)
        words = np.stack([fr.to_fragments(form, "C", dj) for dj in d])[None]
        out[label] = chain.check_chain(form, words, a, b, c, steps, model)
    return out


@pytest.fixture
def simulated_h100(monkeypatch):
    """An sm_90 'GPU' whose probe is FakeGpu (the model with TRUTH's features)."""
    from mmabench import record, hardware
    monkeypatch.setattr(hardware, "require_gpu", lambda: None)
    monkeypatch.setattr(hardware, "device_arch", lambda device=0: "sm_90")
    monkeypatch.setattr(record, "gpu_context", lambda device=0: {
        "gpu_name": "NVIDIA H100 (simulated)", "compute_capability": "9.0", "sm_count": 132,
        "driver_version": "", "driver_cuda_version": "", "cuda_runtime_version": ""})
    monkeypatch.setattr(arith_device, "Gpu", FakeGpu)


def test_gpu_flow_on_simulated_hardware(simulated_h100, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(arith_cli, "chain_check", fake_chain_check)
    rc = main(["arith", "--form", "m16n8k8", "--vectors", "3000", "--trials", "2", "--max-k", "64",
               "--results", str(tmp_path), "--seed", "1"])
    out = capsys.readouterr().out
    assert rc == 0, out
    folder = next(tmp_path.iterdir())
    rows = pd.read_csv(folder / "arith.csv")
    assert set(rows["form"]) == {"m16n8k8.f16.acc_f16", "m16n8k8.f16.acc_f32", "m16n8k8.bf16.acc_f32"}
    assert (rows["match_rate"] == 1.0).all()
    assert rows["chain_check"].str.startswith("bit-exact").all()
    assert not rows["chain_check_wrong_layout"].str.startswith("bit-exact").any()
    feats = json.loads((folder / "features.json").read_text())
    assert feats["m16n8k8.f16.acc_f32"]["model"]["block"] == 8
    assert feats["m16n8k8.f16.acc_f32"]["model"]["extra_bits"] == 1
    designed = pd.read_csv(folder / "designed_vectors.csv", dtype={"hw_hex": str})
    assert designed["model_matches"].all() and designed["hw_hex"].str.len().isin([4, 8]).all()
    assert "published" in out and "measured" in out


def test_gpu_flow_fp8_on_simulated_hardware(simulated_h100, tmp_path, capsys):
    """FP8 forms (not in the default set) run by name and answer issue 10's width."""
    rc = main(["arith", "--form", "m16n8k32.e4m3.acc_f32,e4m3.e5m2.acc_f16", "--vectors", "3000", "--trials", "2", "--max-k", "64",
               "--results", str(tmp_path), "--seed", "1"])
    out = capsys.readouterr().out
    assert rc == 0, out
    folder = next(tmp_path.iterdir())
    rows = pd.read_csv(folder / "arith.csv")
    assert set(rows["form"]) == {"m16n8k32.e4m3.e5m2.acc_f16", "m16n8k32.e4m3.acc_f32"}
    assert (rows["match_rate"] == 1.0).all()
    assert rows["chain_check"].str.startswith("not run").all()
    feats = json.loads((folder / "features.json").read_text())
    assert feats["m16n8k32.e4m3.acc_f32"]["features"]["alignment_bits"] == 24 + TRUTH["extra_bits"]
    assert "FP8 accumulation width" in out and "m16n8k32.e4m3.acc_f32: alignment 25 bits" in out


def test_gpu_flow_wgmma_on_simulated_hardware(simulated_h100, tmp_path, capsys):
    rc = main(["arith", "--form", "wgmma.m64n256k16.f16.acc_f32", "--vectors", "3000", "--trials",
               "2", "--max-k", "64", "--results", str(tmp_path), "--seed", "1"])
    out = capsys.readouterr().out
    assert rc == 0, out
    folder = next(tmp_path.iterdir())
    rows = pd.read_csv(folder / "arith.csv")
    assert list(rows["form"]) == ["wgmma.m64n256k16.f16.acc_f32"]
    assert (rows["match_rate"] == 1.0).all() and (rows["random_vectors"] >= 5 * 16384).all()
    feats = json.loads((folder / "features.json").read_text())
    assert feats["wgmma.m64n256k16.f16.acc_f32"]["model"]["block"] == TRUTH["block"]
    designed = pd.read_csv(folder / "designed_vectors.csv")
    assert designed["model_matches"].all()


def _seed_said(out: str) -> int:
    (line,) = [ln for ln in out.splitlines() if ln.startswith("seed ")]
    seed = int(line.split()[1].rstrip(";"))
    assert line == f"seed {seed}; rerun with --seed {seed}"
    return seed


def test_offline_draws_a_seed_says_it_and_draws_the_same_table_again_with_it(capsys):
    argv = ["arith", "--offline", "--trials", "2", "--max-k", "64"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    seed = _seed_said(first)
    assert main(argv + ["--seed", str(seed)]) == 0
    assert capsys.readouterr().out == first


def test_gpu_flow_records_the_seed_it_drew(simulated_h100, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(arith_cli, "chain_check", fake_chain_check)
    assert main(["arith", "--form", "m16n8k16.f16.acc_f32", "--vectors", "300", "--trials", "2",
                 "--max-k", "64", "--results", str(tmp_path)]) == 0
    seed = _seed_said(capsys.readouterr().out)
    folder = next(tmp_path.iterdir())
    assert set(pd.read_csv(folder / "arith.csv")["seed"]) == {seed}
    assert set(pd.read_csv(folder / "consequence.csv")["seed"]) == {seed}
    assert json.loads((folder / "context.json").read_text())["seed"] == seed
