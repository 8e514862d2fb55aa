"""Registry family `mma`: each f16/bf16 mma.sync form as a latency kernel (ILP 1, one warp) and a
throughput kernel (ILP 4, 4 warps). `mma_fp8` (fp8_registry.py) registers the FP8 forms alike."""

from __future__ import annotations

from mmabench.instructions.registry import Kind, kernel_specs as specs
from mmabench.mma.catalogue import FORMS
from mmabench.mma.render import render

KINDS = (Kind("lat", 1, 32), Kind("thr", 4, 128))    # config: ILP (chains per warp)


def family_specs(forms, family: str, **tags):
    def form_tags(form, kind):
        return {"ilp": kind.config, "sass": form.sass,
                **({"sass_by_arch": {a: low.opcode for a, low in form.sass_by_arch}}
                   if form.sass_by_arch else {}), **tags}

    return specs(forms, family=family, prefix="mma", entry="mma_chain", render=render,
                 kinds=KINDS, tags=form_tags)


def kernel_specs():
    return family_specs(FORMS, "mma")
