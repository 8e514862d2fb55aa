"""What every softmax chain must end at, computed on the host (numpy), and its inputs.

A chain takes `steps` steps: step 0 (the prologue, before the clock) uses a0, then the loop's
steps alternate a0, a1. The exact forms (fma, max, cvt: one IEEE rounding per step, which
numpy reproduces from float64) are simulated step by step until a pair of steps changes
nothing, so the check is bit for bit whatever the trip count. The data are random, chosen so
every float64 intermediate is exact:
  fma: |a|, |b|, |x| in [0.5, 1) with x of the sign of a*b, a1 = -a0, so x +- a*b never cancels
       to tiny values;
  max: |values| in [1/16, 16), no zeros (max(-0, +0) may be either);
  cvt: |b| in [1, 2), so the chain's f32 reading (f16(b) in its upper bits) stays normal.
ex2.approx is approximate by design: x <- 2^-x converges to x* = 0.6412 and the check bounds
each step's relative error by `EX2_REL` (above the PTX ISA's stated maximum for the type:
about 2 ulp for f32, 2^-9.9 for f16, 2^-7 for bf16, each plus the result's rounding), carried
through the chain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mmabench.core.errors import MeasurementError
from mmabench.softmax.catalogue import SoftmaxForm

EX2_REL = {"f32": 2.0 ** -21, "f16": 2.0 ** -8, "bf16": 2.0 ** -5}
MAX_PAIRS = 64          # a chain settles in a few pairs of steps; more means a wrong model


# ---------------------------------------------------------------- words <-> element values

def decode(form: SoftmaxForm, words: np.ndarray) -> np.ndarray:
    """uint32 words -> float64 values [..., lanes] (lane 0: the low half)."""
    words = np.asarray(words, dtype=np.uint32)
    if not form.packed:
        return words.view(np.float32).astype(np.float64)[..., None]
    halves = np.stack([words & 0xFFFF, words >> 16], axis=-1)
    if form.type == "bf16":
        return (halves.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return halves.astype(np.uint16).view(np.float16).astype(np.float64)


def encode(form: SoftmaxForm, values: np.ndarray) -> np.ndarray:
    """float64 values [..., lanes] -> uint32 words, each element rounded to nearest-even."""
    if not form.packed:
        return np.asarray(values[..., 0], dtype=np.float32).view(np.uint32)
    if form.type == "bf16":
        bits = np.asarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
        halves = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    else:
        halves = np.asarray(values).astype(np.float16).view(np.uint16)
    halves = halves.astype(np.uint32)
    return halves[..., 0] | (halves[..., 1] << 16)


def _rounded(form: SoftmaxForm, values: np.ndarray) -> np.ndarray:
    """Each element rounded once to the form's type, as float64."""
    dtype = np.float32 if form.type == "f32" else np.float16
    return values.astype(dtype).astype(np.float64)


# ---------------------------------------------------------------- inputs

@dataclass
class Words:
    a: np.ndarray      # uint32 [2, 32]: a0, a1 per lane
    b: np.ndarray      # uint32 [32]
    c: np.ndarray      # uint32 [ilp, 32]: each chain's start


def _magnitudes(rng, shape, low, high) -> np.ndarray:
    return rng.uniform(low, high, shape) * rng.choice((-1.0, 1.0), shape)


def make_words(form: SoftmaxForm, ilp: int, rng: np.random.Generator) -> Words:
    """Fresh random operands and chain starts for `ilp` chains per lane."""
    lanes = (32, form.lanes)
    if form.op == "fma":
        a = decode(form, encode(form, _magnitudes(rng, lanes, 0.5, 1.0)))
        b = decode(form, encode(form, _magnitudes(rng, lanes, 0.5, 1.0)))
        c = rng.uniform(0.5, 1.0, (ilp, *lanes)) * np.sign(a * b)[None]
        return Words(encode(form, np.stack([a, -a])), encode(form, b), encode(form, c))
    if form.op == "max":
        pick = lambda *shape: _magnitudes(rng, shape, 1 / 16, 16.0)  # noqa: E731
        return Words(encode(form, pick(2, *lanes)), encode(form, pick(*lanes)),
                     encode(form, pick(ilp, *lanes)))
    if form.op == "cvt":
        b = _magnitudes(rng, 32, 1.0, 2.0).astype(np.float32).view(np.uint32)
        c = _magnitudes(rng, (ilp, 32), 1 / 16, 16.0).astype(np.float32).view(np.uint32)
        return Words(np.zeros((2, 32), np.uint32), b, c)
    if form.op == "ex2":    # 2^-c in [1/16, 4]: normal in every type
        return Words(np.zeros((2, 32), np.uint32), np.zeros(32, np.uint32),
                     encode(form, rng.uniform(-2.0, 4.0, (ilp, *lanes))))
    raise ValueError(f"no inputs for {form.op}")


# ---------------------------------------------------------------- the chains

def _step(form: SoftmaxForm, x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One step of the exact forms on words: x [ilp, 32], a and b [32]."""
    if form.op == "cvt":
        lo = x.view(np.float32).astype(np.float16).view(np.uint16).astype(np.uint32)
        hi = b.view(np.float32).astype(np.float16).view(np.uint16).astype(np.uint32)
        return (hi[None] << 16) | lo
    xv, av, bv = decode(form, x), decode(form, a)[None], decode(form, b)[None]
    out = _rounded(form, xv + av * bv) if form.op == "fma" else np.maximum(xv, av)
    return encode(form, out)


def exact_chain(form: SoftmaxForm, words: Words, steps: int) -> np.ndarray:
    """uint32 [ilp, 32]: each chain after `steps` steps (fma, max, cvt)."""
    a0, a1 = words.a
    with np.errstate(over="ignore"):
        x = _step(form, words.c, a0, words.b)
        pairs = (steps - 1) // 2
        for _ in range(min(pairs, MAX_PAIRS)):
            nxt = _step(form, _step(form, x, a0, words.b), a1, words.b)
            if np.array_equal(nxt, x):
                return x
            x = nxt
    if pairs > MAX_PAIRS:
        raise MeasurementError(f"{form.name}: the host reference did not settle in {MAX_PAIRS} "
                               "pairs of steps")
    return x


def ex2_chain(form: SoftmaxForm, words: Words, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(values, bound) [ilp, 32, lanes]: x <- 2^-x in float64 after `steps` steps, and how far
    a chain whose every step errs by at most EX2_REL (relative) can be from it."""
    rel = EX2_REL[form.type]
    x, err = decode(form, words.c), np.zeros(words.c.shape + (form.lanes,))
    for _ in range(min(steps, 200)):      # settled to float64 long before 200 steps
        reach = np.exp2(-x + err)         # the largest 2^-y for y within err of x
        x, err = np.exp2(-x), math.log(2) * reach * err + rel * reach
    return x, err


def check(form: SoftmaxForm, out: np.ndarray, words: Words, steps: int) -> float:
    """Compare every chain of every warp (`out`: uint32 [warps, ilp, 32, 1]) with what it must
    be after `steps` steps; the max abs error (0 for the exact forms), or MeasurementError."""
    got = np.asarray(out, dtype=np.uint32)[..., 0]
    values = decode(form, got)
    if not np.isfinite(values).all():
        bad = int((~np.isfinite(values)).any(axis=-1).sum())
        raise MeasurementError(f"{form.name}: {bad} outputs not finite (unwritten or overflowed)")
    if form.op == "ex2":
        want, bound = ex2_chain(form, words, steps)
        err = np.abs(values - want[None])
        if (err > bound[None]).any():
            raise MeasurementError(f"{form.name}: off by {err.max():.3g} after {steps} steps "
                                   f"(bound {bound.max():.3g}: {EX2_REL[form.type]:.3g} relative "
                                   "per step)")
        return float(err.max())
    want = exact_chain(form, words, steps)
    wrong = got != want[None]
    if wrong.any():
        w, j, lane = (int(i[0]) for i in np.nonzero(wrong))
        raise MeasurementError(f"{form.name}: {int(wrong.sum())} of {wrong.size} chains differ "
                               f"from the exact result after {steps} steps (warp {w}, chain {j}, "
                               f"lane {lane}: {got[w, j, lane]:#010x}, expected "
                               f"{want[j, lane]:#010x})")
    return 0.0
