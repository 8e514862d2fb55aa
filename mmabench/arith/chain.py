"""The exact output check of the mma throughput chain (ptx/mma_chain.ptx).

The chain: D = C; one "+A" step before the clock (the prologue); then `iters` loop trips of
`unroll` steps, step s using +A when s is even and -A when s is odd (render.py: BODY). So the
whole sequence is  +A, then (+A, -A) repeated  -- steps = 1 + iters * unroll, each step one
instruction D = (+-A).B + D computed by the hardware's arithmetic (the model).

`expected_chain` runs the model through all the steps (bit exact: no bound needed). With
truncation the chain does not settle into a short cycle (it drifts by about an ulp per step), so
every step is simulated, with the products computed once (ChainSim).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmabench.arith.formats import same
from mmabench.mma import fragments as fr


def _signs(steps: int) -> np.ndarray:
    """+1 / -1 of each step: the prologue +A, then +A, -A, +A, ..."""
    s = np.ones(steps, dtype=np.float64)
    s[2::2] = -1.0
    return s


class ChainSim:
    """The chain of one (A, B, C) under a model: the products and their exponents are computed
    once (Model.products), then each step is the model's fused blocks on +-products
    (Model.blocks), so it is Model.mma step by step (a CPU test checks it)."""

    def __init__(self, a, b, c, model):
        self.model = model
        a, b, c = (np.asarray(x, np.float64) for x in (a, b, c))
        self.shape = c.shape
        m, n = c.shape[-2:]
        k = a.shape[-1]
        a, b, c = model.flushed(a, b, c)
        rows = np.broadcast_to(a[:, None, :], (m, n, k)).reshape(-1, k)      # output (i, j): row i
        cols = np.broadcast_to(b.T[None, :, :], (m, n, k)).reshape(-1, k)    # and column j
        prods, pexp = model.products(rows, cols)
        lead = int(np.prod(self.shape[:-2], dtype=np.int64))                 # one chain each
        self.prods = np.tile(prods, (lead, 1))
        self.pexp = np.tile(pexp, (lead, 1))
        self.c = c.reshape(-1)

    def step(self, d, sign):
        run = self.model.blocks(d, sign * self.prods, self.pexp)
        return self.model._to_f16(run) if self.model.acc == "f16" else run

    def at(self, steps: int) -> np.ndarray:
        """D after `steps` steps from C."""
        d = self.c
        signs = _signs(steps)
        seen: dict[bytes, int] = {}
        i = 0
        while i < steps:
            d = self.step(d, signs[i])
            i += 1
            if i % 2 == 1:                      # after the prologue and whole (+A, -A) pairs
                key = d.tobytes()
                if key in seen:                 # periodic from here on: skip whole periods
                    period = i - seen[key]
                    i += ((steps - i) // period) * period
                    seen.clear()
                else:
                    seen[key] = i
        return d.reshape(self.shape)


def expected_chain(a: np.ndarray, b: np.ndarray, c: np.ndarray, steps: int, model) -> np.ndarray:
    """Bit-exact D of the chain: a [m,k], b [k,n], c [..., m, n] (one chain per leading index)."""
    if steps <= 0:
        return np.asarray(c, np.float64).copy()
    # ChainSim covers finite inputs with C in the first block; anything else steps Model.mma
    if all(np.isfinite(x).all() for x in (a, b, c)) and model.c_join == "first":
        return ChainSim(a, b, c, model).at(steps)
    d = np.asarray(c, np.float64).copy()
    for s in _signs(steps):
        d = model.mma(s * np.asarray(a, np.float64), b, d)
    return d


@dataclass
class ChainCheck:
    ok: bool
    mismatches: int
    total: int
    max_abs_err: float
    detail: str


def check_chain(form, words: np.ndarray, a, b, c, steps: int, model) -> ChainCheck:
    """GPU output words [warps, ilp, 32, c_regs] of the chain kernel against the model, bit for bit.

    a [m,k], b [k,n], c [ilp, m, n]: the values make_inputs drew (after quantisation)."""
    values = fr.from_fragments_batch(form, words)              # [warps, ilp, m, n]
    expected = expected_chain(a, b, c, steps, model)           # [ilp, m, n]
    exp_b = np.broadcast_to(expected, values.shape)
    ok = same(values, exp_b, form.acc)
    bad = int((~ok).sum())
    with np.errstate(invalid="ignore"):
        err = np.abs(values - exp_b)
    max_err = float(np.nanmax(err)) if np.isfinite(err).any() else float("inf")
    detail = ("bit-exact" if bad == 0 else
              f"{bad} of {ok.size} outputs differ from the model (max |diff| {max_err:.3g} "
              f"after {steps} steps)")
    return ChainCheck(bad == 0, bad, ok.size, max_err, detail)


# ---- 16-bit A/B fragments back to a matrix (the inverse of fragments.to_fragments) ----------
def _operand_from_fragments(form, kind: str, words: np.ndarray) -> np.ndarray:
    m, n, k = form.mnk
    shape = (m, k) if kind == "A" else (k, n)
    count = shape[0] * shape[1] // 32
    rows, cols = fr._lane_coords(kind, count)
    elems = fr.from_bits16(np.ascontiguousarray(words, dtype=np.uint32).view(np.uint16)
                           .reshape(32, count), form.ab_type)
    out = np.full(shape, np.nan)
    out[rows, cols] = elems
    return out


def a_from_fragments(form, words: np.ndarray) -> np.ndarray:
    return _operand_from_fragments(form, "A", words)


def b_from_fragments(form, words: np.ndarray) -> np.ndarray:
    return _operand_from_fragments(form, "B", words)


def swap_registers(words: np.ndarray, i: int = 0, j: int = 1) -> np.ndarray:
    """A deliberately wrong fragment layout: registers i and j of every lane exchanged."""
    w = np.array(words, dtype=np.uint32, copy=True)
    w[..., [i, j]] = w[..., [j, i]]
    return w


def values_from_inputs(form, inputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a [m,k], b [k,n], c [ilp,m,n]) from mma.bench.Inputs (device fragment words), i.e. exactly
    what the chain kernel multiplies: the input to expected_chain / check_chain."""
    import cupy

    a_words = cupy.asnumpy(inputs.a)
    a = a_from_fragments(form, a_words[0])
    b = b_from_fragments(form, cupy.asnumpy(inputs.b))
    c = fr.from_fragments_batch(form, cupy.asnumpy(inputs.c))
    return a, b, c


def describe(model) -> str:
    """One sentence: what one instruction computes under `model`."""
    p = model.internal_bits
    width = p + model.extra_bits
    parts = []
    if model.core_type and model.core_type != model.in_type:
        parts.append(f"{model.in_type} inputs converted to {model.core_type}")
    order = "" if model.k_order == "natural" else f" (k taken in order '{model.k_order}')"
    parts.append((f"blocks of {model.block} exact products" if model.product_exact else
                  f"blocks of {model.block} products (each rounded to {model.acc})") + order)
    parts.append({"first": "C joins the first block",
                  "last": "C is added after the last block in one more fused addition",
                  "add": f"the blocks start from zero and C is added at the end by one IEEE "
                         f"round-to-nearest {model.acc} addition"}[model.c_join])
    parts.append(f"every term aligned to the largest, keeping {width} bits"
                 + (f" ({p}{model.extra_bits:+d})" if model.extra_bits else "")
                 + (", bits below dropped toward zero" if model.align == "rz"
                    else ", bits below dropped toward -inf"))
    if model.block_normalised(last=True):
        parts.append(f"each block sum normalised to {p} bits by "
                     f"{'truncation' if model.rounding == 'rz' else 'round-to-nearest-even'}")
    if model.acc == "f16":
        src = "the exact aligned sum" if model.out_from == "aligned" else "that"
        parts.append(f"{'rounded to f16 between blocks; ' if model.inter == 'acc' else ''}"
                     f"{src} rounded once to f16 by "
                     f"{'round-to-nearest-even' if model.out_rounding == 'rn' else 'truncation'}"
                     + (" (a nonzero value rounded to zero gives +0)" if model.zero_sign == "plus" else "")
                     + f", past 65504 -> {model.overflow}")
    return "; ".join(parts)
