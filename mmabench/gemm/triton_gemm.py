"""A small Triton GEMM of our own with the same tile, warps and tile order as the wgmma kernel:
C = A . B^T, fp16 in and out, the accumulator f16 (tl.dot(..., out_dtype=tl.float16)) or f32
(the default). Triton is optional: `unavailable()` says why it cannot run.
"""

from __future__ import annotations

import re

try:  # optional dependency
    import triton
    import triton.language as tl
    _WHY = None
except Exception as exc:  # ImportError, or a broken install
    triton = tl = None
    _WHY = f"triton not importable ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"

WGMMA_PTX = re.compile(r"wgmma\.mma_async\.sync\.aligned\.(m64n\d+k\d+)\.(f16|f32)\.(f16|bf16)\.(f16|bf16)")


def unavailable() -> str | None:
    return _WHY


if triton is not None:
    @triton.jit
    def _gemm_kernel(a_ptr, b_ptr, c_ptr, M, N, K,
                     stride_am, stride_ak, stride_bn, stride_bk, stride_cm, stride_cn,
                     BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
                     GROUP_M: tl.constexpr, ACC_F16: tl.constexpr):
        pid = tl.program_id(0)
        tiles_m = tl.cdiv(M, BLOCK_M)
        tiles_n = tl.cdiv(N, BLOCK_N)
        per_group = GROUP_M * tiles_n
        first_m = (pid // per_group) * GROUP_M
        group_m = tl.minimum(tiles_m - first_m, GROUP_M)
        tile_m = first_m + (pid % per_group) % group_m
        tile_n = (pid % per_group) // group_m
        rm = tile_m * BLOCK_M + tl.arange(0, BLOCK_M)
        rn = tile_n * BLOCK_N + tl.arange(0, BLOCK_N)
        rk = tl.arange(0, BLOCK_K)
        a_ptrs = a_ptr + rm[:, None] * stride_am + rk[None, :] * stride_ak
        b_ptrs = b_ptr + rk[:, None] * stride_bk + rn[None, :] * stride_bn    # B^T tile [K, N]
        if ACC_F16:
            acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float16)
        else:
            acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
        for _ in range(0, K, BLOCK_K):
            a = tl.load(a_ptrs)
            b = tl.load(b_ptrs)
            if ACC_F16:
                acc = tl.dot(a, b, acc, out_dtype=tl.float16)
            else:
                acc = tl.dot(a, b, acc)
            a_ptrs += BLOCK_K * stride_ak
            b_ptrs += BLOCK_K * stride_bk
        c_ptrs = c_ptr + rm[:, None] * stride_cm + rn[None, :] * stride_cn
        tl.store(c_ptrs, acc.to(tl.float16))


class TritonGemm:
    """One compiled Triton GEMM (per accumulator) and what it compiled to."""

    def __init__(self, acc: str, a, b, c, block=(128, 256, 64), group_m=16, num_warps=8,
                 stages=(4, 3)):
        if triton is None:
            raise RuntimeError(_WHY)
        self.acc, self.a, self.b, self.c = acc, a, b, c
        m, k = a.shape
        n = b.shape[0]
        self.args = (a, b, c, m, n, k, a.stride(0), a.stride(1), b.stride(0), b.stride(1),
                     c.stride(0), c.stride(1))
        self.grid = ((m // block[0]) * (n // block[1]),)
        last = None
        for s in stages:                      # the deepest pipeline that fits shared memory
            self.meta = dict(BLOCK_M=block[0], BLOCK_N=block[1], BLOCK_K=block[2], GROUP_M=group_m,
                             ACC_F16=acc == "f16", num_warps=num_warps, num_stages=s)
            try:
                self.compiled = _gemm_kernel[self.grid](*self.args, **self.meta)
                self.stages = s
                break
            except Exception as exc:          # OutOfResources (shared memory) and the like
                last = exc
        else:
            raise RuntimeError(f"Triton could not compile the GEMM: {last}")

    def __call__(self):
        _gemm_kernel[self.grid](*self.args, **self.meta)

    def info(self) -> dict:
        k = self.compiled
        ptx = k.asm.get("ptx", "") if hasattr(k, "asm") else ""
        forms = sorted({".".join(m.groups()) for m in WGMMA_PTX.finditer(ptx)})
        return {"registers": getattr(k, "n_regs", None), "spill_bytes": getattr(k, "n_spills", None),
                "ptx_wgmma": ", ".join(f"wgmma {f}" for f in forms) or "no wgmma in PTX",
                "stages": self.stages, "tile": f"{self.meta['BLOCK_M']}x{self.meta['BLOCK_N']}x"
                                              f"{self.meta['BLOCK_K']}, {self.meta['num_warps']} warps"}
