"""Render the attention kernel for one variant, compile it (NVRTC -> PTX, offline, cached),
assemble it (ptxas, offline) or load it on the GPU at hand.

The kernel source is header-free, so NVRTC needs no CUDA headers; NVRTC writes the PTX ISA
version of its own release, which older assemblers and drivers refuse although the kernel uses
nothing newer than ISA 7.0 (sm_80: mma.sync m16n8k16, ldmatrix, cp.async, cvt.rn.f16x2.f32).
`ptx_for` therefore states the lowest ISA the code needs (PTX_VERSION), as the hand-written PTX
of the instruction suite does.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from mmabench.core import resources
from mmabench.compiler import toolchain
from mmabench.compiler.resources import Resources, parse_ptxas_log  # noqa: F401  (the one ptxas parser)
from mmabench.attention.variants import Variant, tile_asserts_cpp

SOURCE = resources.kernel("attention.cu")
PTX_VERSION = "7.8"          # CUDA 11.8's ISA: everything the kernel uses, any driver >= 520 JITs it
NVRTC_OPTIONS = ("--use_fast_math", "-default-device", "--extra-device-vectorization")


def source_text() -> str:
    return SOURCE.read_text()


def render(v: Variant) -> str:
    """The kernel source with the variant's #defines in front, and the tile constraints
    (variants.TILE_CONSTRAINTS) as the ATTN_TILE_ASSERTS macro the kernel's Traits expands."""
    head = "".join(f"#define {k} {val}\n" for k, val in v.defines().items())
    head += f"#define ATTN_TILE_ASSERTS {tile_asserts_cpp()}\n"
    return f"// variant {v.name}\n{head}#line 1 \"attention.cu\"\n{source_text()}"


def _lower_version(ptx: str) -> str:
    return re.sub(r"^\.version\s+\d+\.\d+", f".version {PTX_VERSION}", ptx, count=1, flags=re.M)


def ptx_for(v: Variant, arch: str = "sm_80") -> str:
    """PTX of a variant. One PTX (compute_80) serves every target from sm_80 up: ptxas or the
    driver compile it for sm_86/sm_89/sm_90/... (`arch` is accepted for the registry's API)."""
    ptx = toolchain.nvrtc_to_ptx(render(v), "compute_80", NVRTC_OPTIONS, name=f"{v.name}.cu")
    if f".entry {v.entry}" not in ptx:
        raise toolchain.CompileError(f"{v.name}: entry {v.entry} missing from the PTX")
    return _lower_version(ptx)


def assemble(v: Variant, arch: str) -> tuple[toolchain.Assembled, Resources]:
    """Offline cubin + resource usage of a variant for `arch` (cached)."""
    asm = toolchain.assemble(ptx_for(v, arch), arch)
    return asm, parse_ptxas_log(asm.log, v.entry, arch)


@dataclass
class Loaded:
    variant: Variant
    function: object           # cupy.cuda.function.Function
    cubin: bytes               # the code that runs (for SASS provenance)
    how: str                   # 'driver-jit' or 'ptxas <ver>'
    registers: int
    spill_bytes: int           # local memory per thread (spills + stack), from the function
    max_blocks_per_sm: int
    ptx: str
    max_warps_per_sm: int = 0  # of the GPU it was loaded on (device attribute)

    @property
    def occupancy_pct(self) -> float:
        """Resident warps of this launch shape as a percentage of the GPU's maximum (64 per SM on
        sm_80/90/100, 48 on sm_86/89/120: read from the device, not assumed); NaN if unknown."""
        if not self.max_warps_per_sm:
            return float("nan")
        return 100.0 * self.max_blocks_per_sm * self.variant.tiles.warps / self.max_warps_per_sm


def max_warps_per_sm() -> int:
    """Resident warps per SM on the current GPU (cudaDevAttrMaxThreadsPerMultiProcessor / 32)."""
    import cupy

    return cupy.cuda.runtime.deviceGetAttribute(39, cupy.cuda.Device().id) // 32


def smem_optin() -> int:
    """Shared memory one block may have on the current GPU (opt-in maximum), in bytes."""
    import cupy

    return cupy.cuda.runtime.deviceGetAttribute(97, cupy.cuda.Device().id)  # ..PerBlockOptin


def fit_to_gpu(v: Variant) -> Variant:
    """`v` with tiles that fit the current GPU's shared memory (variants.fit)."""
    from mmabench.attention.variants import fit

    return fit(v, smem_optin())


@functools.lru_cache(maxsize=None)
def load(v: Variant) -> Loaded:
    """Compile and load a variant on the current GPU (driver JIT of the PTX; if the driver
    refuses it, ptxas for the GPU's architecture), with >48 KiB dynamic shared memory enabled."""
    from cupy.cuda import function
    from cupy_backends.cuda.api import driver

    from mmabench.compiler import driver_jit
    from mmabench import hardware

    hardware.require_gpu()
    ptx = ptx_for(v)
    try:
        jk = driver_jit.jit(ptx, v.entry)
        func, cubin, how, module = jk.function, jk.cubin, "driver-jit", jk.module
    except Exception as exc:  # driver too old for the PTX, or JIT failure: use ptxas
        arch = hardware.device_arch()
        try:
            asm = toolchain.assemble(ptx, arch)
        except Exception:
            raise toolchain.CompileError(f"{v.name}: driver JIT failed ({exc}) and ptxas too") from None
        module = function.Module()
        module.load(asm.cubin)
        func, cubin, how = module.get_function(v.entry), asm.cubin, f"ptxas {toolchain.tool_version('ptxas')}"
    smem = v.tiles.smem_bytes(v.dim)
    optin = smem_optin()
    if smem > optin:
        from mmabench.core.errors import UserError
        raise UserError(f"{v.name} needs {smem} B of shared memory per block; this GPU allows {optin}")
    driver.funcSetAttribute(func.ptr, driver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem)
    driver.funcSetAttribute(func.ptr, driver.CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, 100)
    regs = driver.funcGetAttribute(driver.CU_FUNC_ATTRIBUTE_NUM_REGS, func.ptr)
    local = driver.funcGetAttribute(driver.CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES, func.ptr)
    blocks = driver.occupancyMaxActiveBlocksPerMultiprocessor(func.ptr, v.tiles.threads, smem)
    loaded = Loaded(v, func, cubin, how, regs, local, blocks, ptx, max_warps_per_sm())
    loaded._module = module  # keep the module alive with its function
    return loaded
