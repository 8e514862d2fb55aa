"""Floating-point formats as data, exact rounding of float64 values into them, and their bit
patterns (the one FP8 codec, which the mma and wgmma operand packers use too).

Every value the model handles is an exact float64 (f16/bf16/fp8 inputs, their products, f32
accumulators, and block sums of at most 2^53 grid units), so rounding to a narrower format can be
done exactly in float64 with power-of-two scaling: x / lsb is exact, and trunc/rint on it is the
rounding toward zero / to nearest-even of the significand.
"""

from __future__ import annotations

import functools
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


def exponent(x: np.ndarray) -> np.ndarray:
    """floor(log2|x|) for nonzero finite x (int64); 0 where x is 0 or not finite."""
    x = np.asarray(x, dtype=np.float64)
    safe = np.where(np.isfinite(x) & (x != 0), x, 1.0)
    _, e = np.frexp(safe)
    return (e - 1).astype(np.int64)


def same(x: np.ndarray, y: np.ndarray, acc: str) -> np.ndarray:
    """Bit equality of two arrays of accumulator values (any NaN equals any NaN)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    both_nan = np.isnan(x) & np.isnan(y)
    xs = np.where(np.isnan(x), 0.0, x)
    ys = np.where(np.isnan(y), 0.0, y)
    return both_nan | ((to_bits(xs, acc) == to_bits(ys, acc)) & ~np.isnan(x) & ~np.isnan(y))


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


# ---- FP8 bit patterns <-> values: the one codec every family uses ------------------------------
# e4m3 is the "fn" variant (bias 7, no infinity, 448 the largest finite value, S.1111.111 NaN),
# e5m2 the IEEE-like one (bias 15, 57344 the largest finite value, infinities and NaNs); both
# have subnormals. Encoding rounds to nearest even and keeps the sign of zero, as cvt.rn does.

@dataclass(frozen=True)
class _Fp8:
    exp_bits: int
    man_bits: int
    bias: int
    max_finite: float      # e4m3's top binade is finite but for its NaN code, so not FORMATS'
    has_inf: bool          # e5m2: S.11111.00 is +-inf; e4m3 (fn) has no infinity

    @property
    def min_normal_exp(self) -> int:
        return 1 - self.bias


_FP8 = {"e4m3": _Fp8(4, 3, 7, 448.0, False), "e5m2": _Fp8(5, 2, 15, 57344.0, True)}


def _fp8(name: str) -> _Fp8:
    try:
        return _FP8[name]
    except KeyError:
        raise ValueError(f"not an FP8 type: {name!r}; accepted: {', '.join(_FP8)}") from None


@functools.lru_cache(maxsize=None)
def _fp8_table(name: str) -> np.ndarray:
    """float64 value of each of the 256 codes (read-only: shared by every call)."""
    f = _fp8(name)
    code = np.arange(256)
    sign = np.where(code & 0x80, -1.0, 1.0)
    exp = (code >> f.man_bits) & ((1 << f.exp_bits) - 1)
    man = code & ((1 << f.man_bits) - 1)
    top = (1 << f.exp_bits) - 1
    normal = (1 + man / (1 << f.man_bits)) * np.exp2(exp.astype(float) - f.bias)
    subnormal = man * 2.0 ** (f.min_normal_exp - f.man_bits)
    value = sign * np.where(exp == 0, subnormal, normal)
    if f.has_inf:  # IEEE-like: top exponent is inf (mantissa 0) or NaN
        value = np.where(exp == top, np.where(man == 0, sign * np.inf, np.nan), value)
    else:          # fn: only S.1111.111 is NaN; the rest of the top binade is finite
        value = np.where((exp == top) & (man == (1 << f.man_bits) - 1), np.nan, value)
    value.flags.writeable = False
    return value


def fp8_decode(codes: np.ndarray, name: str) -> np.ndarray:
    """uint8 codes -> float64 values."""
    return _fp8_table(name)[np.asarray(codes, dtype=np.uint8).astype(np.intp)]


def fp8_encode(values: np.ndarray, name: str, saturate: bool = True) -> np.ndarray:
    """float values -> uint8 codes, round to nearest even. `saturate` (PTX .satfinite): finite
    values beyond the range become +-max; otherwise they become inf (e5m2) or NaN (e4m3, which
    has no inf). NaN -> NaN; +-inf -> +-max when saturating (as .satfinite does), else inf/NaN."""
    f = _fp8(name)
    x = np.asarray(values, dtype=np.float64)
    sign = np.signbit(x).astype(np.uint8) << 7
    mag = np.abs(x)
    finite = np.isfinite(mag)
    safe = np.where(finite, mag, 0.0)
    # quantum of the binade of each value (subnormals share the lowest normal binade's quantum)
    _, e2 = np.frexp(safe)                          # safe = m * 2**e2, m in [0.5, 1)
    exp = np.maximum(e2 - 1, f.min_normal_exp)      # floor(log2(safe)), clamped
    quantum = np.ldexp(1.0, exp - f.man_bits)
    q = np.rint(safe / quantum) * quantum           # exact: scaling by powers of two; rint = RNE
    overflow = q > f.max_finite
    q = np.where(overflow, f.max_finite, q)
    # encode q (now exactly representable)
    _, qe2 = np.frexp(q)
    qexp = qe2 - 1
    is_sub = q < 2.0 ** f.min_normal_exp
    man_sub = np.rint(q / 2.0 ** (f.min_normal_exp - f.man_bits))
    man_norm = np.rint((np.ldexp(q, -qexp) - 1.0) * (1 << f.man_bits))
    exp_field = np.where(is_sub, 0, qexp + f.bias)
    man = np.where(is_sub, man_sub, man_norm)
    code = (exp_field.astype(np.int64) << f.man_bits) | man.astype(np.int64)
    nan_code = 0x7F if not f.has_inf else 0x7E   # e5m2 NaN: S.11111.10 (any nonzero mantissa)
    inf_code = 0x7C if f.has_inf else 0x7F
    max_code = int(np.flatnonzero(_fp8_table(name)[:128] == f.max_finite)[0])
    if not saturate:
        code = np.where(overflow, inf_code, code)
        code = np.where(np.isinf(mag), inf_code, code)
    else:
        code = np.where(np.isinf(mag), max_code, code)
    code = np.where(np.isnan(mag), nan_code, code)
    return (code.astype(np.uint8) | sign).astype(np.uint8)


def to_bits(values: np.ndarray, name: str) -> np.ndarray:
    """Exact float64 values of format `name` -> their bit patterns (uint8 / uint16 / uint32).
    FP8: inf stays inf in e5m2 (not saturated), so designed specials reach the hardware."""
    v = np.asarray(values, dtype=np.float64)
    if name in FP8:
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
        return fp8_decode(fp8_encode(values, name), name)
    return round_to(values, FORMATS[name], "rn")
