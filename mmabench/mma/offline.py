"""The instruction kernels assembled offline (no GPU): does each target get the SASS we meant?

The opcode to count comes from the form's record for that architecture (`form.sass_for`): an
FP8 form is a QMMA on sm_89 but two f16 HMMAs (after an unpack) on sm_90. The row says which,
so "native on this architecture" is read from the SASS, not assumed.
"""

from __future__ import annotations

from mmabench.compiler import sass, toolchain
from mmabench.mma.catalogue import MmaForm
from mmabench.mma.render import DEFAULT_UNROLL, render


def check_form(form: MmaForm, arch: str, ilp: int = 4) -> dict:
    """ptxas + nvdisasm for one form and arch; the row says what the loop holds."""
    lowering = form.sass_for(arch)          # UserError where the form does not exist
    built = toolchain.assemble(render(form, ilp), arch)
    text = toolchain.disassemble(built.cubin)
    hist = sass.histogram(text)
    mma_ops = sass.tensor_ops(hist)
    try:
        per_trip = lowering.mma_per_trip(text)
    except ValueError:
        per_trip = 0
    helpers = {}
    if lowering.helpers:
        loop = next((lp for lp in sass.loops(text) if lp.count(lowering.opcode)), None)
        body = loop.body if loop else ()
        helpers = {h: sum(1 for i in body if i.opcode == h) for h in lowering.helpers}
    # an opcode of the other accumulator, or a native opcode where an emulation was recorded
    # (or the reverse), means the record is stale
    foreign = [op for op in mma_ops if op != lowering.opcode]
    return {"form": form.name, "arch": arch, "ilp": ilp, "expected_sass": lowering.opcode,
            "sass_per_mma": lowering.per_mma, "native": lowering.native,
            "sass_per_trip": per_trip, "expected_per_trip": ilp * DEFAULT_UNROLL,
            "ok": per_trip == ilp * DEFAULT_UNROLL and not foreign,
            "mma_opcodes": sass.counts_text(mma_ops),
            "helpers_per_trip": sass.counts_text(helpers)}
