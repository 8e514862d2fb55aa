"""Registry family `mma`: each f16/bf16 mma.sync form as a latency kernel (ILP 1, one warp) and a
throughput kernel (ILP 4, 4 warps)."""

from __future__ import annotations

from mmabench.mma.catalogue import FORMS
from mmabench.mma.render import render


def kernel_specs(forms=FORMS, family: str = "mma"):
    from mmabench.compiler.registry import KernelSpec

    specs = []
    for form in forms:
        for kind, ilp, warps in (("lat", 1, 1), ("thr", 4, 4)):
            twin = form.twin
            specs.append(KernelSpec(
                name=f"mma.{form.name}.{kind}",
                family=family,
                entry="mma_chain",
                ptx=lambda arch, form=form, ilp=ilp: render(form, ilp),
                threads_per_block=32 * warps,
                min_sm=form.min_sm,
                acc=form.acc,
                twin=f"mma.{twin.name}.{kind}" if twin else None,
                tags={"form": form.name, "ilp": ilp, "sass": form.sass,
                      **({"sass_by_arch": {a: low.opcode for a, low in form.sass_by_arch}}
                         if form.sass_by_arch else {})},
            ))
    return specs
