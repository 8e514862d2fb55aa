"""Inputs, the float64 reference and the check of one GEMM output.

The output is poisoned (fp16 NaN) before the run, so an unwritten element fails. The check
reads every element for NaN/inf, and compares sampled rows (all N columns) with a float64
reference computed on the GPU from the same fp16 inputs.

Tolerance, from the number of roundings: an accumulator that rounds once per k16 step
(one wgmma, or one HMMA-sized chunk) commits at most u_acc * |P_j| at step j, where P_j is the
exact partial sum after j steps, so to first order

    |C - ref| <= slack * u_acc * sum_j |P_j|  +  u_out * |ref|  (+ a tiny absolute term)

with u_acc = 2^-11 (f16) or 2^-24 (f32; taken as 2^-22 because the tensor cores truncate
their f32 sums), u_out = 2^-11 for the final fp16 rounding, and slack 2 (4 for cuBLAS and
Triton, whose summation order is not ours). The exact partial sums are computed, in float64,
for the sampled rows: sum_j |P_j| is ~K/16 times |C|/sqrt-ish, not the worst-case sum of
|a||b|, so the bound still rejects a wrong layout or a lost K tile (errors ~|C|) while f16
accumulation over K = 8192 (512 roundings, relative error of a few 1e-3) passes. The measured
error (max, and relative RMS) goes into every row: it is the accuracy price of f16 accumulation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

POISON_F16 = 0x7E00                 # fp16 NaN
# fp8: Hopper's FP8 wgmma (QGMMA) aligns its 32 products and C keeping 14 bits and truncates (arith's
# model), so a K-chunk may lose 2^-13 of its largest term; taken as 2^-12 per 16-wide chunk.
U_ACC = {"f16": 2.0 ** -11, "f32": 2.0 ** -22, "fp8": 2.0 ** -12}
U_OUT = 2.0 ** -11
CHUNK = 16                          # K per rounding of the accumulator (one k16 wgmma)
SAMPLE_ROWS = 32
COL_BLOCK = 1024                    # columns per float64 partial-sum block (memory bound)


def _xp(array):
    """numpy for numpy arrays (CPU tests), CuPy otherwise."""
    if isinstance(array, np.ndarray):
        return np
    import cupy
    return cupy


def _host(array) -> np.ndarray:
    return array if isinstance(array, np.ndarray) else array.get()


class CheckFailed(Exception):
    """The output is not C = A.B^T within the documented bound: no figure for it."""


@dataclass
class Inputs:
    a: object                       # cupy float16 [M, K]
    b: object                       # cupy float16 [N, K]
    rows: np.ndarray                # sampled row indices

    @property
    def shape(self) -> tuple[int, int, int]:
        m, k = self.a.shape
        return m, self.b.shape[0], k


def make_inputs(m: int, n: int, k: int, seed: int | None = None) -> Inputs:
    """Random normal fp16 operands (random data: zeros run faster), as Triton's measurement used;
    sampled rows spread over every warp position of a 128-row tile."""
    import cupy

    rs = cupy.random.RandomState(seed)
    a = rs.standard_normal((m, k), dtype=cupy.float32).astype(cupy.float16)
    b = rs.standard_normal((n, k), dtype=cupy.float32).astype(cupy.float16)
    rng = np.random.default_rng(seed)
    tiles = rng.integers(0, max(1, m // 128), SAMPLE_ROWS)
    rows = tiles * 128 + (np.arange(SAMPLE_ROWS) * 4 + rng.integers(0, 4, SAMPLE_ROWS)) % 128
    return Inputs(a, b, np.unique(rows % m))     # M below 128: the rows there are


def poisoned_output(m: int, n: int):
    import cupy

    return cupy.full((m, n), POISON_F16, dtype=cupy.uint16).view(cupy.float16)


@dataclass
class Reference:
    exact: np.ndarray               # float64 [rows, N]
    partial_abs: np.ndarray         # float64 [rows, N]: sum_j |P_j| over k16 steps


def reference(inputs: Inputs, resident: bool = False) -> Reference:
    """float64 reference of the sampled rows. `resident`: the smem-resident kernel's product,
    (K/64) times the first 64-wide K tile, step by step in the same k16 order."""
    xp = _xp(inputs.a)
    m, n, k = inputs.shape
    a = inputs.a[xp.asarray(inputs.rows)].astype(xp.float64)          # [R, K]
    b = inputs.b
    if resident:
        a = xp.tile(a[:, :64], (1, k // 64))
    steps = k // CHUNK
    a3 = a.reshape(len(inputs.rows), steps, CHUNK).transpose(1, 0, 2)  # [S, R, 16]
    exact = np.empty((len(inputs.rows), n))
    partial = np.empty_like(exact)
    for c0 in range(0, n, COL_BLOCK):
        bb = b[c0:c0 + COL_BLOCK].astype(xp.float64)
        if resident:
            bb = xp.tile(bb[:, :64], (1, k // 64))
        b3 = bb.reshape(bb.shape[0], steps, CHUNK).transpose(1, 2, 0)  # [S, 16, Nc]
        p = xp.cumsum(xp.matmul(a3, b3), axis=0)                       # [S, R, Nc] partial sums
        exact[:, c0:c0 + COL_BLOCK] = _host(p[-1])
        partial[:, c0:c0 + COL_BLOCK] = _host(xp.abs(p).sum(axis=0))
        del p
    return Reference(exact, partial)


def check(c, inputs: Inputs, ref: Reference, acc: str, slack: float = 2.0) -> dict:
    """CheckFailed unless C is finite everywhere and within the bound on the sampled rows;
    returns the error figures."""
    xp = _xp(c)
    bad = int(xp.count_nonzero(~xp.isfinite(c)))
    if bad:
        raise CheckFailed(f"{bad} output elements not finite (unwritten, or overflowed)")
    got = _host(c[xp.asarray(inputs.rows)]).astype(np.float64)
    err = np.abs(got - ref.exact)
    bound = slack * U_ACC[acc] * ref.partial_abs + U_OUT * np.abs(ref.exact) + 1e-6
    over = err > bound
    if over.any():
        i = np.unravel_index(np.argmax(err / bound), err.shape)
        raise CheckFailed(f"{int(over.sum())} sampled elements off the float64 reference beyond "
                          f"the bound (worst: row {inputs.rows[i[0]]} col {i[1]}: "
                          f"{got[i]:.6g} vs {ref.exact[i]:.6g}, bound {bound[i]:.3g})")
    return {"max_abs_err": float(err.max()),
            "rel_rms_err": float(np.sqrt((err ** 2).mean() / (ref.exact ** 2).mean())),
            "max_err_over_bound": float((err / bound).max()),
            "checked_rows": len(inputs.rows)}
