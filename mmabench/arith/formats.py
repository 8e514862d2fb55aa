"""Floating-point formats as data, and exact rounding of float64 values into them.

Every value the model handles is an exact float64 (f16/bf16/fp8 inputs, their products, f32
accumulators, and block sums of at most 2^53 grid units), so rounding to a narrower format can be
done exactly in float64 with power-of-two scaling: x / lsb is exact, and trunc/rint on it is the
rounding toward zero / to nearest-even of the significand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Format:
    name: str
    bits: int          # storage bits
    p: int             # significand bits including the hidden one
    emin: int          # exponent of the smallest normal
    emax: int          # exponent of the largest finite

    @property
    def max_finite(self) -> float:
        return float(np.ldexp(2.0 - 2.0 ** (1 - self.p), self.emax))

    @property
    def min_normal(self) -> float:
        return float(2.0 ** self.emin)

    @property
    def min_subnormal(self) -> float:
        return float(2.0 ** (self.emin - self.p + 1))


FORMATS = {
    "f16": Format("f16", 16, 11, -14, 15),
    "bf16": Format("bf16", 16, 8, -126, 127),
    "f32": Format("f32", 32, 24, -126, 127),
    # FP8 (OCP): e4m3 has no inf and max 448 (emax 8 with the top mantissa code reserved);
    # only used as input formats, so the max_finite subtlety does not enter the rounding here.
    "e4m3": Format("e4m3", 8, 4, -6, 8),
    "e5m2": Format("e5m2", 8, 3, -14, 15),
}


def fmt(name: str) -> Format:
    return FORMATS[name]


def exponent(x: np.ndarray) -> np.ndarray:
    """floor(log2|x|) for nonzero finite x (int64); 0 where x is 0 or not finite."""
    x = np.asarray(x, dtype=np.float64)
    safe = np.where(np.isfinite(x) & (x != 0), x, 1.0)
    _, e = np.frexp(safe)
    return (e - 1).astype(np.int64)


def round_to(x: np.ndarray, f: Format, mode: str = "rn", subnormals: bool = True,
             overflow: str = "ieee") -> np.ndarray:
    """Round exact float64 values to format `f` (returned as float64 holding the rounded value).

    mode: 'rn' nearest-even, 'rz' toward zero, 'rd' toward -inf, 'ru' toward +inf.
    overflow: 'ieee' (inf, or the largest finite where the mode rounds toward zero),
              'inf' (always inf), 'saturate' (always the largest finite).
    subnormals=False flushes results below the smallest normal to (signed) zero.
    """
    x = np.asarray(x, dtype=np.float64)
    out = x.copy()
    finite = np.isfinite(x) & (x != 0)
    e = np.maximum(exponent(x), f.emin)
    lsb_exp = e - (f.p - 1)
    scaled = np.ldexp(np.where(finite, x, 0.0), -lsb_exp)
    if mode == "rn":
        r = np.rint(scaled)
    elif mode == "rz":
        r = np.trunc(scaled)
    elif mode == "rd":
        r = np.floor(scaled)
    elif mode == "ru":
        r = np.ceil(scaled)
    else:
        raise ValueError(mode)
    rounded = np.ldexp(r, lsb_exp)
    # keep the sign of a value that rounded to zero
    rounded = np.where(rounded == 0, np.copysign(0.0, x), rounded)
    out = np.where(finite, rounded, out)
    big = np.isfinite(out) & (np.abs(out) > f.max_finite)
    if big.any():
        if overflow == "saturate":
            sat = np.ones_like(big)
        elif overflow == "inf":
            sat = np.zeros_like(big)
        else:  # IEEE: directed roundings toward zero give the largest finite
            sat = {"rn": np.zeros_like(big), "rz": np.ones_like(big),
                   "rd": x > 0, "ru": x < 0}[mode]
        out = np.where(big & sat, np.copysign(f.max_finite, x), out)
        out = np.where(big & ~sat, np.copysign(np.inf, x), out)
    if not subnormals:
        tiny = np.isfinite(out) & (np.abs(out) < f.min_normal)
        out = np.where(tiny, np.copysign(0.0, out), out)
    return out


FP8 = ("e4m3", "e5m2")


def to_bits(values: np.ndarray, name: str) -> np.ndarray:
    """Exact float64 values of format `name` -> their bit patterns (uint8 / uint16 / uint32).
    FP8: inf stays inf in e5m2 (not saturated), so designed specials reach the hardware."""
    v = np.asarray(values, dtype=np.float64)
    if name in FP8:
        from mmabench.mma.fragments import fp8_encode
        return fp8_encode(v, name, saturate=False)
    if name == "f32":
        return v.astype(np.float32).view(np.uint32)
    if name == "f16":
        return v.astype(np.float16).view(np.uint16)
    if name == "bf16":
        return (v.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    raise ValueError(name)


def from_bits(bits: np.ndarray, name: str) -> np.ndarray:
    b = np.asarray(bits)
    if name in FP8:
        from mmabench.mma.fragments import fp8_decode
        return fp8_decode(b, name)
    if name == "f32":
        return b.astype(np.uint32).view(np.float32).astype(np.float64)
    if name == "f16":
        return b.astype(np.uint16).view(np.float16).astype(np.float64)
    if name == "bf16":
        return (b.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    raise ValueError(name)


def quantize(values: np.ndarray, name: str) -> np.ndarray:
    """Round to nearest-even into `name` (IEEE overflow; FP8: saturating, as cvt.satfinite and
    the mma fragment packer do, since e4m3 has no inf), as float64."""
    if name in FP8:
        from mmabench.mma.fragments import quantize as fr_quantize
        return fr_quantize(np.asarray(values, dtype=np.float64), name)
    return round_to(values, FORMATS[name], "rn")
