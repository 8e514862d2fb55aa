"""exp2 by a polynomial on the FMA pipe instead of MUFU: the share of the Hopper attention
kernel's exponentials that its `poly` tile option moves (FlashAttention-4's lever against the
16-per-clock MUFU rate). The coefficients and constants live here and reach the kernel as
#defines (HATTN_POLY_*); the functions below are the kernel's, operation for operation, so
their accuracy is checked without a GPU.

    x = r + f, r the nearest integer (x + 1.5 * 2^k in round-to-nearest), f in [-1/2, 1/2]
    2^f ~ c0 + c1 f + c2 f^2 + c3 f^3      near-minimax in relative error, max 7.5e-5
    2^x = p with r added to its exponent field

Two forms:
  ex2_poly        float32 (the f32 softmax): x clamped at -125 (masked keys; P's f16 rounds
                  2^-125 to 0). The kernel fuses each multiply-add, numpy rounds twice: a few
                  units in the last place apart.
  ex2_poly_f16x2  packed f16 (the f16p softmax, two keys per instruction: 3 HFMA2 per pair
                  where f32 takes 3 FFMA per key). f16's 5-bit exponent cannot hold 2^-25 or
                  carry r past -14, so x is clamped at -25, r + 25 (>= 0) goes into the exponent
                  with 13 taken off it, and one multiply by 2^-12 rounds the result into f16's
                  subnormals (to 0 at the clamp: masked keys). Bit-exact: every f16 operation
                  is emulated in float64 and rounded once. Takes x <= 3 (the exponent field tops
                  out at 30), so not with lazy rescaling's tau = 8.
"""

from __future__ import annotations

import functools

import numpy as np

# fitted by Lawson-weighted least squares on Chebyshev nodes of [-1/2, 1/2] (relative error)
COEFFICIENTS = (0.99992806, 0.69326097, 0.24261114, 0.0551716685)
MAGIC = 12582912.0           # 1.5 * 2^23: adding it rounds to an integer kept in the low bits
LOWEST = -125.0              # 2^-125 still has a normal exponent; P's f16 rounds it to 0


@functools.cache       # the same for every variant rendered
def defines() -> dict[str, str]:
    """The kernel's HATTN_POLY_C0..C3 (float literals) and the packed form's constants."""
    return {**{f"HATTN_POLY_C{k}": f"{c!r}f" for k, c in enumerate(COEFFICIENTS)}, **f16x2_defines()}


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


# ---- the packed f16 form (kernels/hopper_attention.cu: ex2_poly_f16x2)
LOWEST_F16 = -25.0                    # 2^-25 * c0 rounds to 0: masked keys give exactly 0
MAGIC_F16 = 1536.0 - LOWEST_F16       # 1.5 * 2^10 - LOWEST: t's low 5 bits hold r - LOWEST
EXPONENT_OFFSET_F16 = 13              # taken off the exponent field so that r - LOWEST fits it
SCALE_F16 = 2.0 ** (LOWEST_F16 + EXPONENT_OFFSET_F16)   # 2^-12: back to 2^x, rounded once
HIGHEST_F16 = 3.0                     # the largest x the exponent field (<= 30) takes


def _f16(x) -> np.ndarray:
    """Round to f16 once (float64 holds every sum and product of these f16 values exactly)."""
    return np.asarray(x, dtype=np.float64).astype(np.float16)


def _f16x2_bits(value: float) -> str:
    """`value` rounded to f16, in both halves of a 32-bit literal (the kernel's u32 operand)."""
    half = int(_f16(value).view(np.uint16))
    return f"0x{half:04x}{half:04x}u"


def ex2_poly_f16x2(x) -> np.ndarray:
    """2^x as the kernel's ex2_poly_f16x2 computes each half, in float16: bit-exact for every x
    up to HIGHEST_F16, -inf and NaN (both 0); the kernel never sees +inf or x > 3 there."""
    f64 = np.float64
    x = np.fmax(_f16(x), np.float16(LOWEST_F16))     # max.f16x2: NaN gives the other operand
    t = _f16(x.astype(f64) + MAGIC_F16)
    f = _f16(x.astype(f64) - _f16(t.astype(f64) - MAGIC_F16).astype(f64))
    c = [_f16(k).astype(f64) for k in COEFFICIENTS]
    p = _f16(c[3] * f + c[2])
    for k in (1, 0):
        p = _f16(p.astype(f64) * f + c[k])
    exponent = (t.view(np.uint16) & np.uint16(0x1F)).astype(np.int32) - EXPONENT_OFFSET_F16
    scaled = (p.view(np.uint16).astype(np.int32) + (exponent << 10)).astype(np.uint16).view(np.float16)
    return _f16(scaled.astype(f64) * SCALE_F16)


def f16x2_defines() -> dict[str, str]:
    """The packed form's constants, each as an f16x2 literal (HATTN_POLY_H*)."""
    out = {f"HATTN_POLY_H{k}": _f16x2_bits(c) for k, c in enumerate(COEFFICIENTS)}
    out.update(HATTN_POLY_H_LOWEST=_f16x2_bits(LOWEST_F16), HATTN_POLY_H_MAGIC=_f16x2_bits(MAGIC_F16),
               HATTN_POLY_H_SCALE=_f16x2_bits(SCALE_F16),
               HATTN_POLY_H_OFFSET=f"0x{EXPONENT_OFFSET_F16 << 10:04x}{EXPONENT_OFFSET_F16 << 10:04x}u",
               HATTN_POLY_F16_MAX_X=f"{HIGHEST_F16:g}")
    return out


def f16_inputs(lo: float = LOWEST_F16, hi: float = 0.0) -> np.ndarray:
    """Every finite f16 value in [lo, hi]."""
    every = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    return every[np.isfinite(every) & (every >= lo) & (every <= hi)]


def f16_error(lo: float = LOWEST_F16, hi: float = 0.0) -> dict[str, float]:
    """The packed form over every f16 input in [lo, hi]: its largest relative error where 2^x is
    a normal f16, and its largest error in f16 units in the last place (a correctly rounded
    exp2 is within 0.5)."""
    x = f16_inputs(lo, hi)
    exact = np.exp2(x.astype(np.float64))
    got = ex2_poly_f16x2(x).astype(np.float64)
    normal = exact >= 2.0 ** -14
    ulp = np.exp2(np.maximum(np.floor(np.log2(exact)), -14.0) - 10)
    return {"max_relative": float(np.max(np.abs(got[normal] / exact[normal] - 1))),
            "max_ulp": float(np.max(np.abs(got - exact) / ulp)), "inputs": int(x.size)}
