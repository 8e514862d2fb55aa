"""Launching the TMA GEMM (kernels/tma_gemm.cu): its two tensor maps are made once per problem
(mmabench.hopper.tensor_map) and passed by value, so the launch goes through cuLaunchKernel with
a parameter array rather than CuPy's argument packing, which knows no 128-byte structs.
"""

from __future__ import annotations

import ctypes

from mmabench.core.errors import UserError
from mmabench.gemm.variants import BK, BN, Variant, check_tma_shape
from mmabench.hopper.tensor_map import Tile2D, encode


def grid_size(v: Variant, m: int, n: int, sms: int | None = None) -> int:
    """CTAs to launch: one per output tile, or for the persistent kernel one per SM (`sms`, the
    GPU's count) at most."""
    tiles = -(-m // v.bm) * -(-n // BN)
    return min(tiles, sms) if v.persistent and sms else tiles


def check_operands(a, b, c) -> None:
    """UserError unless a [M, K], b [N, K] and c [M, N] are C-contiguous fp16 2-D arrays: the
    tensor maps describe exactly that, and TMA would read anything else wrongly, or past b."""
    import numpy as np

    for name, x in (("a", a), ("b", b), ("c", c)):
        if x.ndim != 2 or x.dtype != np.float16 or not x.flags.c_contiguous:
            raise UserError(f"the TMA GEMM takes C-contiguous 2-D fp16 arrays; {name} is "
                            f"{x.dtype} {tuple(x.shape)}"
                            f"{'' if x.flags.c_contiguous else ', not contiguous'}")
    if b.shape[1] != a.shape[1] or c.shape != (a.shape[0], b.shape[0]):
        raise UserError(f"shapes a {tuple(a.shape)}, b {tuple(b.shape)}, c {tuple(c.shape)}: "
                        "the TMA GEMM takes a [M, K], b [N, K] and c [M, N]")


class TmaLaunch:
    """C = A . B^T with the TMA kernel, for CuPy fp16 a [M, K], b [N, K], c [M, N] (all
    contiguous); calling it issues one launch on CuPy's current stream."""

    def __init__(self, loaded, v: Variant, a, b, c):
        import cupy
        from cupy_backends.cuda.api import driver

        from mmabench import hardware

        check_operands(a, b, c)
        m, k = a.shape
        n = b.shape[0]
        check_tma_shape(m, n, k)
        self.maps = (encode(Tile2D("f16", m, k, k, v.bm, BK), a.data.ptr),
                     encode(Tile2D("f16", n, k, k, BN, BK), b.data.ptr))
        self.values = [ctypes.c_uint64(c.data.ptr), ctypes.c_int32(m), ctypes.c_int32(n),
                       ctypes.c_int32(k)]
        pointers = [tm.address for tm in self.maps] + [ctypes.addressof(x) for x in self.values]
        self.params = (ctypes.c_void_p * len(pointers))(*pointers)
        self.fn, self.threads, self.smem = loaded.function.ptr, v.threads, v.smem_bytes
        self.grid = grid_size(v, m, n, hardware.sm_count() if v.persistent else None)
        self._keep = (a, b, c)        # the maps point into these
        # bound once: a call is on the timed path
        self._launch, self._stream = driver.launchKernel, cupy.cuda.get_current_stream
        self._params = ctypes.addressof(self.params)

    def __call__(self):
        self._launch(self.fn, self.grid, 1, 1, self.threads, 1, 1, self.smem,
                     self._stream().ptr, self._params, 0)
