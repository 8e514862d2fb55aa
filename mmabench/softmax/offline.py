"""The softmax kernels assembled offline (ptxas + nvdisasm, no GPU): which SASS opcodes each
instruction becomes on each architecture, how many PTX instructions the loop's opcodes carry
(a fused three-input max carries two), and what else ptxas put in the loop.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

from mmabench.compiler import sass, toolchain
from mmabench.softmax.catalogue import SoftmaxForm, holding_loop
from mmabench.softmax.render import DEFAULT_UNROLL, render

# The loop's own counter, compare and branch: not part of any step.
LOOP_CONTROL = ("IADD3", "UIADD3", "VIADD", "UIMAD", "ISETP", "UISETP", "BRA", "NOP")


def loop_body(form: SoftmaxForm, text: str, arch: str) -> tuple[dict[str, int], dict[str, int]]:
    """(counted opcodes, other opcodes) in the innermost loop holding the form's opcodes."""
    lowering = form.sass_for(arch)
    loop = holding_loop(lowering, text)
    if loop is None:
        return {}, {}
    hist = Counter(i.opcode for i in loop.body)
    counted = lowering.counts(loop)
    others = {op: n for op, n in sorted(hist.items())
              if op not in counted and not op.startswith(LOOP_CONTROL)}
    return counted, others


def per_instruction(counts: dict[str, int], per_trip: int) -> str:
    """{'MUFU.EX2.F16': 32} over 16 instructions as 'MUFU.EX2.F16 x2'; '1/2' for fused ops."""
    if not per_trip:
        return "-"
    return ", ".join(f"{op} x{Fraction(n, per_trip)}" for op, n in counts.items()) or "-"


def check_form(form: SoftmaxForm, arch: str, ilp: int = 4) -> dict:
    """ptxas + nvdisasm for one form and arch; the row says what the loop holds."""
    lowering = form.sass_for(arch)          # UserError where the form does not exist
    expected = ilp * DEFAULT_UNROLL
    text = toolchain.disassemble(toolchain.assemble(render(form, ilp), arch).cubin)
    per_trip, problem = lowering.loop_check(text, expected)
    counted, others = loop_body(form, text, arch)
    return {"form": form.name, "arch": arch, "ilp": ilp, "instruction": form.instruction,
            "sass_per_trip": per_trip, "expected_per_trip": expected, "ok": not problem,
            "problem": problem, "sass_ops": sass.counts_text(counted),
            "sass_per_instruction": per_instruction(counted, per_trip),
            "others_per_instruction": per_instruction(others, per_trip),
            "sass_ops_per_trip": sum(counted.values())}
