"""The tensor-core instruction forms the suite measures, as data.

Each form is one `mma.sync` variant: shape, A/B type, accumulator type. The register counts are
the PTX ISA's fragment sizes (32-bit registers per lane); `sass` is the opcode ptxas must emit,
checked in the SASS before any figure is divided by an instruction count.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError


@dataclass(frozen=True)
class MmaForm:
    shape: str          # 'm16n8k16'
    ab_type: str        # 'f16' | 'bf16'
    acc: str            # 'f16' | 'f32' (C and D)
    ptx_version: str    # lowest PTX ISA with this form
    min_sm: int         # lowest architecture with this form
    a_regs: int         # 32-bit registers per lane
    b_regs: int
    c_regs: int
    sass: str           # expected SASS opcode, e.g. 'HMMA.16816.F32'

    @property
    def name(self) -> str:
        return f"{self.shape}.{self.ab_type}.acc_{self.acc}"

    @property
    def mnk(self) -> tuple[int, int, int]:
        m, rest = self.shape[1:].split("n")
        n, k = rest.split("k")
        return int(m), int(n), int(k)

    @property
    def flops(self) -> int:
        """Floating-point operations of one instruction (a multiply-add counts 2)."""
        m, n, k = self.mnk
        return 2 * m * n * k

    @property
    def instruction(self) -> str:
        return f"mma.sync.aligned.{self.shape}.row.col.{self.acc}.{self.ab_type}.{self.ab_type}.{self.acc}"

    @property
    def twin(self) -> "MmaForm | None":
        """The same instruction with the other accumulator, if it exists."""
        other = "f32" if self.acc == "f16" else "f16"
        return next((f for f in FORMS if (f.shape, f.ab_type, f.acc) == (self.shape, self.ab_type, other)), None)


FORMS: list[MmaForm] = [
    MmaForm("m16n8k16", "f16", "f16", "7.0", 80, 4, 2, 2, "HMMA.16816.F16"),
    MmaForm("m16n8k16", "f16", "f32", "7.0", 80, 4, 2, 4, "HMMA.16816.F32"),
    MmaForm("m16n8k8", "f16", "f16", "6.5", 75, 2, 1, 2, "HMMA.1688.F16"),
    MmaForm("m16n8k8", "f16", "f32", "6.5", 75, 2, 1, 4, "HMMA.1688.F32"),
    # bf16 has an f32 accumulator only: the reference row
    MmaForm("m16n8k16", "bf16", "f32", "7.0", 80, 4, 2, 4, "HMMA.16816.F32.BF16"),
]

SHAPES = sorted({f.shape for f in FORMS})
ACCS = sorted({f.acc for f in FORMS})
AB_TYPES = sorted({f.ab_type for f in FORMS})


def select(shapes=None, accs=None, ab_types=None) -> list[MmaForm]:
    """Forms matching every given filter (None = all); UserError if nothing matches."""
    chosen = [f for f in FORMS
              if (shapes is None or f.shape in shapes)
              and (accs is None or f.acc in accs)
              and (ab_types is None or f.ab_type in ab_types)]
    if not chosen:
        raise UserError("no instruction form matches; forms: " + ", ".join(f.name for f in FORMS))
    return chosen


def by_name(name: str) -> MmaForm:
    for form in FORMS:
        if form.name == name:
            return form
    raise UserError(f"unknown instruction form {name!r}; accepted: {', '.join(f.name for f in FORMS)}")


def kernel_specs():
    """Registry entries: each form as a throughput kernel (ILP 4, 4 warps) and a latency kernel."""
    from ..registry import KernelSpec
    from .render import render

    specs = []
    for form in FORMS:
        for kind, ilp, warps in (("lat", 1, 1), ("thr", 4, 4)):
            twin = form.twin
            specs.append(KernelSpec(
                name=f"mma.{form.name}.{kind}",
                family="mma",
                entry="mma_chain",
                ptx=lambda arch, form=form, ilp=ilp: render(form, ilp),
                threads_per_block=32 * warps,
                min_sm=form.min_sm,
                acc=form.acc,
                twin=f"mma.{twin.name}.{kind}" if twin else None,
                tags={"form": form.name, "ilp": ilp, "sass": form.sass},
            ))
    return specs
