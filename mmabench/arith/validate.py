"""Random validation of a model against a device: >= 100,000 dot products per form, drawn from
several regimes (exponent ranges, mixed signs, cancellation), compared bit for bit; every mismatch
is classified."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from mmabench.arith.formats import FORMATS, exponent, quantize, same

REGIMES = ("uniform", "wide_exponents", "cancellation", "one_large", "tiny")
EXAMPLES = 20     # mismatches kept for the record


def _logu(rng, shape, lo, hi):
    """Random signs, magnitudes 2^U(lo, hi)."""
    return rng.choice([-1.0, 1.0], shape) * np.exp2(rng.uniform(lo, hi, shape))


def problems(form, regime: str, count: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`count` problems [count, m, k] x [count, k, n] + [count, m, n] of one regime."""
    m, n, k = form.mnk
    inp, acc, inp_b = form.ab_type, form.acc, form.b_type
    lim = (6 if acc == "f16" or "e4m3" in (inp, inp_b)
           else 12 if inp in ("f16", "e5m2") else 40)
    if regime == "uniform":
        a, b = rng.uniform(-1, 1, (count, m, k)), rng.uniform(-1, 1, (count, k, n))
        c = rng.uniform(-1, 1, (count, m, n))
    elif regime == "wide_exponents":
        a, b = _logu(rng, (count, m, k), -lim, lim / 2), _logu(rng, (count, k, n), -lim, lim / 2)
        c = _logu(rng, (count, m, n), -lim, lim)
    elif regime == "cancellation":
        a, b = rng.uniform(-1, 1, (count, m, k)), rng.uniform(-1, 1, (count, k, n))
        a, b = quantize(a, inp), quantize(b, inp_b)
        c = -(a @ b) * (1 + _logu(rng, (count, m, n), -30, -8))   # C ~ -A.B: massive cancellation
    elif regime == "one_large":
        a, b = _logu(rng, (count, m, k), -lim, 0), rng.uniform(-1, 1, (count, k, n))
        big = rng.integers(0, k, (count, m))
        np.put_along_axis(a, big[..., None], _logu(rng, (count, m, 1), lim / 2, lim), axis=2)
        c = _logu(rng, (count, m, n), -lim, lim / 2)
    elif regime == "tiny":  # subnormal inputs and results
        lo = FORMATS[inp].emin - FORMATS[inp].p
        a = _logu(rng, (count, m, k), lo, lo + 8)
        b = _logu(rng, (count, k, n), -2, 4)
        c = _logu(rng, (count, m, n), FORMATS[acc].emin - 12, FORMATS[acc].emin + 2)
    else:
        raise ValueError(regime)
    return quantize(a, inp), quantize(b, inp_b), quantize(c, acc)


@dataclass
class Validation:
    form: str
    total: int = 0
    matched: int = 0
    by_regime: dict = field(default_factory=dict)       # regime -> (matched, total)
    classes: Counter = field(default_factory=Counter)   # mismatch class -> count
    examples: list = field(default_factory=list)        # a few mismatches, for the record

    @property
    def rate(self) -> float:
        return self.matched / self.total if self.total else float("nan")


def classify(model_val: float, hw_val: float, acc: str) -> str:
    if np.isnan(model_val) != np.isnan(hw_val) or np.isinf(model_val) != np.isinf(hw_val):
        return "special (inf/NaN) differs"
    if model_val == 0 and hw_val == 0:
        return "sign of zero"
    f = FORMATS[acc]
    e = max(int(exponent(np.array([max(abs(model_val), abs(hw_val))]))[0]), f.emin)
    ulps = abs(model_val - hw_val) / 2.0 ** (e - f.p + 1)
    side = "hw larger" if abs(hw_val) > abs(model_val) else "hw smaller"
    return f"{'1 ulp' if ulps <= 1 else '2 ulp' if ulps <= 2 else '>2 ulp'} ({side} in magnitude)"


def validate(form, model, device, vectors: int, rng) -> Validation:
    """Run about `vectors` random dot products (m*n per problem) split over the regimes."""
    m, n, _ = form.mnk
    per_regime = max(1, -(-vectors // (len(REGIMES) * m * n)))
    v = Validation(form.name)
    for regime in REGIMES:
        a, b, c = problems(form, regime, per_regime, rng)
        hw = device(a, b, c)
        mine = model.mma(a, b, c)
        ok = same(mine, hw, form.acc)
        v.total += ok.size
        v.matched += int(ok.sum())
        v.by_regime[regime] = (int(ok.sum()), int(ok.size))
        for idx in zip(*np.nonzero(~ok)):
            v.classes[f"{regime}: {classify(mine[idx], hw[idx], form.acc)}"] += 1
            if len(v.examples) < EXAMPLES:
                i, r, col = idx
                v.examples.append({"regime": regime, "a_row": a[i, r].tolist(),
                                   "b_col": b[i, :, col].tolist(), "c": float(c[idx]),
                                   "model": float(mine[idx]), "hw": float(hw[idx])})
    return v
