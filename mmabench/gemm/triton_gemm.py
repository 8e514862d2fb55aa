"""A Triton GEMM of our own, C = A . B with fp16 in and out, for both layouts of B a Triton user
meets and both accumulators: `tl.dot(..., out_dtype=tl.float16)` or the f32 default.

- 'nn': B stored [K, N] row-major, as in `a @ b` (N is B's contiguous dimension);
- 'nt': B stored [N, K] row-major and read transposed (both operands K-major, as our kernels).

One kernel serves both: the layout is only B's strides. The tiles are the four configurations
the Triton puzzle was measured at (CONFIGS). Triton is optional: `unavailable()` says why it
cannot run. Without a GPU, `compile_offline` builds the same kernels for sm_90 (triton_evidence
reads what the compiler made of them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

try:  # optional dependency
    import triton
    import triton.language as tl
    _WHY = None
except Exception as exc:  # ImportError, or a broken install
    triton = tl = None
    _WHY = f"triton not importable ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"

WGMMA_PTX = re.compile(r"wgmma\.mma_async\.sync\.aligned\.(m64n\d+k\d+)\.(f16|f32)\.(f16|bf16)\.(f16|bf16)")
LAYOUTS = {"nn": "B [K, N] row-major (a @ b)", "nt": "B [N, K] row-major, read transposed"}
GROUP_M = 8                      # grouped tile order: GROUP_M tile rows share their B tiles in L2


@dataclass(frozen=True)
class Config:
    block_m: int
    block_n: int
    block_k: int
    warps: int
    stages: int

    @property
    def name(self) -> str:
        return f"{self.block_m}x{self.block_n}x{self.block_k} w{self.warps} s{self.stages}"

    @property
    def key(self) -> str:
        return f"{self.block_m}x{self.block_n}x{self.block_k}.w{self.warps}s{self.stages}"


# The configurations the puzzle was reported at (issue 20: Triton 3.6 on an H200, 8192^3).
CONFIGS = (Config(128, 256, 64, 8, 3), Config(128, 128, 64, 4, 4), Config(128, 256, 64, 8, 4),
           Config(256, 128, 64, 8, 3))


def unavailable() -> str | None:
    return _WHY


if triton is not None:
    @triton.jit
    def _gemm_kernel(a_ptr, b_ptr, c_ptr, M, N, K,
                     stride_am, stride_ak, stride_bk, stride_bn, stride_cm, stride_cn,
                     BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
                     GROUP: tl.constexpr, ACC_F16: tl.constexpr):
        pid = tl.program_id(0)
        tiles_m = tl.cdiv(M, BLOCK_M)
        tiles_n = tl.cdiv(N, BLOCK_N)
        per_group = GROUP * tiles_n
        first_m = (pid // per_group) * GROUP
        group_m = tl.minimum(tiles_m - first_m, GROUP)
        tile_m = first_m + (pid % per_group) % group_m
        tile_n = (pid % per_group) // group_m
        rm = tile_m * BLOCK_M + tl.arange(0, BLOCK_M)
        rn = tile_n * BLOCK_N + tl.arange(0, BLOCK_N)
        rk = tl.arange(0, BLOCK_K)
        a_ptrs = a_ptr + rm[:, None] * stride_am + rk[None, :] * stride_ak
        b_ptrs = b_ptr + rk[:, None] * stride_bk + rn[None, :] * stride_bn    # a [K, N] tile of B
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


def _b_strides(layout: str, b) -> tuple[int, int]:
    """(stride along K, stride along N) of B as stored for `layout`."""
    return (b.stride(1), b.stride(0)) if layout == "nt" else (b.stride(0), b.stride(1))


def check_shape(m: int, n: int, k: int, config: Config) -> None:
    """The kernel loads whole tiles (no masks): M, N, K must be multiples of the tile."""
    for dim, value, tile in (("M", m, config.block_m), ("N", n, config.block_n), ("K", k, config.block_k)):
        if value % tile:
            raise ValueError(f"{dim}={value} is not a multiple of the Triton tile's {tile} ({config.name})")


class TritonGemm:
    """One compiled Triton GEMM: accumulator, layout of B and tile configuration fixed.

    `a` is [M, K]; `b` is [N, K] for 'nt' and [K, N] for 'nn'; `c` is [M, N]; torch tensors.
    """

    def __init__(self, acc: str, layout: str, config: Config, a, b, c):
        if triton is None:
            raise RuntimeError(_WHY)
        if layout not in LAYOUTS:
            raise ValueError(f"layout {layout!r}: one of {', '.join(LAYOUTS)}")
        m, k = a.shape
        n = b.shape[0] if layout == "nt" else b.shape[1]
        check_shape(m, n, k, config)
        self.acc, self.layout, self.config = acc, layout, config
        self.args = (a, b, c, m, n, k, a.stride(0), a.stride(1), *_b_strides(layout, b),
                     c.stride(0), c.stride(1))
        self.grid = ((m // config.block_m) * (n // config.block_n),)
        self.meta = dict(BLOCK_M=config.block_m, BLOCK_N=config.block_n, BLOCK_K=config.block_k,
                         GROUP=GROUP_M, ACC_F16=acc == "f16", num_warps=config.warps,
                         num_stages=config.stages)
        self.compiled = _gemm_kernel[self.grid](*self.args, **self.meta)   # OutOfResources: too big

    def __call__(self):
        _gemm_kernel[self.grid](*self.args, **self.meta)

    def info(self) -> dict:
        return kernel_info(self.compiled.asm, self.compiled, self.config)


def kernel_info(asm: dict, compiled, config: Config) -> dict:
    """Registers, spills, the wgmma form in the PTX, the tile: the row's columns."""
    forms = sorted({".".join(m.groups()) for m in WGMMA_PTX.finditer(asm.get("ptx", ""))})
    return {"registers": getattr(compiled, "n_regs", None), "spill_bytes": getattr(compiled, "n_spills", None),
            "ptx_wgmma": ", ".join(f"wgmma {f}" for f in forms) or "no wgmma in PTX",
            "stages": config.stages, "tile": f"{config.block_m}x{config.block_n}x{config.block_k}, "
                                              f"{config.warps} warps"}


def compile_offline(acc: str, layout: str, config: Config, size: int = 8192, arch: int = 90):
    """The kernel Triton builds for an M = N = K = `size` problem on sm_`arch`, without a GPU.

    Triton specializes a launch on its integer arguments (a 1 becomes a constant, a multiple of
    16 is marked divisible by 16); this states the same specialization, so the kernel compiled
    here is the one a launch at that size runs."""
    if triton is None:
        raise RuntimeError(_WHY)
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    names = ["a_ptr", "b_ptr", "c_ptr", "M", "N", "K", "stride_am", "stride_ak", "stride_bk",
             "stride_bn", "stride_cm", "stride_cn"]
    unit = {"stride_ak", "stride_cn", "stride_bk" if layout == "nt" else "stride_bn"}
    values = {"M": size, "N": size, "K": size, "stride_am": size, "stride_cm": size,
              "stride_bk": size, "stride_bn": size}
    signature = {}
    constexprs = {}
    attrs = {}
    for i, name in enumerate(names):
        if name in unit:
            signature[name], constexprs[(i,)] = "constexpr", 1
            continue
        signature[name] = "*fp16" if name.endswith("_ptr") else "i32"
        if name.endswith("_ptr") or values[name] % 16 == 0:
            attrs[(i,)] = [["tt.divisibility", 16]]
    meta = {"BLOCK_M": config.block_m, "BLOCK_N": config.block_n, "BLOCK_K": config.block_k,
            "GROUP": GROUP_M, "ACC_F16": acc == "f16"}
    for j, (name, value) in enumerate(meta.items(), start=len(names)):
        signature[name], constexprs[(j,)] = "constexpr", value
    source = ASTSource(_gemm_kernel, signature, constexprs=constexprs, attrs=attrs)
    return triton.compile(source, target=GPUTarget("cuda", arch, 32),
                          options={"num_warps": config.warps, "num_stages": config.stages})
