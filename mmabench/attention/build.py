"""Render an attention kernel for one variant (the FA2-class kernels/attention.cu, or the Hopper
kernels/hopper_attention.cu, as its tiles say), compile it (NVRTC -> PTX, offline, cached),
assemble it (ptxas, offline) or load it on the GPU at hand (compiler.cuda_source and
compiler.loader do the work).

The kernel source is header-free, so NVRTC needs no CUDA headers. The PTX states the lowest ISA
the code needs (PTX_VERSION) rather than NVRTC's own: nothing newer than ISA 7.0 is used (sm_80:
mma.sync m16n8k16, ldmatrix, cp.async, cvt.rn.f16x2.f32).
"""

from __future__ import annotations

import functools

from mmabench import hardware
from mmabench.core import project_files
from mmabench.core.errors import UserError
from mmabench.compiler import cuda_source, loader, toolchain
from mmabench.compiler.loader import Loaded
from mmabench.compiler.resources import Resources, parse_ptxas_log, require_clean
from mmabench.attention.variants import HOPPER_ARCH, Variant, fit, tile_asserts_cpp
from mmabench.hopper import wgmma_wrappers

SOURCE = project_files.kernel("attention.cu")
PTX_VERSION = "7.8"          # CUDA 11.8's ISA: everything the kernel uses, any driver >= 520 JITs it
NVRTC_OPTIONS = ("--use_fast_math", "-default-device", "--extra-device-vectorization")
HOPPER_SOURCE = project_files.kernel("hopper_attention.cu")
HOPPER_PTX_VERSION = "8.0"   # wgmma, TMA, setmaxnreg on sm_90a: PTX ISA 8.0 (CUDA 12.0)


def source_text() -> str:
    return SOURCE.read_text()


def render(v: Variant) -> str:
    """The kernel source with the variant's #defines in front: for the FA2-class kernel the tile
    constraints (variants.TILE_CONSTRAINTS) as the ATTN_TILE_ASSERTS macro its Traits expands,
    for the Hopper kernel the wgmma wrappers of its two shapes (S: m64n<keys>, O: m64n<d>)."""
    if v.kernel == "hopper":
        shapes = (("ss", v.tiles.bc, v.acc_s != "f32"), ("rs", v.dim, v.acc_o != "f32"))
        return cuda_source.render(HOPPER_SOURCE, v.name,
                                  {**v.defines(), "HATTN_WGMMA_WRAPPERS": wgmma_wrappers.wrappers(shapes)})
    return cuda_source.render(SOURCE, v.name, {**v.defines(), "ATTN_TILE_ASSERTS": tile_asserts_cpp()})


def ptx_for(v: Variant, arch: str = "sm_80") -> str:
    """PTX of a variant. The FA2-class kernel: one PTX (compute_80) serves every target from
    sm_80 up, ptxas or the driver compile it for sm_86/sm_89/sm_90/... (`arch` is accepted for
    the registry's API). The Hopper kernel: compute_90a."""
    if v.kernel == "hopper":
        return cuda_source.to_ptx(render(v), v.name, v.entry, "compute_90a", NVRTC_OPTIONS,
                                  HOPPER_PTX_VERSION)
    return cuda_source.to_ptx(render(v), v.name, v.entry, "compute_80", NVRTC_OPTIONS, PTX_VERSION)


def assemble(v: Variant, arch: str) -> tuple[toolchain.Assembled, Resources]:
    """Offline cubin + resource usage of a variant for `arch` (cached). The Hopper kernel
    assembles for sm_90a only, and a ptxas advisory that it serialized the wgmma pipeline or
    ignored setmaxnreg fails its build."""
    if v.kernel == "hopper":
        if hardware.arch_number(arch) != 90:
            raise UserError(f"{v.name} runs on sm_90a only, not {arch}")
        asm = toolchain.assemble(ptx_for(v), HOPPER_ARCH)
        return asm, require_clean(parse_ptxas_log(asm.log, v.entry, HOPPER_ARCH), v.name)
    asm = toolchain.assemble(ptx_for(v, arch), arch)
    return asm, parse_ptxas_log(asm.log, v.entry, arch)


def fit_to_gpu(v: Variant) -> Variant:
    """`v` with tiles that fit the current GPU's shared memory (variants.fit)."""
    return fit(v, loader.smem_optin())


@functools.lru_cache(maxsize=None)
def load(v: Variant) -> Loaded:
    """Compile and load a variant on the current GPU (compiler.loader: the driver's JIT of the
    PTX, else ptxas), with >48 KiB dynamic shared memory enabled and the largest carve-out."""
    if v.kernel == "hopper" and hardware.device_arch() != "sm_90":
        raise UserError(f"{v.name} needs an sm_90 GPU (H100/H200); this one is {hardware.device_arch()}")
    hopper = v.kernel == "hopper"
    if hopper:     # ptxas's advisories checked first: a serialized wgmma pipeline is never timed
        assemble(v, HOPPER_ARCH)
    return loader.load(ptx_for(v), v.entry, v.tiles.threads, v.tiles.smem_bytes(v.dim),
                       arch=HOPPER_ARCH if hopper else None, carveout=100, name=v.name, variant=v,
                       prefer_ptxas=hopper)   # setmaxnreg: the driver's JIT spills (loader.load)


def precompile_one(v: Variant) -> None:
    """What build.load will compile, done ahead (in a worker): the driver's JIT of the PTX, or
    for the Hopper kernel ptxas's cubin (both cached)."""
    from mmabench.compiler import driver_jit

    if v.kernel == "hopper":
        toolchain.assemble(ptx_for(v), HOPPER_ARCH)
    else:
        driver_jit.jit(ptx_for(v), v.entry)
