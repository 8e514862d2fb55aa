"""exp2 by a polynomial on the FMA pipe instead of MUFU: the share of the Hopper attention
kernel's exponentials that its `poly` tile option moves (FlashAttention-4's lever against the
16-per-clock MUFU rate). The coefficients live here and reach the kernel as HATTN_POLY_C0..3;
`ex2_poly` is kernels/hopper_attention.cu's ex2_poly operation for operation in float32 (the
kernel fuses each multiply-add, numpy rounds twice: a few units in the last place apart), so
its accuracy can be checked without a GPU.

    x = r + f, r the nearest integer (x + 1.5 * 2^23 in round-to-nearest), f in [-1/2, 1/2]
    2^f ~ c0 + c1 f + c2 f^2 + c3 f^3      near-minimax in relative error, max 7.5e-5
    2^x = p with r added to its exponent field      (x clamped at -125: masked keys)
"""

from __future__ import annotations

import numpy as np

# fitted by Lawson-weighted least squares on Chebyshev nodes of [-1/2, 1/2] (relative error)
COEFFICIENTS = (0.99992806, 0.69326097, 0.24261114, 0.0551716685)
MAGIC = 12582912.0           # 1.5 * 2^23: adding it rounds to an integer kept in the low bits
LOWEST = -125.0              # 2^-125 still has a normal exponent; P's f16 rounds it to 0


def defines() -> dict[str, str]:
    """The kernel's HATTN_POLY_C0..C3 (float literals)."""
    return {f"HATTN_POLY_C{k}": f"{c!r}f" for k, c in enumerate(COEFFICIENTS)}


def ex2_poly(x) -> np.ndarray:
    """2^x as the kernel's ex2_poly computes it, in float32."""
    f32 = np.float32
    x = np.maximum(np.asarray(x, dtype=f32), f32(LOWEST))
    t = (x + f32(MAGIC)).astype(f32)
    f = (x - (t - f32(MAGIC)).astype(f32)).astype(f32)
    c0, c1, c2, c3 = (f32(c) for c in COEFFICIENTS)
    p = ((((c3 * f + c2) * f + c1) * f) + c0).astype(f32)
    bits = p.view(np.int32) + (t.view(np.int32) << np.int32(23))
    return bits.view(f32)


def max_relative_error(lo: float = LOWEST, hi: float = 0.0, points: int = 2_000_001) -> float:
    """The largest |ex2_poly(x) / 2^x - 1| over a fine grid of [lo, hi]."""
    x = np.linspace(lo, hi, points, dtype=np.float32)
    return float(np.max(np.abs(ex2_poly(x).astype(np.float64) / np.exp2(x.astype(np.float64)) - 1)))
