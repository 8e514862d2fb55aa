"""Render kernels/wgmma_gemm.cu or kernels/tma_gemm.cu for one variant, compile it (NVRTC ->
PTX for compute_90a, offline, cached), assemble it (ptxas -arch=sm_90a, offline) or load it on
the GPU at hand.

The same PTX is what the offline report assembles and what the driver JITs on an H100, so the
registers and SASS reported offline are those of the kernel that runs (the loaded function's
own register count is read back too).
"""

from __future__ import annotations

import functools

from mmabench import hardware
from mmabench.core import project_files
from mmabench.compiler import cuda_source, loader, toolchain
from mmabench.compiler.loader import Loaded
from mmabench.compiler.resources import Resources, parse_ptxas_log, require_clean  # noqa: F401  (build.require_clean)
from mmabench.core.errors import UserError
from mmabench.gemm.variants import Variant

ARCH = "sm_90a"                    # wgmma exists on sm_90a only
VIRTUAL_ARCH = "compute_90a"
PTX_VERSION = "8.0"                # wgmma, fence.proxy.async, sm_90a: PTX ISA 8.0 (CUDA 12.0)
NVRTC_OPTIONS = ("-default-device",)


def render(v: Variant) -> str:
    return cuda_source.render(project_files.kernel(v.source), v.name, v.defines())


def ptx_for(v: Variant, arch: str = ARCH) -> str:
    """PTX of a variant (target sm_90a; `arch` is accepted for the registry's API)."""
    return cuda_source.to_ptx(render(v), v.name, v.entry, VIRTUAL_ARCH, NVRTC_OPTIONS, PTX_VERSION)


def assemble(v: Variant) -> tuple[toolchain.Assembled, Resources]:
    """Offline cubin and ptxas resources for sm_90a (cached); whether ptxas serialized the
    wgmma pipeline is `resources.advised("wgmma serialized")`, whether it ignored setmaxnreg
    `resources.advised("setmaxnreg ignored")`."""
    asm = toolchain.assemble(ptx_for(v), ARCH)
    return asm, parse_ptxas_log(asm.log, v.entry, ARCH)


@functools.lru_cache(maxsize=None)
def load(v: Variant) -> Loaded:
    """The variant on the GPU at hand (compiler.loader: the driver's JIT, else ptxas for sm_90a),
    its dynamic shared memory enabled. UserError off Hopper (wgmma is sm_90a only)."""
    hardware.require_gpu()
    arch = hardware.device_arch()
    if arch != "sm_90":
        raise UserError(f"the wgmma GEMM needs an sm_90 GPU (H100/H200); this one is {arch}")
    return loader.load(ptx_for(v), v.entry, v.threads, v.smem_bytes, arch=ARCH, name=v.name, variant=v)
