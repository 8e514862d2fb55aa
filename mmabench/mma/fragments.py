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

FP8 values are encoded and decoded by mmabench.arith.formats (one codec for every family).
"""

from __future__ import annotations


import numpy as np

from mmabench.arith.formats import FP8, fp8_decode, fp8_encode
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
