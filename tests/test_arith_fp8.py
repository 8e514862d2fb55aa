"""FP8 (m16n8k32, e4m3/e5m2 A and B) in `arith`, without a GPU: the inference against simulated hardware
with FP8 inputs (including an alignment narrower than f32's 24 bits and sm_90's emulation: two
chained f16 HMMAs, then C added by an FADD/HADD2), the emulation model against its composition
from the f16 model, the probe's 8-bit packing, and the probe PTX assembled by ptxas."""

import numpy as np
import pytest

from mmabench.arith import batch, designed, inference, mma_probe
from mmabench.arith.device import Simulated
from mmabench.arith.formats import from_bits, quantize, same, to_bits
from mmabench.arith.forms import all_forms, by_names, fp8_forms
from mmabench.arith.model import Model
from mmabench.arith.validate import REGIMES, problems
from mmabench.core.errors import UserError
from mmabench.mma import fragments as fr

FP8 = {f.name: f for f in fp8_forms()}

# what sm_90's lowering implies (two HMMA.16816 on k mod 4 in {0,1} then {2,3}, the FP8 values
# unpacked to f16, C by one IEEE add), and others
SM90 = dict(block=16, k_order="pairs", core_type="f16")
TRUTHS = [
    ("m16n8k32.e4m3.acc_f32", dict(SM90, extra_bits=2, exponent="raw", c_join="add")),
    ("m16n8k32.e5m2.acc_f32", dict(SM90, extra_bits=2, exponent="raw", c_join="add")),
    ("m16n8k32.e4m3.acc_f32", dict(block=32, extra_bits=-10, c_join="first")),        # 14 bits
    ("m16n8k32.e5m2.acc_f32", dict(block=8, extra_bits=-5, c_join="last", align="floor")),
    ("m16n8k32.e5m2.acc_f32", dict(block=32, extra_bits=4, rounding="rn")),
    ("m16n8k32.e4m3.acc_f16", dict(SM90, extra_bits=2, exponent="raw", c_join="add", inter="acc")),
    ("m16n8k32.e5m2.acc_f16", dict(SM90, extra_bits=2, exponent="raw", c_join="add", inter="acc")),
    ("m16n8k32.e5m2.acc_f16", dict(block=16, extra_bits=5, c_join="add", inter="acc",
                                   exponent="raw", subnormals=False)),
    ("m16n8k32.e4m3.acc_f16", dict(block=32, extra_bits=-8, out_rounding="rz", overflow="saturate")),
    ("m16n8k32.e4m3.e5m2.acc_f32", dict(SM90, extra_bits=2, exponent="raw", c_join="add")),
    ("m16n8k32.e5m2.e4m3.acc_f16", dict(SM90, extra_bits=2, exponent="raw", c_join="add", inter="acc")),
    ("m16n8k32.e5m2.e4m3.acc_f32", dict(block=32, extra_bits=-10, subnormals=False)),
    ("m16n8k32.e4m3.e5m2.acc_f16", dict(block=8, extra_bits=1)),
    ("m16n8k32.e4m3.acc_f16", dict(block=8, extra_bits=3, inter="acc")),
    ("m16n8k32.e4m3.acc_f32", dict(block=16, extra_bits=2, exponent="raw", c_join="add")),  # k 0-15
    ("m16n8k32.e5m2.acc_f16", dict(block=8, k_order="pairs", extra_bits=1, inter="acc")),
]


def _observable(form, truth: dict) -> list[str]:
    names = ["block", "extra_bits", "align", "subnormals", "exponent"]
    split = truth.get("block", 16) < form.mnk[2]
    if split:
        names.append("k_order")
    if form.acc == "f32":
        if truth.get("extra_bits", 0) >= 2:   # narrower alignments drop the rounding probes
            names.append("rounding")
        if split:
            names.append("c_join")
    else:
        names += ["out_rounding", "overflow"]
        if split:
            names += ["inter", "c_join"]
    return names


@pytest.mark.parametrize("name,params", TRUTHS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(TRUTHS)])
def test_inference_recovers_simulated_fp8_features(name, params):
    form = FP8[name]
    truth = Model(in_type=form.ab_type, acc=form.acc, **params,
                  **({"b_type": form.b_type} if form.b_type != form.ab_type else {}))
    cs, d = batch.run(form, Simulated(truth))
    fi = inference.infer(form, cs, d)
    got = fi.model.features()
    assert got["b_type"] == truth.b_type
    for feat in _observable(form, params):
        assert got[feat] == truth.features()[feat], (feat, got[feat], fi.evidence.get(feat))
    assert fi.features["alignment_bits"] == 24 + params["extra_bits"]
    assert fi.designed_match == (len(cs), len(cs))
    assert fi.features["specials_ieee"] is True


def test_a_wrong_width_is_not_read_as_the_truth():
    """14-bit hardware is read as 14 bits, and a 26-bit model misses designed cases."""
    form = FP8["m16n8k32.e4m3.acc_f32"]
    cs, d = batch.run(form, Simulated(Model(in_type="e4m3", block=32, extra_bits=-10)))
    fi = inference.infer(form, cs, d)
    assert fi.features["alignment_bits"] == 14
    wrong = Model(in_type="e4m3", block=32, extra_bits=2)
    assert not same(wrong.dot(*designed.vectors(cs)), d, "f32").all()


@pytest.mark.parametrize("form", list(FP8.values()), ids=lambda f: f.name)
def test_fp8_designed_cases_are_exact_values(form):
    cs = designed.cases(form)
    a, b, c = designed.vectors(cs)
    for x, fmt in ((a, form.ab_type), (b, form.b_type), (c, form.acc)):
        fin = np.isfinite(x)
        back = from_bits(to_bits(np.where(fin, x, 0.0), fmt), fmt)
        assert np.array_equal(back, np.where(fin, x, 0.0)), fmt
    # e4m3 has no inf: no infinite designed input there
    assert not np.isinf(a).any() or form.ab_type == "e5m2"
    assert not np.isinf(b).any() or form.b_type == "e5m2"
    js = [c.params["j"] for c in cs if c.family == "extra"]
    assert min(js) < 0 and max(js) >= 5        # below 24 bits and past the f16 HMMA's 26


def test_split_products():
    for t in ("e4m3", "e5m2"):
        for v in (2.0 ** -18 if t == "e4m3" else 2.0 ** -32, 3 * 2.0 ** -13, -(2.0 ** 16), 1.5):
            u, w = designed.split(v, t)
            assert u * w == v and quantize(np.array([u, w]), t).tolist() == [u, w]
    with pytest.raises(ValueError):
        designed.split(2.0 ** -19, "e4m3")


def _halves(model16, a, b, c, acc):
    """sm_90's lowering spelled out (its SASS, test_sm90_lowering_is_two_hmmas_on_pairs):
    the FP8 values unpacked to f16, HMMA(k mod 4 in {0,1}, C=0), HMMA(k mod 4 in {2,3}, C=first),
    then one RN add of C."""
    lo = [i for i in range(32) if i % 4 < 2]
    hi = [i for i in range(32) if i % 4 >= 2]
    z = np.zeros_like(c)
    h = model16.mma(a[..., lo], b[..., lo, :], z)
    h = model16.mma(a[..., hi], b[..., hi, :], h)
    if acc == "f32":
        return (h.astype(np.float32) + c.astype(np.float32)).astype(np.float64)
    return quantize(h + c, "f16")


@pytest.mark.parametrize("acc", ["f32", "f16"])
def test_add_model_is_two_chained_f16_mmas_and_one_ieee_add(acc):
    rng = np.random.default_rng(3)
    form = FP8[f"m16n8k32.e4m3.acc_{acc}"]
    model = Model(in_type="e4m3", acc=acc, **SM90, extra_bits=2, exponent="raw", c_join="add",
                  inter="acc")
    model16 = Model(in_type="f16", acc=acc, block=16, extra_bits=2, exponent="raw")
    for regime in REGIMES:
        a, b, c = problems(form, regime, 40, rng)
        with np.errstate(invalid="ignore", over="ignore"):
            got, want = model.mma(a, b, c), _halves(model16, a, b, c, acc)
        assert same(got, want, acc).all(), regime
    # and the fused models, or the halves k 0-15 / 16-31, differ from it somewhere
    a, b, c = problems(form, "cancellation", 40, rng)
    assert not same(model.with_(c_join="first").mma(a, b, c), model.mma(a, b, c), acc).all()
    # X - X + tiny at k = 0, 1, 2: one fused block in k order 0-15 (tiny lost next to X), two
    # HMMAs under 'pairs' (X - X = 0 in the first, tiny alone in the second)
    a, b = np.zeros(32), np.zeros(32)
    a[:3], b[:3] = (256.0, 256.0, 2.0 ** -9), (256.0, -256.0, 2.0 ** -9)
    assert model.dot(a, b, np.array(0.0)) == 2.0 ** -18
    assert model.with_(k_order="natural").dot(a, b, np.array(0.0)) == 0.0


def _sass_of_probe(form, arch="sm_90"):
    from mmabench.compiler import toolchain
    from mmabench.arith.mma_probe import render

    try:
        cubin = toolchain.assemble(render(form, arch), arch).cubin
        return toolchain.disassemble(cubin)
    except toolchain.ToolMissing as e:
        pytest.skip(str(e))


@pytest.mark.parametrize("acc", ["f32", "f16"])
def test_sm90_lowering_is_two_hmmas_on_pairs(acc):
    """What the model's 'pairs' order and f16 core stand on: ptxas turns one FP8 m16n8k32 into
    F2FP unpacks to f16, two HMMA.16816 (the first on the low halves of the A/B registers, i.e.
    k mod 4 in {0,1} of the PTX fragment, from a zero accumulator; the second on the high halves,
    accumulating onto the first) and an FADD/HADD2 with C."""
    from mmabench.compiler import sass as sass_mod

    form = FP8[f"m16n8k32.e4m3.acc_{acc}"]
    text = _sass_of_probe(form)
    instrs, _ = sass_mod.parse(text)
    ops = [i for i in instrs if i.base in ("HMMA", "F2FP", "FADD", "HADD2", "QMMA")]
    hmma = [i for i in ops if i.base == "HMMA"]
    assert len(hmma) == 2 and not any(i.base == "QMMA" for i in ops)
    assert all(".16816" in i.opcode and f".{acc.upper()}" in i.opcode for i in hmma)
    assert hmma[0].operands.split(",")[-1].strip() == "RZ"          # first from zero
    unpack = [i for i in ops if i.base == "F2FP"]
    # two FP8 values per unpack: A and B registers, a low and a high half each
    assert len(unpack) == 2 * (form.a_regs + form.b_regs)
    assert all("E4M3.UNPACK_B" in i.opcode for i in unpack)
    # the first HMMA reads only low-half unpacks, the second only high-half ones (.H1)
    first = hmma[0]
    before = [u for u in unpack if instrs.index(u) < instrs.index(first)]
    src = {u.operands.split(",")[0].strip(): ".H1" in u.operands for u in before}
    a_b_regs = [r.strip().split(".")[0] for r in first.operands.split(",")[1:3]]
    assert len(a_b_regs) == 2 and all(r in src and not src[r] for r in a_b_regs)
    add = "FADD" if acc == "f32" else "HADD2"
    assert sum(i.base == add for i in ops) == form.c_regs
def test_fp8_random_problems_hold_fp8_values():
    rng = np.random.default_rng(4)
    for form in FP8.values():
        for regime in REGIMES:
            a, b, c = problems(form, regime, 3, rng)
            assert np.array_equal(quantize(a, form.ab_type), a) and np.abs(a).max() <= 57344
            assert np.array_equal(quantize(b, form.b_type), b)
            assert np.isfinite(a).all() and np.isfinite(b).all()


@pytest.mark.parametrize("type_", ["e4m3", "e5m2"])
def test_fp8_bits_round_trip(type_):
    codes = np.arange(256, dtype=np.uint8)
    vals = from_bits(codes, type_)
    fin = ~np.isnan(vals)
    assert np.array_equal(to_bits(vals[fin], type_), codes[fin])
    assert quantize(np.array([1e6]), type_)[0] == (448.0 if type_ == "e4m3" else 57344.0)
    if type_ == "e5m2":
        assert to_bits(np.array([np.inf]), type_)[0] == 0x7C      # inf reaches the hardware


@pytest.mark.parametrize("form", list(FP8.values()), ids=lambda f: f.name)
def test_fp8_probe_packing(form):
    rng = np.random.default_rng(5)
    m, n, k = form.mnk
    a = quantize(rng.uniform(-4, 4, (3, m, k)), form.ab_type)
    b = quantize(rng.uniform(-4, 4, (3, k, n)), form.b_type)
    for kind, x in (("A", a), ("B", b)):
        assert np.array_equal(mma_probe.pack(form, kind, x), np.stack([fr.to_fragments(form, kind, mat) for mat in x]))
    assert mma_probe.pack(form, "A", a).shape == (3, 32, form.a_regs)
    # the words decode to the matrix through the 8-bit layout of fragments.py
    words = mma_probe.pack(form, "A", a)[0]
    rows, cols = fr._lane_coords("A", m * k // 32, 8)
    back = np.zeros((m, k))
    back[rows, cols] = fr.fp8_decode(words.view(np.uint8).reshape(32, -1), form.ab_type)
    assert np.array_equal(back, a[0])


@pytest.mark.parametrize("arch", ["sm_89", "sm_90"])
@pytest.mark.parametrize("form", list(FP8.values()), ids=lambda f: f.name)
def test_fp8_probe_ptx_assembles_with_the_expected_opcodes(form, arch):
    from mmabench.compiler import sass, toolchain

    ptx = mma_probe.render(form, target=arch)
    assert form.instruction in ptx and "${" not in ptx and f".target {arch}" in ptx
    hist = sass.histogram(toolchain.disassemble(toolchain.assemble(ptx, arch).cubin))
    low = form.sass_for(arch)
    tensor = {op: n for op, n in hist.items() if op.startswith(("HMMA", "QMMA"))}
    assert tensor == {low.opcode: low.per_mma}
    for helper in low.helpers:
        assert hist.get(helper, 0) >= 1, (helper, hist)


def test_form_selection_keeps_fp8_out_of_the_default():
    assert all(f.ab_type in ("f16", "bf16") for f in all_forms())
    assert [f.name for f in by_names("fp8")] == list(FP8)
    assert [f.name for f in by_names("acc_f16")] == [f.name for f in all_forms() if f.acc == "f16"]
    assert [f.name for f in by_names("m16n8k32.e5m2.acc")] == ["m16n8k32.e5m2.acc_f16", "m16n8k32.e5m2.acc_f32"]
    assert len(by_names("e4m3.e5m2")) == 2 and len(by_names("fp8")) == 8
    with pytest.raises(UserError):
        by_names("e4m3.e6m2")


@pytest.mark.parametrize("gpu", ["NVIDIA H100 80GB HBM3", "NVIDIA H200"])
def test_promotion_every_128_bounds_the_wgmma_fp8_error_that_otherwise_grows_with_k(gpu):
    """wgmma FP8 keeps 14 bits per instruction: a long chain of e4m3 products in (0, 1) stagnates
    (tens of percent at K = 16k), while the same chain promoted to an f32 register every 128
    elements (DeepSeek-V3) keeps its error near one chain's (about 5e-4). Models: the shipped
    bit-exact ones of each GPU."""
    from mmabench.arith import measured
    from mmabench.arith.consequence import table

    model = measured.model("wgmma.m64n256k32.e4m3.acc_f32", gpu)
    assert model is not None, f"no shipped wgmma FP8 model for {gpu}"
    rows = table({"wgmma k32": model}, k_instr={"wgmma k32": 32}, trials=8, ks=[16384],
                 rng=np.random.default_rng(3), dists=("uniform(0,1)",), promote_every=128)
    err = {r["method"]: r["median_rel_err"] for r in rows}
    assert err["wgmma k32"] > 0.1
    assert err["wgmma k32, promoted to f32 every 128"] < 1e-3
