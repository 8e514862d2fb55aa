"""What the arithmetic means for a user: the error of a length-K dot product (K = 16 ... 65,536)
accumulated the way the hardware does it (a chain of mma steps, K/k instructions, each one the
model's fused blocks) vs IEEE round-to-nearest recursive summation in the same accumulator.

Random data: a, b uniform(0, 1) (all-positive: errors accumulate, the usual worst case for a
dot product of activations) and uniform(-1, 1); error relative to the exact sum (math.fsum-like:
float64 sums of exact products in blocks, checked to be far below the errors reported).
"""

from __future__ import annotations

import numpy as np

from .formats import quantize
from .model import ieee_dot

KS = (16, 64, 256, 1024, 4096, 16384, 65536)


def _exact(a, b):
    """Sum of exact products with float64 error ~2^-53 * K relative: ample for these errors."""
    import math
    return np.array([math.fsum(row) for row in (a * b)])


def hardware_dot(model, a, b, k_instr: int) -> np.ndarray:
    """Dot products over the last axis as a chain of mma steps of depth k_instr (acc starts 0)."""
    acc = np.zeros(a.shape[0])
    for s in range(0, a.shape[1], k_instr):
        acc = model.dot(a[:, s:s + k_instr], b[:, s:s + k_instr], acc)
    return acc


def table(models: dict, k_instr: int = 16, trials: int = 64, ks=KS, rng=None,
          dists=("uniform(0,1)", "uniform(-1,1)")) -> list[dict]:
    """Rows: K, distribution, accumulator, method ('hardware model' / 'IEEE RN'), median and max
    relative error over `trials` dot products. `models`: acc -> Model (labelled by the caller)."""
    rng = rng or np.random.default_rng(0)
    rows = []
    for dist in dists:
        for K in ks:
            lo = 0.0 if dist.startswith("uniform(0") else -1.0
            in_type = next(iter(models.values())).in_type
            a = quantize(rng.uniform(lo, 1, (trials, K)), in_type)
            b = quantize(rng.uniform(lo, 1, (trials, K)), in_type)
            exact = _exact(a, b)
            scale = np.abs(exact)
            for acc, model in models.items():
                for method in ("hardware model", "IEEE RN recursive"):
                    if method == "hardware model":
                        got = hardware_dot(model, a, b, k_instr)
                    else:
                        got = ieee_dot(a, b, np.zeros(trials), acc)
                    with np.errstate(invalid="ignore", divide="ignore"):
                        rel = np.abs(got - exact) / scale
                    rel = np.where(np.isfinite(got), rel, np.inf)
                    rows.append({"K": K, "data": dist, "acc": acc, "method": method,
                                 "median_rel_err": float(np.median(rel)),
                                 "max_rel_err": float(np.max(rel)),
                                 "overflowed": int((~np.isfinite(got)).sum()), "trials": trials})
    return rows
