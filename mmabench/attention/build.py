"""Render the attention kernel for one variant, compile it (NVRTC -> PTX, offline, cached),
assemble it (ptxas, offline) or load it on the GPU at hand (compiler.cuda_source and
compiler.loader do the work).

The kernel source is header-free, so NVRTC needs no CUDA headers. The PTX states the lowest ISA
the code needs (PTX_VERSION) rather than NVRTC's own: nothing newer than ISA 7.0 is used (sm_80:
mma.sync m16n8k16, ldmatrix, cp.async, cvt.rn.f16x2.f32).
"""

from __future__ import annotations

import functools

from mmabench.core import project_files
from mmabench.compiler import cuda_source, loader, toolchain
from mmabench.compiler.loader import Loaded
from mmabench.compiler.resources import Resources, parse_ptxas_log
from mmabench.attention.variants import Variant, fit, tile_asserts_cpp

SOURCE = project_files.kernel("attention.cu")
PTX_VERSION = "7.8"          # CUDA 11.8's ISA: everything the kernel uses, any driver >= 520 JITs it
NVRTC_OPTIONS = ("--use_fast_math", "-default-device", "--extra-device-vectorization")


def source_text() -> str:
    return SOURCE.read_text()


def render(v: Variant) -> str:
    """The kernel source with the variant's #defines in front, and the tile constraints
    (variants.TILE_CONSTRAINTS) as the ATTN_TILE_ASSERTS macro the kernel's Traits expands."""
    return cuda_source.render(SOURCE, v.name, {**v.defines(), "ATTN_TILE_ASSERTS": tile_asserts_cpp()})


def ptx_for(v: Variant, arch: str = "sm_80") -> str:
    """PTX of a variant. One PTX (compute_80) serves every target from sm_80 up: ptxas or the
    driver compile it for sm_86/sm_89/sm_90/... (`arch` is accepted for the registry's API)."""
    return cuda_source.to_ptx(render(v), v.name, v.entry, "compute_80", NVRTC_OPTIONS, PTX_VERSION)


def assemble(v: Variant, arch: str) -> tuple[toolchain.Assembled, Resources]:
    """Offline cubin + resource usage of a variant for `arch` (cached)."""
    asm = toolchain.assemble(ptx_for(v, arch), arch)
    return asm, parse_ptxas_log(asm.log, v.entry, arch)


def fit_to_gpu(v: Variant) -> Variant:
    """`v` with tiles that fit the current GPU's shared memory (variants.fit)."""
    return fit(v, loader.smem_optin())


@functools.lru_cache(maxsize=None)
def load(v: Variant) -> Loaded:
    """Compile and load a variant on the current GPU (compiler.loader: the driver's JIT of the
    PTX, else ptxas), with >48 KiB dynamic shared memory enabled and the largest carve-out."""
    return loader.load(ptx_for(v), v.entry, v.tiles.threads, v.tiles.smem_bytes(v.dim),
                       carveout=100, name=v.name, variant=v)
