"""Registry hook of the wgmma family: each form as a latency kernel and a throughput kernel.

The throughput kernel registered is the shape of a GEMM main loop with one accumulator tile
(ILP 1, 4 wgmma per commit group, one group in flight), so `regs --diff acc` shows what the
accumulator type costs: an m64n256 f32 accumulator is 128 registers per thread, f16 64.
The default compiler report keeps four (f16 and e4m3, both accumulators, SS, 128B swizzle,
N = 256); `--family wgmma` or `--all` lists every form.
"""

from __future__ import annotations

from mmabench.instructions.registry import Kind, kernel_specs as specs
from mmabench.wgmma.catalogue import FORMS
from mmabench.wgmma.render import ENTRY, LATENCY, pipeline, render

# two warpgroups per block in the throughput kernel
KINDS = (Kind("lat", LATENCY, 128), Kind("thr", pipeline(1, 4, 1), 2 * 128))


def _in_default_report(form) -> bool:
    return (form.a_src == "ss" and form.swizzle == "128b" and form.n == 256
            and form.ab_type in ("f16", "e4m3"))


def kernel_specs():
    def tags(form, kind):
        return {"sass": form.sass, "pipeline": kind.config.label,
                "acc_regs_per_thread": form.c_regs,
                "report_default": kind.label == "thr" and _in_default_report(form)}

    return specs(FORMS, family="wgmma", prefix="wgmma", entry=ENTRY, render=render, kinds=KINDS,
                 arch_suffix="a", tags=tags)
