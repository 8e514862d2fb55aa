"""The wgmma kernels assembled offline (no GPU): does sm_90a get the SASS we meant, pipelined?"""

from __future__ import annotations

from mmabench import hardware
from mmabench.compiler import sass, toolchain
from mmabench.core.errors import UserError
from mmabench.compiler.resources import parse_ptxas_log
from mmabench.wgmma.bench import MeasurementError, sass_check
from mmabench.wgmma.catalogue import ARCH, MIN_SM, WgmmaForm
from mmabench.wgmma.render import ENTRY, Pipeline, pipeline, render

THROUGHPUT = pipeline(2, 4, 1)   # the shape the offline check assembles besides the latency one


def target(arch: str) -> str:
    """The target wgmma is built for when `arch` is asked: sm_90 -> sm_90a; UserError for any
    architecture without wgmma (it is an sm_90a feature only: not sm_80/89, not sm_100/120)."""
    if hardware.arch_number(arch) != MIN_SM:
        raise UserError(f"wgmma needs sm_90a (Hopper); {arch} does not have it")
    return ARCH


def check_form(form: WgmmaForm, arch: str = "sm_90", pipe: Pipeline | None = None) -> dict:
    """ptxas + nvdisasm for one form; the row says what the loop holds and what ptxas said."""
    built_for = target(arch)
    if pipe is None:
        pipe = pipeline(min(THROUGHPUT.ilp, form.max_ilp()), THROUGHPUT.depth, THROUGHPUT.pending)
    asm = toolchain.assemble(render(form, pipe), built_for)
    text = toolchain.disassemble(asm.cubin)
    ops = sass.tensor_ops(sass.histogram(text))
    res = parse_ptxas_log(asm.log, ENTRY, built_for)
    serialized = res.advised("wgmma serialized")
    try:
        per_trip = sass_check(form, pipe, text)
        problem = ""
    except MeasurementError as exc:
        per_trip, problem = 0, str(exc)
    ok = not problem and not serialized
    return {"form": form.name, "arch": arch, "target": built_for, "pipeline": pipe.label,
            "expected_sass": form.sass, "sass_per_trip": per_trip,
            "expected_per_trip": pipe.per_trip, "ok": ok,
            "problem": problem or "; ".join(serialized),
            "gmma_opcodes": sass.counts_text(ops),
            "registers": res.registers}


__all__ = ["check_form", "target", "THROUGHPUT"]
