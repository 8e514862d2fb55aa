"""The wgmma probe: one m64nNk16 (FP8: m64nNk32) instruction per launch through the wgmma
suite's chain kernel (mmabench/wgmma, latency pipeline, iters=0: the prologue's single
D = C + A_0 B_0).

The kernel reads one (A, B, C) per launch (a single warpgroup), so a batch of problems is run
one launch each; every launch gives 64 x N dot products (16,384 for N = 256), so the 100,000
random vectors take 7 launches. Designed cases go 64 to a problem on the diagonal
(`batch.per_problem`). A and B enter the K-slice 0 of the shared-memory tiles (the other
slices are zero), C and D the accumulator fragment, as in wgmma/bench.make_inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmabench.arith import formats
from mmabench.arith.forms import WgmmaArith


def _row_bytes(matrix: np.ndarray, type_: str) -> np.ndarray:
    """Rows x K values -> [rows, K * bytes] uint8; FP8 inf kept (e5m2), so designed specials
    reach the hardware (the suite's packer saturates)."""
    bits = np.ascontiguousarray(formats.to_bits(matrix, type_))
    return bits.view(np.uint8).reshape(matrix.shape[0], -1)


def pack(form: WgmmaArith, a: np.ndarray, b: np.ndarray, c: np.ndarray):
    """One problem (a [64, k], b [k, N], c [64, N]) -> the kernel's A tile, B tile, C words."""
    from mmabench.wgmma import fragments as wfr
    from mmabench.wgmma.layout import SLICES, TileLayout

    wg = form.wg
    m, n, k = form.mnk
    a_mat = np.zeros((m, SLICES * k))
    bt_mat = np.zeros((n, SLICES * k))
    a_mat[:, :k] = a
    bt_mat[:, :k] = b.T
    tile = TileLayout(wg.swizzle)
    a_tile = tile.pack(_row_bytes(a_mat, wg.ab_type))
    b_tile = tile.pack(_row_bytes(bt_mat, wg.ab_type))
    c_words = wfr.d_fragment(wg, c)[None]                       # ilp 1
    return a_tile, b_tile, c_words


@dataclass
class Probe:
    form: WgmmaArith
    ptx: str
    kernel: object

    def run(self, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        """D bit patterns [N, 64, N_cols] (uint32 for f32, uint16 for f16), one launch each."""
        import cupy

        from mmabench.wgmma import fragments as wfr
        from mmabench.wgmma.bench import POISON

        wg = self.form.wg
        out = []
        t = cupy.zeros((4, 4), dtype=cupy.uint64)
        for i in range(len(a)):
            a_tile, b_tile, c_words = pack(self.form, a[i], b[i], c[i])
            d = cupy.full((1, 1, 128, wg.c_regs), POISON, dtype=cupy.uint32)
            self.kernel.function((1,), (128,), (cupy.asarray(a_tile), cupy.asarray(b_tile),
                                                cupy.asarray(c_words), d, t, np.uint32(0)))
            out.append(wfr.d_matrix(wg, cupy.asnumpy(d)[0])[0])
        cupy.cuda.get_current_stream().synchronize()
        values = np.stack(out) if out else np.zeros((0,) + c.shape[1:])
        # decoded values back to bits: a NaN comes back as the canonical NaN, not the hardware's
        return formats.to_bits(np.where(np.isnan(values), np.nan, values), self.form.acc)


def build(form: WgmmaArith) -> Probe:
    from mmabench.wgmma import bench
    from mmabench.wgmma.render import LATENCY

    built = bench.build(form.wg, LATENCY)
    return Probe(form, built.ptx, built.kernel)
