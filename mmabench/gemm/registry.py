"""Registry family `gemm`: the wgmma GEMM variants (sm_90a; the cp.async kernel and the TMA
warp-specialized one), each f16 kernel paired with its f32 twin so `regs --family gemm --diff acc` shows what the accumulator costs in registers. Left out
of the default `regs` report (NVRTC compiles take seconds each; its cold-cache budget is 30 s);
naming the family includes them."""

from __future__ import annotations

from mmabench.compiler.registry import KernelSpec
from mmabench.gemm.build import ptx_for
from mmabench.gemm.variants import all_variants


def kernel_specs() -> list[KernelSpec]:
    specs = []
    for v in all_variants():
        specs.append(KernelSpec(
            name=v.name, family="gemm", entry=v.entry,
            ptx=lambda arch, v=v: ptx_for(v, arch), threads_per_block=v.threads,
            dynamic_smem_bytes=v.smem_bytes, min_sm=90, arch_suffix_needed="a", acc=v.acc,
            twin=v.twin.name if v.acc == "f16" and v.twin else None,
            tags={"mode": v.mode, "sass": v.wgmma_opcode, "stages": 1 if v.resident else v.stages,
                  "tile": v.tile, "report_default": False}))
    return specs
