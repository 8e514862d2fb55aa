"""Registry family `softmax`: each softmax form as a latency kernel (ILP 1, one warp) and a
throughput kernel (ILP 4, 8 warps), twinned f16x2 <-> f32."""

from __future__ import annotations

from mmabench.instructions.registry import Kind, kernel_specs as specs
from mmabench.softmax.catalogue import FORMS
from mmabench.softmax.render import render

KINDS = (Kind("lat", 1, 32), Kind("thr", 4, 256))    # config: ILP (chains per thread)


def kernel_specs():
    def form_tags(form, kind):
        return {"ilp": kind.config, "instruction": form.instruction,
                "sass": {op: str(n) for op, n in form.sass},
                "key_opcodes": tuple(op for op, _ in form.sass)}   # the regs report's column

    return specs(FORMS, family="softmax", prefix="softmax", entry="softmax_chain", render=render,
                 kinds=KINDS, tags=form_tags)
