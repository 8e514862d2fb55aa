"""Launching the TMA GEMM (kernels/tma_gemm.cu): its two tensor maps are made once per problem
(mmabench.hopper.tensor_map) and passed by value, so the launch goes through cuLaunchKernel with
a parameter array rather than CuPy's argument packing, which knows no 128-byte structs.
"""

from __future__ import annotations

import ctypes

from mmabench.core.errors import UserError
from mmabench.gemm.variants import Variant, check_tma_shape
from mmabench.hopper.tensor_map import MAP_BYTES, EncodedMap, Tile2D, encode

C_BOX = 64        # kernels/tma_gemm.cu's TMA store: boxes of 64 x 64 fp16 (128-byte rows)


def grid_size(v: Variant, m: int, n: int, sms: int | None = None) -> int:
    """CTAs to launch: one per output tile, or for the persistent kernel one per SM (`sms`, the
    GPU's count) at most."""
    tiles_m = -(-m // v.bm)
    # a cluster takes `cluster` vertically adjacent tiles (the last one may lie past M)
    tiles = -(-tiles_m // v.cluster) * v.cluster * -(-n // v.bn)
    return min(tiles, sms) if v.persistent and sms else tiles


# what a kernel's inputs are stored as on the host side: e4m3 bytes travel as uint8
_STORED = {"f16": "float16", "e4m3": "uint8"}


def check_operands(a, b, c, inputs: str = "f16") -> None:
    """UserError unless a [M, K], b [N, K] and c [M, N] are C-contiguous 2-D arrays, a and b of
    the kernel's input type (fp16, or e4m3 bytes as uint8) and c fp16: the tensor maps describe
    exactly that, and TMA would read anything else wrongly, or past b."""
    import numpy as np

    for name, x, kind in (("a", a, _STORED[inputs]), ("b", b, _STORED[inputs]), ("c", c, "float16")):
        if x.ndim != 2 or x.dtype != np.dtype(kind) or not x.flags.c_contiguous:
            raise UserError(f"the TMA GEMM takes C-contiguous 2-D {kind} arrays for {name}; it is "
                            f"{x.dtype} {tuple(x.shape)}"
                            f"{'' if x.flags.c_contiguous else ', not contiguous'}")
    if b.shape[1] != a.shape[1] or c.shape != (a.shape[0], b.shape[0]):
        raise UserError(f"shapes a {tuple(a.shape)}, b {tuple(b.shape)}, c {tuple(c.shape)}: "
                        "the TMA GEMM takes a [M, K], b [N, K] and c [M, N]")


class TmaLaunch:
    """C = A . B^T with the TMA kernel, for CuPy a [M, K], b [N, K] (fp16, or e4m3 bytes as
    uint8, as the variant takes) and fp16 c [M, N], all contiguous; calling it issues one launch
    on CuPy's current stream."""

    def __init__(self, loaded, v: Variant, a, b, c):
        import cupy
        from cupy_backends.cuda.api import driver

        from mmabench import hardware

        check_operands(a, b, c, v.inputs)
        m, k = a.shape
        n = b.shape[0]
        check_tma_shape(m, n, k, v.inputs, v.store_c)
        # C's map only for the TMA-store epilogue; the other kernels never read theirs
        map_c = (encode(Tile2D("f16", m, n, n, C_BOX, C_BOX), c.data.ptr) if v.store_c
                 else EncodedMap(bytes(MAP_BYTES)))
        self.maps = (encode(Tile2D(v.inputs, m, k, k, v.bm, v.bk), a.data.ptr),
                     encode(Tile2D(v.inputs, n, k, k, v.bn // v.cluster, v.bk), b.data.ptr), map_c)
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
