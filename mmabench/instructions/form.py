"""What the pipeline needs of an instruction form, and what ptxas makes of one on an architecture.

A family's catalogue is a list of frozen dataclasses that satisfy `Form`; nothing here knows
shapes, types or fragment layouts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Lowering:
    """What ptxas makes of one PTX instruction of a form on one architecture (read from its SASS)."""
    opcode: str                  # the tensor opcode in the loop, e.g. 'QMMA.16832.F32.E4M3.E4M3'
    per_mma: int = 1             # such opcodes per PTX instruction
    native: bool = True          # False: emulated through other instructions
    helpers: tuple[str, ...] = ()  # other opcodes the lowering adds (unpack, add), for reports

    def mma_per_trip(self, sass_text: str) -> int:
        """PTX instructions of the form in one trip of the loop holding them, from the SASS.

        ValueError when no loop holds the opcode or its count is not a multiple of per_mma."""
        from mmabench.compiler import sass

        count = sass.loop_count(sass_text, self.opcode)
        if count % self.per_mma:
            raise ValueError(f"{count} {self.opcode} per loop trip is not a multiple of "
                             f"{self.per_mma} per mma")
        return count // self.per_mma

    def loop_check(self, sass_text: str, expected: int) -> tuple[int, str]:
        """(PTX instructions of the form per loop trip, read from the SASS (0: no loop holds
        them), and '' or what differs from the `expected` count)."""
        try:
            per_trip = self.mma_per_trip(sass_text)
        except ValueError as exc:
            return 0, f"SASS check failed: {exc}"
        if per_trip != expected:
            return per_trip, (f"{per_trip * self.per_mma} {self.opcode} per loop trip in SASS, "
                              f"expected {expected * self.per_mma}")
        return per_trip, ""


class Form(Protocol):
    """One instruction variant of a family (shape, types, accumulator, operand sources...)."""
    name: str          # unique in its family; kernel and row names are built from it
    shape: str         # 'm16n8k16', 'm64n256k16'
    ab_type: str       # A (and B) element type: 'f16', 'bf16', 'e4m3', ...
    acc: str           # accumulator type: 'f16' | 'f32'
    min_sm: int        # oldest architecture the kernel is built for (80 = sm_80)
    flops: int         # floating-point operations of one instruction (a multiply-add counts 2)
    instruction: str   # the PTX instruction text

    @property
    def twin(self) -> "Form | None":
        """The same instruction with the other accumulator, if it exists."""

    def runs_on(self, arch: str) -> bool:
        """True if a GPU of `arch` ('sm_90') executes the instruction."""

    def sass_for(self, arch: str) -> Lowering:
        """The opcode ptxas emits for it on `arch`; UserError where it does not exist."""


def accumulator_pairs(forms: list) -> list[tuple]:
    """(f16-accumulator form, its f32 twin) for every form of `forms` whose twin is there too."""
    names = {f.name for f in forms}
    return [(f, f.twin) for f in forms if f.acc == "f16" and f.twin and f.twin.name in names]


def named(forms: list, name: str, what: str, accepted: str | None = None):
    """The form called `name` in `forms`; UserError naming what is accepted (`accepted`, or
    every form's name)."""
    from mmabench.core.errors import UserError

    for form in forms:
        if form.name == name:
            return form
    raise UserError(f"unknown {what} {name!r}; accepted: "
                    f"{accepted or ', '.join(f.name for f in forms)}")
