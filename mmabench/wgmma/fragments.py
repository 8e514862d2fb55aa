"""Where each matrix element lives in a wgmma register fragment, and packing to/from them.

From the PTX ISA ("Register Fragments and Shared Memory Matrix Layouts" for wgmma; the same
maps CUTLASS writes as CLayout_64xN / ALayout_64x16 / ALayout_64x32). Thread t of the
warpgroup: warp w = t // 32, lane l = t % 32, group g = l // 4, q = l % 4. Warp w owns rows
16w .. 16w+15.
  D (64 x N), element e < N/2:   row 16w + g + 8*((e//2) % 2),   col 8*(e//4) + 2q + (e % 2)
      f32: one element per register; f16: elements 2i (low half) and 2i+1 (high) in register i.
  A in registers, 16-bit (64 x 16), e < 8:  row 16w + g + 8*((e//2) % 2), col 2q + (e%2) + 8*(e//4)
  A in registers, 8-bit (64 x 32), e < 16:  row 16w + g + 8*((e//4) % 2), col 4q + (e%4) + 16*(e//8)
      packed low element first: 2 per register (16-bit) or 4 (8-bit), 4 registers in all.
The GPU test runs one instruction on small integers (every sum exact) and compares all of D:
it proves these maps, the tile layouts and the descriptors against the hardware.
"""

from __future__ import annotations

import numpy as np

from mmabench.arith.formats import FP8, fp8_decode, fp8_encode
from mmabench.mma.fragments import from_bits16, to_bits16
from mmabench.wgmma.catalogue import M, WARPGROUP_THREADS, WgmmaForm


def _thread() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.arange(WARPGROUP_THREADS)[:, None]
    lane = t % 32
    return t // 32, lane // 4, lane % 4


def d_coords(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of each accumulator element: int arrays [128, N/2]."""
    w, g, q = _thread()
    e = np.arange(n // 2)[None, :]
    return 16 * w + g + 8 * ((e // 2) % 2), 8 * (e // 4) + 2 * q + (e % 2)


def a_coords(elem_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of each A register-fragment element: [128, 8] (16-bit) or [128, 16] (8-bit)."""
    w, g, q = _thread()
    if elem_bytes == 2:
        e = np.arange(8)[None, :]
        return 16 * w + g + 8 * ((e // 2) % 2), 2 * q + (e % 2) + 8 * (e // 4)
    e = np.arange(16)[None, :]
    return 16 * w + g + 8 * ((e // 4) % 2), 4 * q + (e % 4) + 16 * (e // 8)


# ---------------------------------------------------------------- element types

def to_bits(values: np.ndarray, type_: str) -> np.ndarray:
    """float -> uint16 (f16/bf16) or uint8 (e4m3/e5m2) bit patterns, round to nearest even."""
    if type_ in FP8:
        return fp8_encode(values, type_)
    return to_bits16(np.asarray(values, dtype=np.float64), type_)


def from_bits(bits: np.ndarray, type_: str) -> np.ndarray:
    if type_ in FP8:
        return fp8_decode(bits, type_)
    return from_bits16(np.ascontiguousarray(bits, dtype=np.uint16), type_)


def quantize(values: np.ndarray, type_: str) -> np.ndarray:
    """Values as the GPU sees them in `type_` (f16, bf16, e4m3, e5m2 or f32)."""
    if type_ == "f32":
        return np.asarray(values).astype(np.float32).astype(np.float64)
    return from_bits(to_bits(values, type_), type_)


def row_bytes(matrix: np.ndarray, type_: str) -> np.ndarray:
    """Rows x K matrix -> [rows, K * elem bytes] uint8 (little-endian elements, K in order)."""
    bits = np.ascontiguousarray(to_bits(matrix, type_))
    return bits.view(np.uint8).reshape(matrix.shape[0], -1)


# ---------------------------------------------------------------- fragments

def a_fragment(form: WgmmaForm, a_slice: np.ndarray) -> np.ndarray:
    """64 x K slice of A -> uint32 [128, 4] register fragment (RS form)."""
    rows, cols = a_coords(form.elem_bytes)
    bits = np.ascontiguousarray(to_bits(a_slice[rows, cols], form.ab_type))
    return bits.view(np.uint32).reshape(WARPGROUP_THREADS, form.a_regs)


def d_fragment(form: WgmmaForm, matrix: np.ndarray) -> np.ndarray:
    """64 x N accumulator matrix -> uint32 [128, c_regs] as the kernel loads C."""
    rows, cols = d_coords(form.n)
    values = matrix[rows, cols]
    if form.acc == "f32":
        return np.ascontiguousarray(values.astype(np.float32)).view(np.uint32)
    return np.ascontiguousarray(values.astype(np.float16)).view(np.uint32)


def d_values(form: WgmmaForm, words: np.ndarray) -> np.ndarray:
    """uint32 [..., 128, c_regs] -> float64 [..., 128, N/2] element values in fragment order."""
    words = np.ascontiguousarray(words, dtype=np.uint32)
    lead = words.shape[:-2]
    if form.acc == "f32":
        values = words.view(np.float32)
    else:
        values = words.view(np.float16)
    return values.astype(np.float64).reshape(*lead, WARPGROUP_THREADS, form.n // 2)


def d_matrix(form: WgmmaForm, words: np.ndarray) -> np.ndarray:
    """uint32 [..., 128, c_regs] accumulator fragments -> float64 [..., 64, N]."""
    values = d_values(form, words)
    rows, cols = d_coords(form.n)
    out = np.full((*values.shape[:-2], M, form.n), np.nan)
    out[..., rows, cols] = values
    return out


def in_fragment_order(form: WgmmaForm, matrix: np.ndarray) -> np.ndarray:
    """[..., 64, N] -> [..., 128, N/2]: a matrix's elements where each thread holds them."""
    rows, cols = d_coords(form.n)
    return np.asarray(matrix)[..., rows, cols]
