"""The instruction kernels assembled offline (no GPU): does each target get the SASS we meant?

The opcode to count comes from the form's record for that architecture (`form.sass_for`): an
FP8 form is a QMMA on sm_89 but two f16 HMMAs (after an unpack) on sm_90. The row says which,
so "native on this architecture" is read from the SASS, not assumed.
"""

from __future__ import annotations

from mmabench.compiler import sass
from mmabench.instructions import offline
from mmabench.mma.catalogue import MmaForm
from mmabench.mma.render import DEFAULT_UNROLL, render


def check_form(form: MmaForm, arch: str, ilp: int = 4) -> dict:
    """ptxas + nvdisasm for one form and arch; the row says what the loop holds."""
    lowering = form.sass_for(arch)          # UserError where the form does not exist
    c = offline.check(render(form, ilp), arch, lowering, ilp * DEFAULT_UNROLL)
    return {"form": form.name, "arch": arch, "ilp": ilp, "expected_sass": lowering.opcode,
            "sass_per_mma": lowering.per_mma, "native": lowering.native,
            "sass_per_trip": c.per_trip, "expected_per_trip": c.expected_per_trip, "ok": c.ok,
            "mma_opcodes": c.opcodes,
            "helpers_per_trip": sass.counts_text(c.helpers)}
