"""Render kernels/wgmma_gemm.cu for one variant, compile it (NVRTC -> PTX for compute_90a,
offline, cached), assemble it (ptxas -arch=sm_90a, offline) or load it on the GPU at hand.

The same PTX is what the offline report assembles and what the driver JITs on an H100, so the
registers and SASS reported offline are those of the kernel that runs (the loaded function's
own register count is read back too).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from mmabench.core import resources
from mmabench.compiler import toolchain
from mmabench.compiler.resources import Resources, parse_ptxas_log
from mmabench.core.errors import UserError
from mmabench.gemm.variants import THREADS, Variant

SOURCE = resources.kernel("wgmma_gemm.cu")
ARCH = "sm_90a"                    # wgmma exists on sm_90a only
VIRTUAL_ARCH = "compute_90a"
PTX_VERSION = "8.0"                # wgmma, fence.proxy.async, sm_90a: PTX ISA 8.0 (CUDA 12.0)
NVRTC_OPTIONS = ("-default-device",)


def render(v: Variant) -> str:
    head = "".join(f"#define {k} {val}\n" for k, val in v.defines().items())
    return f"// variant {v.name}\n{head}#line 1 \"wgmma_gemm.cu\"\n{SOURCE.read_text()}"


def _lower_version(ptx: str) -> str:
    return re.sub(r"^\.version\s+\d+\.\d+", f".version {PTX_VERSION}", ptx, count=1, flags=re.M)


def ptx_for(v: Variant, arch: str = ARCH) -> str:
    """PTX of a variant (target sm_90a; `arch` is accepted for the registry's API)."""
    ptx = toolchain.nvrtc_to_ptx(render(v), VIRTUAL_ARCH, NVRTC_OPTIONS, name=f"{v.name}.cu")
    if f".entry {v.entry}" not in ptx:
        raise toolchain.CompileError(f"{v.name}: entry {v.entry} missing from the PTX")
    return _lower_version(ptx)


def assemble(v: Variant) -> tuple[toolchain.Assembled, Resources]:
    """Offline cubin and ptxas resources for sm_90a (cached); whether ptxas serialized the
    wgmma pipeline is `resources.advised("wgmma serialized")`."""
    asm = toolchain.assemble(ptx_for(v), ARCH)
    return asm, parse_ptxas_log(asm.log, v.entry, ARCH)


@dataclass
class Loaded:
    variant: Variant
    function: object           # cupy.cuda.function.Function
    cubin: bytes
    how: str
    registers: int             # what the loaded function reports
    local_bytes: int           # local memory per thread (spills + stack)
    max_blocks_per_sm: int
    module: object


@functools.lru_cache(maxsize=None)
def load(v: Variant) -> Loaded:
    """JIT the variant's PTX with the driver (ptxas for sm_90a if the driver refuses) and enable
    its dynamic shared memory. UserError off Hopper (wgmma is sm_90a only)."""
    from cupy.cuda import function
    from cupy_backends.cuda.api import driver

    from mmabench.compiler import driver_jit
    from mmabench import hardware

    hardware.require_gpu()
    arch = hardware.device_arch()
    if arch != "sm_90":
        raise UserError(f"the wgmma GEMM needs an sm_90 GPU (H100/H200); this one is {arch}")
    ptx = ptx_for(v)
    try:
        jk = driver_jit.jit(ptx, v.entry)
        func, cubin, how, module = jk.function, jk.cubin, "driver-jit", jk.module
    except Exception as exc:
        try:
            asm = toolchain.assemble(ptx, ARCH)
        except Exception:
            raise toolchain.CompileError(f"{v.name}: driver JIT failed ({exc}) and ptxas too") from None
        module = function.Module()
        module.load(asm.cubin)
        func, cubin, how = module.get_function(v.entry), asm.cubin, f"ptxas {toolchain.tool_version('ptxas')}"
    driver.funcSetAttribute(func.ptr, driver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, v.smem_bytes)
    regs = driver.funcGetAttribute(driver.CU_FUNC_ATTRIBUTE_NUM_REGS, func.ptr)
    local = driver.funcGetAttribute(driver.CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES, func.ptr)
    blocks = driver.occupancyMaxActiveBlocksPerMultiprocessor(func.ptr, THREADS, v.smem_bytes)
    return Loaded(v, func, cubin, how, regs, local, blocks, module)
