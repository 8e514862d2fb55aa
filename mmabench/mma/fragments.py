"""Where each matrix element lives in an mma.sync fragment (PTX ISA, "Matrix fragments for
mma.m16n8k16 / m16n8k8"), and packing matrices into the per-lane registers the kernel loads.

For lane `l`: group = l // 4, t = l % 4. Each 32-bit register holds two 16-bit elements
(the lower index in the low half) or one f32.
  A (M x K, row-major):  element e of the lane is at row group + 8*((e//2) % 2),
                         col 2t + (e % 2) + 8*(e // 4)          (e < 8 for k16, e < 4 for k8)
  B (K x N, column):     element e at row (k) 2t + (e % 2) + 8*(e // 2), col (n) group
  C/D (M x N):           element e at row group + 8*(e // 2), col 2t + (e % 2)
For 8-bit A/B (mma.m16n8k32 with .e4m3/.e5m2; PTX ISA "Matrix Fragments for mma.m16n8k32")
each 32-bit register holds four elements, the lowest index in the lowest byte:
  A (16 x 32, row):      element e at row group + 8*((e//4) % 2), col 4t + (e % 4) + 16*(e // 8)
  B (32 x 8, column):    element e at row (k) 4t + (e % 4) + 16*(e // 4), col (n) group
  C/D as above.
The GPU test that runs one instruction on data with exactly representable results proves
these tables against the hardware.

FP8 values are encoded and decoded here exactly (no library needed): e4m3 is the "fn" variant
(bias 7, no infinity, 448 the largest finite value, S.1111.111 NaN), e5m2 the IEEE-like one
(bias 15, 57344 the largest finite value, infinities and NaNs). Encoding rounds to nearest
even and, like PTX `cvt.rn.satfinite`, saturates finite values beyond the range to +-max.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmabench.mma.catalogue import MmaForm

LANES = 32


def _lane_coords(kind: str, count: int, bits: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) index arrays of shape [32, count] for A, B or C fragments (A/B elements of
    `bits` bits: 16 for f16/bf16, 8 for FP8)."""
    lane = np.arange(LANES)[:, None]
    e = np.arange(count)[None, :]
    group, t = lane // 4, lane % 4
    if bits == 8 and kind == "A":
        return group + 8 * ((e // 4) % 2), 4 * t + (e % 4) + 16 * (e // 8)
    if bits == 8 and kind == "B":
        return 4 * t + (e % 4) + 16 * (e // 4), np.broadcast_to(group, (LANES, count))
    if kind == "A":
        return group + 8 * ((e // 2) % 2), 2 * t + (e % 2) + 8 * (e // 4)
    if kind == "B":
        return 2 * t + (e % 2) + 8 * (e // 2), np.broadcast_to(group, (LANES, count))
    if kind == "C":
        return group + 8 * (e // 2), 2 * t + (e % 2)
    raise ValueError(kind)


def _elements(form: MmaForm, kind: str) -> int:
    m, n, k = form.mnk
    return {"A": m * k, "B": k * n, "C": m * n}[kind] // LANES


def operand_type(form: MmaForm, kind: str) -> str:
    """The element type of operand `kind` ('A', 'B', 'C') of a form."""
    return {"A": form.ab_type, "B": form.b_type, "C": form.acc}[kind]


def element_bits(type_: str) -> int:
    return 8 if type_ in FP8 else 32 if type_ == "f32" else 16


def quantize_operand(form: MmaForm, kind: str, values: np.ndarray) -> np.ndarray:
    """`values` as operand `kind` of the form holds them (A in A's type, B in B's, C in acc's)."""
    return quantize(values, operand_type(form, kind))


def to_fragments(form: MmaForm, kind: str, matrix: np.ndarray) -> np.ndarray:
    """Matrix -> uint32 array [32, regs] as the kernel loads it (8-bit quads, 16-bit pairs or
    f32 words)."""
    type_ = operand_type(form, kind)
    bits = element_bits(type_)
    rows, cols = _lane_coords(kind, _elements(form, kind), bits if kind in "AB" else 16)
    values = matrix[rows, cols]
    if bits == 32:
        return np.ascontiguousarray(values.astype(np.float32)).view(np.uint32)
    if bits == 8:
        return np.ascontiguousarray(fp8_encode(values, type_)).view(np.uint32)
    return np.ascontiguousarray(to_bits16(values, type_)).view(np.uint32)


def from_fragments_batch(form: MmaForm, words: np.ndarray) -> np.ndarray:
    """uint32 [..., 32, c_regs] accumulator fragments -> float64 [..., M, N]."""
    m, n, _ = form.mnk
    count = _elements(form, "C")
    words = np.ascontiguousarray(words, dtype=np.uint32)
    lead = words.shape[:-2]
    if form.acc == "f32":
        values = words.view(np.float32).astype(np.float64)
    else:
        values = words.view(np.float16).astype(np.float64)
    values = values.reshape(*lead, LANES, count)
    rows, cols = _lane_coords("C", count)
    out = np.full((*lead, m, n), np.nan)
    out[..., rows, cols] = values
    return out


def to_bits16(values: np.ndarray, type_: str) -> np.ndarray:
    """float -> uint16 bit patterns of f16 or bf16 (round to nearest even)."""
    if type_ == "f16":
        return values.astype(np.float16).view(np.uint16)
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    rounding = 0x7FFF + ((bits >> 16) & 1)
    return ((bits + rounding) >> 16).astype(np.uint16)


def from_bits16(bits: np.ndarray, type_: str) -> np.ndarray:
    if type_ == "f16":
        return bits.view(np.float16).astype(np.float64)
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def quantize(values: np.ndarray, type_: str) -> np.ndarray:
    """Values as the GPU sees them after conversion to `type_` (f16 / bf16 / f32 / e4m3 / e5m2)."""
    if type_ == "f32":
        return values.astype(np.float32).astype(np.float64)
    if type_ in FP8:
        return fp8_decode(fp8_encode(values, type_), type_)
    return from_bits16(to_bits16(values, type_), type_)


# ---- FP8 ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fp8Format:
    exp_bits: int
    man_bits: int
    bias: int
    max_finite: float
    has_inf: bool          # e5m2: S.11111.00 is +-inf; e4m3 (fn) has no infinity

    @property
    def min_normal_exp(self) -> int:
        return 1 - self.bias


FP8 = {
    "e4m3": Fp8Format(4, 3, 7, 448.0, False),
    "e5m2": Fp8Format(5, 2, 15, 57344.0, True),
}


def _fp8_format(type_: str) -> Fp8Format:
    try:
        return FP8[type_]
    except KeyError:
        raise ValueError(f"not an FP8 type: {type_!r}; accepted: {', '.join(FP8)}") from None


def _fp8_table(type_: str) -> np.ndarray:
    """float64 value of each of the 256 codes."""
    f = _fp8_format(type_)
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
    return value


def fp8_decode(codes: np.ndarray, type_: str) -> np.ndarray:
    """uint8 codes -> float64 values."""
    return _fp8_table(type_)[np.asarray(codes, dtype=np.uint8).astype(np.intp)]


def fp8_encode(values: np.ndarray, type_: str, saturate: bool = True) -> np.ndarray:
    """float values -> uint8 codes, round to nearest even. `saturate` (PTX .satfinite): finite
    values beyond the range become +-max; otherwise they become inf (e5m2) or NaN (e4m3, which
    has no inf). NaN -> NaN; +-inf -> +-max when saturating (as .satfinite does), else inf/NaN."""
    f = _fp8_format(type_)
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
    max_code = int(np.flatnonzero(_fp8_table(type_)[:128] == f.max_finite)[0])
    if not saturate:
        code = np.where(overflow, inf_code, code)
        code = np.where(np.isinf(mag), inf_code, code)
    else:
        code = np.where(np.isinf(mag), max_code, code)
    code = np.where(np.isnan(mag), nan_code, code)
    return (code.astype(np.uint8) | sign).astype(np.uint8)
