"""The tensor-core instruction forms the suite measures, as data.

Each form is one `mma.sync` variant: shape, A type, B type, accumulator type. The register
counts are the PTX ISA's fragment sizes (32-bit registers per lane); `sass` is the opcode ptxas
emits where the form is native, checked in the SASS before any figure is divided by an
instruction count. Where an architecture lowers a form to other instructions (FP8 on sm_90 and
sm_100: unpack to f16, then two f16 HMMAs), `sass_by_arch` records what ptxas emits there and
`form.sass_for(arch)` gives the opcode to count, how many per PTX instruction, and whether the
form is native on that architecture.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmabench.core.errors import UserError
from mmabench.instructions.form import Lowering, named


@dataclass(frozen=True)
class MmaForm:
    shape: str          # 'm16n8k16'
    ab_type: str        # A type: 'f16' | 'bf16' | 'e4m3' | 'e5m2' (also B's, unless b_type)
    acc: str            # 'f16' | 'f32' (C and D)
    ptx_version: str    # lowest PTX ISA with this form
    min_sm: int         # lowest architecture with this form
    a_regs: int         # 32-bit registers per lane
    b_regs: int
    c_regs: int
    sass: str           # SASS opcode where the form is native, e.g. 'HMMA.16816.F32'
    b_type: str = ""    # B type where it differs from A's ('' = same as ab_type)
    # (arch, Lowering) for each architecture whose SASS is recorded; empty = `sass` everywhere
    sass_by_arch: tuple[tuple[str, Lowering], ...] = ()
    # each step reloads its B fragment (volatile, from shared memory), so that an emulated
    # lowering cannot be hoisted out of the loop or shared between steps and chains
    fresh_b: bool = False

    def __post_init__(self):
        if not self.b_type:
            object.__setattr__(self, "b_type", self.ab_type)

    @property
    def name(self) -> str:
        types = self.ab_type if self.b_type == self.ab_type else f"{self.ab_type}.{self.b_type}"
        return f"{self.shape}.{types}.acc_{self.acc}"

    def runs_on(self, arch: str) -> bool:
        from mmabench import hardware

        return hardware.arch_number(arch) >= self.min_sm

    def sass_for(self, arch: str) -> Lowering:
        """The opcode to count on `arch` ('sm_90', 'sm_90a', ...), how many per PTX mma, and
        whether the form is native there. UserError for an arch the form lacks or was never
        assembled for."""
        from mmabench import hardware

        number = hardware.arch_number(arch)
        if number < self.min_sm:
            raise UserError(f"{self.name} needs sm_{self.min_sm} or newer; {arch} does not have it")
        if not self.sass_by_arch:
            return Lowering(self.sass)
        table = {hardware.arch_number(a): low for a, low in self.sass_by_arch}
        if number not in table:
            raise UserError(f"no SASS record of {self.name} for {arch}; recorded: "
                            + ", ".join(a for a, _ in self.sass_by_arch))
        return table[number]

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
        return (f"mma.sync.aligned.{self.shape}.row.col.{self.acc}."
                f"{self.ab_type}.{self.b_type}.{self.acc}")

    @property
    def twin(self) -> "MmaForm | None":
        """The same instruction with the other accumulator, if it exists."""
        other = "f32" if self.acc == "f16" else "f16"
        return next((f for f in ALL_FORMS
                     if (f.shape, f.ab_type, f.b_type, f.acc) ==
                     (self.shape, self.ab_type, self.b_type, other)), None)


FORMS: list[MmaForm] = [
    MmaForm("m16n8k16", "f16", "f16", "7.0", 80, 4, 2, 2, "HMMA.16816.F16"),
    MmaForm("m16n8k16", "f16", "f32", "7.0", 80, 4, 2, 4, "HMMA.16816.F32"),
    MmaForm("m16n8k8", "f16", "f16", "6.5", 75, 2, 1, 2, "HMMA.1688.F16"),
    MmaForm("m16n8k8", "f16", "f32", "6.5", 75, 2, 1, 4, "HMMA.1688.F32"),
    # bf16 has an f32 accumulator only: the reference row
    MmaForm("m16n8k16", "bf16", "f32", "7.0", 80, 4, 2, 4, "HMMA.16816.F32.BF16"),
]

# FP8 (sm_89+): mma.sync m16n8k32 with e4m3/e5m2 A and B. ptxas 13 refuses the f32-accumulate
# forms below PTX ISA 8.4 and the f16-accumulate ones below 8.7 ("requires PTX ISA .version
# 8.7"). How each architecture runs them, read from ptxas 13.x SASS (tests/test_mma_fp8.py
# re-reads it): sm_89, sm_120 and sm_121 have a native QMMA.16832; sm_90 (and sm_90a), sm_100
# and sm_103 have none: each mma becomes F2FP.F16.<type>.UNPACK_B (fp8 -> f16x2) of the
# operands, two HMMA.16816 with a zero accumulator (k 0-15 and 16-31), then FADD (f32) or HADD2
# (f16) into the accumulator. So on Hopper the FP8 mma.sync figure is an emulation's.
FP8_TYPES = ("e4m3", "e5m2")
FP8_NATIVE = {"sm_89": True, "sm_90": False, "sm_100": False, "sm_103": False,
              "sm_120": True, "sm_121": True}


def _fp8_form(a: str, b: str, acc: str) -> MmaForm:
    acc_op = acc.upper()
    native = f"QMMA.16832.{acc_op}.{a.upper()}.{b.upper()}"
    unpack = tuple(dict.fromkeys(f"F2FP.F16.{t.upper()}.UNPACK_B" for t in (a, b)))
    emulated = Lowering(f"HMMA.16816.{acc_op}", 2, False,
                        unpack + ("FADD" if acc == "f32" else "HADD2",))
    table = tuple((arch, Lowering(native) if is_native else emulated)
                  for arch, is_native in FP8_NATIVE.items())
    return MmaForm("m16n8k32", a, acc, "8.4" if acc == "f32" else "8.7", 89, 4, 2,
                   4 if acc == "f32" else 2, native, b_type=b, sass_by_arch=table, fresh_b=True)


FP8_FORMS: list[MmaForm] = [_fp8_form(a, b, acc) for a in FP8_TYPES for b in FP8_TYPES
                            for acc in ("f16", "f32")]

# every form the `mma` command can measure; FORMS (above) is the f16/bf16 set the `mma` registry
# family and its tests cover, FP8_FORMS are registered as the `mma_fp8` family
ALL_FORMS: list[MmaForm] = FORMS + FP8_FORMS

# the f16/bf16 values first (sorted), then the FP8 ones
SHAPES = sorted({f.shape for f in FORMS}) + sorted({f.shape for f in FP8_FORMS} - {f.shape for f in FORMS})
ACCS = sorted({f.acc for f in ALL_FORMS})
AB_TYPES = sorted({f.ab_type for f in FORMS}) + list(FP8_TYPES)


def select(shapes=None, accs=None, ab_types=None) -> list[MmaForm]:
    """Forms matching every given filter; UserError if nothing matches.

    A type filter keeps a form whose A and B types are both in it (`e4m3,e5m2`: all four FP8
    pairings; `e4m3`: e4m3 x e4m3 only). Without a type filter, the f16/bf16 forms (FORMS):
    the FP8 ones are measured when asked for by type."""
    pool = FORMS if ab_types is None else ALL_FORMS
    chosen = [f for f in pool
              if (shapes is None or f.shape in shapes)
              and (accs is None or f.acc in accs)
              and (ab_types is None or (f.ab_type in ab_types and f.b_type in ab_types))]
    if not chosen:
        raise UserError("no instruction form matches; forms: " + ", ".join(f.name for f in ALL_FORMS))
    return chosen


def by_name(name: str) -> MmaForm:
    return named(ALL_FORMS, name, "instruction form")

