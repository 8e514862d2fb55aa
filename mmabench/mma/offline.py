"""The instruction kernels assembled offline (no GPU): does each target get the SASS we meant?"""

from __future__ import annotations

from .. import archs as archs_mod
from .. import sass, toolchain
from ..errors import UserError
from .catalogue import MmaForm
from .render import DEFAULT_UNROLL, render


def check_form(form: MmaForm, arch: str, ilp: int = 4) -> dict:
    """ptxas + nvdisasm for one form and arch; the row says what the loop holds."""
    if archs_mod.number(arch) < form.min_sm:
        raise UserError(f"{form.name} needs sm_{form.min_sm} or newer; {arch} does not have it")
    built = toolchain.assemble(render(form, ilp), arch)
    text = toolchain.disassemble(built.cubin)
    hist = sass.histogram(text)
    mma_ops = {op: n for op, n in hist.items() if op.startswith(("HMMA", "HGMMA", "UTC"))}
    try:
        per_trip = sass.loop_count(text, form.sass)
    except ValueError:
        per_trip = 0
    return {"form": form.name, "arch": arch, "ilp": ilp, "expected_sass": form.sass,
            "sass_per_trip": per_trip, "expected_per_trip": ilp * DEFAULT_UNROLL,
            "ok": per_trip == ilp * DEFAULT_UNROLL,
            "mma_opcodes": ", ".join(f"{op} x{n}" for op, n in sorted(mma_ops.items()))}
