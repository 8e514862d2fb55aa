"""The exact check of the mma chain (CPU, simulated hardware): the fast chain equals stepping the
model; the check passes for the right layout and FAILS for a deliberately wrong one; the probe
PTX renders, assembles and holds exactly one tensor instruction of the right kind."""

import numpy as np
import pytest

from mmabench.arith import chain, mma_probe
from mmabench.arith.formats import from_bits
from mmabench.arith.forms import all_forms
from mmabench.arith.model import Model
from mmabench.mma import fragments as fr

FORMS = all_forms()


def _inputs(form, rng, ilp=2):
    m, n, k = form.mnk
    a = fr.quantize(rng.uniform(-1, 1, (m, k)), form.ab_type)
    b = fr.quantize(rng.uniform(-1, 1, (k, n)), form.ab_type)
    c = fr.quantize(rng.uniform(-1, 1, (ilp, m, n)), form.acc)
    return a, b, c


def _model(form, **kw):
    return Model(in_type=form.ab_type, acc=form.acc, **kw)


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.name)
@pytest.mark.parametrize("params", [dict(block=8, extra_bits=0), dict(block=16, extra_bits=3, rounding="rn",
                                                                        exponent="raw", inter="acc")])
def test_fast_chain_equals_stepping_the_model(form, params):
    rng = np.random.default_rng(3)
    a, b, c = _inputs(form, rng)
    model = _model(form, **params)
    steps = 1 + 20 * 16
    slow = c.copy()
    for s in chain._signs(steps):
        slow = model.mma(s * a, b, slow)
    assert np.array_equal(chain.ChainSim(a, b, c, model).at(steps), slow)
    assert np.array_equal(chain.expected_chain(a, b, c, steps, model), slow)


def test_signs_follow_the_ptx_chain():
    # prologue +A, then the loop body: +A, -A, +A, -A ...
    assert list(chain._signs(6)) == [1, 1, -1, 1, -1, 1]


def _chain_words(form, a, b, c, steps, model, warps=3):
    d = chain.expected_chain(a, b, c, steps, model)
    words = np.stack([fr.to_fragments(form, "C", dj) for dj in d])
    return np.broadcast_to(words, (warps,) + words.shape).copy()


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.name)
def test_check_passes_right_layout_and_rejects_a_swapped_one(form):
    rng = np.random.default_rng(5)
    a, b, c = _inputs(form, rng)
    model = _model(form, block=8, extra_bits=0)
    steps = 1 + 64 * 16
    # simulated hardware, right layout: its words are the model's chain
    words = _chain_words(form, a, b, c, steps, model)
    ok = chain.check_chain(form, words, a, b, c, steps, model)
    assert ok.ok and ok.mismatches == 0
    # wrong layout: the kernel got A's registers 0 and 1 swapped, so the hardware multiplied A'
    a_words = fr.to_fragments(form, "A", a)
    a_wrong = chain.a_from_fragments(form, chain.swap_registers(a_words))
    assert not np.array_equal(a_wrong, a)
    hw = _chain_words(form, a_wrong, b, c, steps, model)
    bad = chain.check_chain(form, hw, a, b, c, steps, model)
    assert not bad.ok and bad.mismatches > 0


def test_check_rejects_a_one_ulp_error():
    form = next(f for f in FORMS if f.acc == "f32")
    rng = np.random.default_rng(7)
    a, b, c = _inputs(form, rng)
    model = _model(form, block=8)
    words = _chain_words(form, a, b, c, 33, model)
    words[1, 0, 5, 2] += 1                      # one f32 output one ulp off, in one warp
    res = chain.check_chain(form, words, a, b, c, 33, model)
    assert res.mismatches == 1


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.name)
def test_probe_ptx_assembles_with_one_tensor_instruction(form):
    from mmabench.compiler import sass, toolchain

    ptx = mma_probe.render(form)
    assert form.instruction in ptx and "${" not in ptx
    cubin = toolchain.assemble(ptx, "sm_90").cubin
    hist = sass.histogram(toolchain.disassemble(cubin))
    hmma = {op: n for op, n in hist.items() if op.startswith("HMMA")}
    assert hmma == {form.sass: 1}


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.name)
def test_probe_packing_round_trips(form):
    rng = np.random.default_rng(2)
    m, n, k = form.mnk
    a = fr.quantize(rng.uniform(-4, 4, (5, m, k)), form.ab_type)
    assert np.array_equal(mma_probe.pack(form, "A", a), np.stack([fr.to_fragments(form, "A", x) for x in a]))
    c = fr.quantize(rng.uniform(-4, 4, (5, m, n)), form.acc)
    words = mma_probe.pack(form, "C", c)
    assert np.array_equal(from_bits(mma_probe.unpack_bits(form, words), form.acc), c)
