"""What the arithmetic means for a user: the error of a length-K dot product (K = 16 ... 65,536)
accumulated the way the hardware does it (a chain of mma steps, K/k instructions, each one the
model's fused blocks) vs IEEE round-to-nearest recursive summation in the same accumulator.

Random data: a, b uniform(0, 1) (all-positive: errors accumulate, the usual worst case for a
dot product of activations) and uniform(-1, 1); error relative to the exact sum (math.fsum-like:
float64 sums of exact products in blocks, checked to be far below the errors reported).
"""

from __future__ import annotations

import numpy as np

from mmabench.arith.formats import quantize
from mmabench.arith.model import ieee_dot

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


def promoted_dot(model, a, b, k_instr: int, every: int) -> np.ndarray:
    """Dot products as chains of `every` elements in the instruction's accumulator, each chain's
    result then added into an f32 register with IEEE round-to-nearest and the accumulator
    restarted from zero: the promotion DeepSeek-V3 applies to FP8 GEMMs (every 128 elements)."""
    total = np.zeros(a.shape[0], dtype=np.float32)
    for s in range(0, a.shape[1], every):
        part = hardware_dot(model, a[:, s:s + every], b[:, s:s + every], k_instr)
        total = (total + part.astype(np.float32)).astype(np.float32)   # one RN f32 add
    return total.astype(np.float64)


def table(models: dict, k_instr=16, trials: int = 64, ks=KS, rng=None,
          dists=("uniform(0,1)", "uniform(-1,1)"), promote_every: int | None = None) -> list[dict]:
    """Rows: K, distribution, accumulator, method, median and max relative error over `trials`
    dot products. `models`: key -> Model; a key that is an accumulator name ('f16', 'f32') is
    labelled 'hardware model', any other key is the method's label (e.g. one per instruction).
    `k_instr`: the instruction's k, one int or per key. IEEE RN recursive summation is added once
    per accumulator. `promote_every`: each instruction's chain also promoted to f32 every that
    many elements (promoted_dot). The inputs are the first model's input format."""
    rng = rng or np.random.default_rng(0)
    rows = []
    in_type = next(iter(models.values())).in_type
    accs = list(dict.fromkeys(m.acc for m in models.values()))
    for dist in dists:
        for K in ks:
            lo = 0.0 if dist.startswith("uniform(0") else -1.0
            a = quantize(rng.uniform(lo, 1, (trials, K)), in_type)
            b = quantize(rng.uniform(lo, 1, (trials, K)), in_type)
            exact = _exact(a, b)
            scale = np.abs(exact)
            runs = [(key if key not in ("f16", "f32") else "hardware model", model.acc,
                     lambda m=model, key=key: hardware_dot(
                         m, a, b, k_instr[key] if isinstance(k_instr, dict) else k_instr))
                    for key, model in models.items()]
            if promote_every:
                runs += [(f"{key}, promoted to f32 every {promote_every}", model.acc,
                          lambda m=model, key=key: promoted_dot(
                              m, a, b, k_instr[key] if isinstance(k_instr, dict) else k_instr,
                              promote_every))
                         for key, model in models.items()]
            runs += [("IEEE RN recursive", acc, lambda acc=acc: ieee_dot(a, b, np.zeros(trials), acc))
                     for acc in accs]
            runs.sort(key=lambda run: accs.index(run[1]))     # each accumulator's rows together
            for method, acc, compute in runs:
                got = compute()
                with np.errstate(invalid="ignore", divide="ignore"):
                    rel = np.abs(got - exact) / scale
                rel = np.where(np.isfinite(got), rel, np.inf)
                rows.append({"K": K, "data": dist, "acc": acc, "method": method,
                             "median_rel_err": float(np.median(rel)),
                             "max_rel_err": float(np.max(rel)),
                             "overflowed": int((~np.isfinite(got)).sum()), "trials": trials})
    return rows
