"""The "demo" family: kernels that show what the compiler report is for.

`demo.spill.cap32` is ptx/spill_demo.ptx (48 floats live across a loop, about 56 registers)
assembled with `-maxrregcount=32`, so ptxas must spill on every architecture; `demo.spill.nocap`
is the same text without the cap, the control that must not spill. The PTX carries no
.maxnreg / .maxntid / .minnctapersm directive, since those override -maxrregcount.
"""

from __future__ import annotations


from mmabench.core import project_files

SPILL_PTX = project_files.ptx("spill_demo.ptx")
SPILL_CAP = 32


def spill_ptx(arch: str = "") -> str:
    """The spill demo's PTX (the same text for every target)."""
    return SPILL_PTX.read_text()


def kernel_specs():
    from mmabench.compiler.registry import KernelSpec

    common = dict(family="demo", entry="spill_demo", ptx=spill_ptx, threads_per_block=128,
                  min_sm=80, acc="f32")
    return [
        KernelSpec(name=f"demo.spill.cap{SPILL_CAP}", ptxas_options=(f"-maxrregcount={SPILL_CAP}",),
                   tags={"expect_spill": True, "register_cap": SPILL_CAP}, **common),
        KernelSpec(name="demo.spill.nocap", tags={"expect_spill": False}, **common),
    ]
