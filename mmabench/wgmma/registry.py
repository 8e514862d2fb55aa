"""Registry hook of the wgmma family: each form as a latency kernel and a throughput kernel.

The throughput kernel registered is the shape of a GEMM main loop with one accumulator tile
(ILP 1, 4 wgmma per commit group, one group in flight), so `regs --diff acc` shows what the
accumulator type costs: an m64n256 f32 accumulator is 128 registers per thread, f16 64.
The default compiler report keeps four (f16 and e4m3, both accumulators, SS, 128B swizzle,
N = 256); `--family wgmma` or `--all` lists every form.
"""

from __future__ import annotations

from mmabench.wgmma.catalogue import FORMS, MIN_SM
from mmabench.wgmma.render import ENTRY, LATENCY, pipeline, render

REGISTRY_PIPELINE = pipeline(1, 4, 1)
WARPGROUPS_PER_BLOCK = 2


def _in_default_report(form) -> bool:
    return (form.a_src == "ss" and form.swizzle == "128b" and form.n == 256
            and form.ab_type in ("f16", "e4m3"))


def kernel_specs():
    from mmabench.compiler.registry import KernelSpec

    specs = []
    for form in FORMS:
        for kind, pipe, threads in (("lat", LATENCY, 128),
                                    ("thr", REGISTRY_PIPELINE, 128 * WARPGROUPS_PER_BLOCK)):
            twin = form.twin
            specs.append(KernelSpec(
                name=f"wgmma.{form.name}.{kind}",
                family="wgmma",
                entry=ENTRY,
                ptx=lambda arch, form=form, pipe=pipe: render(form, pipe),
                threads_per_block=threads,
                min_sm=MIN_SM,
                arch_suffix_needed="a",
                acc=form.acc,
                twin=f"wgmma.{twin.name}.{kind}" if twin else None,
                tags={"form": form.name, "sass": form.sass, "pipeline": pipe.label,
                      "acc_regs_per_thread": form.c_regs,
                      "report_default": kind == "thr" and _in_default_report(form)},
            ))
    return specs
