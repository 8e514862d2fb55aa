"""The wgmma kernels assembled offline (no GPU): does sm_90a get the SASS we meant, pipelined?

Beyond the base check (the form's opcode, as many as rendered, no other tensor opcode), a
pipelined loop must keep one WARPGROUP.DEPBAR (wait) per commit group, and ptxas must not have
serialized the wgmma sequence (its 'serialized' advisories: C7509, C7510, C7515, ...).
"""

from __future__ import annotations

from mmabench.compiler import sass
from mmabench.compiler.resources import parse_ptxas_log
from mmabench.instructions import offline
from mmabench.wgmma.catalogue import ARCH, WgmmaForm
from mmabench.wgmma.render import ENTRY, Pipeline, pipeline, render

THROUGHPUT = pipeline(2, 4, 1)   # the shape the offline check assembles besides the latency one


def waits_problem(form: WgmmaForm, pipe: Pipeline, text: str) -> str:
    """'' if the loop holding the form's wgmma has one WARPGROUP.DEPBAR per commit group, as
    written; extra waits mean ptxas serialized the pipeline."""
    loop = next((lp for lp in sass.loops(text) if lp.count(form.sass)), None)
    if loop is None:
        return ""                  # the count check has said so already
    groups = pipe.per_trip // pipe.depth
    waits = sum(1 for i in loop.body if i.opcode.startswith("WARPGROUP.DEPBAR"))
    if waits != groups:
        return (f"{waits} WARPGROUP.DEPBAR per loop trip, expected {groups} "
                "(one per commit group): the pipeline was serialized")
    return ""


def serialized(log: str) -> list[str]:
    """The advisories of a ptxas log (sm_90a) saying it serialized the wgmma pipeline."""
    return list(parse_ptxas_log(log, ENTRY, ARCH).advised("wgmma serialized"))


def check_form(form: WgmmaForm, arch: str = "sm_90", pipe: Pipeline | None = None) -> dict:
    """ptxas + nvdisasm for one form; the row says what the loop holds and what ptxas said."""
    lowering = form.sass_for(arch)          # UserError off Hopper
    if pipe is None:
        pipe = pipeline(min(THROUGHPUT.ilp, form.max_ilp()), THROUGHPUT.depth, THROUGHPUT.pending)
    c = offline.check(render(form, pipe), ARCH, lowering, pipe.per_trip)
    problems = c.problems + [p for p in [waits_problem(form, pipe, c.sass)] if p] + serialized(c.log)
    return {"form": form.name, "arch": arch, "target": ARCH, "pipeline": pipe.label,
            "expected_sass": form.sass, "sass_per_trip": c.per_trip,
            "expected_per_trip": pipe.per_trip, "ok": not problems,
            "problem": "; ".join(problems), "gmma_opcodes": c.opcodes,
            "registers": parse_ptxas_log(c.log, ENTRY, ARCH).registers}
