"""The softmax instructions the attention accumulator choice changes, as data.

An fp16 score/probability path swaps each f32 instruction of the online softmax for a packed
f16x2 (or bf16x2) one: the exponential (ex2), the rescaling multiply-add (fma), the running
maximum (max), and the conversion of f32 probabilities to the f16 operand of P.V (cvt).

Each form is one PTX instruction and the chain `step` that keeps it alive in a loop: the step's
PTX lines, with {x} the chain's register, {a} the
step's alternating operand (a0 on even steps, a1 on odd ones) and {b} a fixed one. Every step
reads the value the step before wrote, so ptxas can neither drop nor hoist it, and the host
knows what the chain ends at (mmabench.softmax.reference).

`sass` lists the opcodes that carry the instruction and how many of each one PTX instruction
becomes: 2 for an f16x2 exponential (one MUFU per half), 1/2 where ptxas fuses two maxima into
one three-input VHMNMX / FMNMX3. Which of them appears depends on the architecture (fma.f16x2
is split between HFMA2 and HFMA2.MMA on sm_80 and sm_90, plain HFMA2 elsewhere); the loop's
SASS is read and the instructions it holds are counted from these weights, never assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from mmabench.core.errors import UserError
from mmabench.instructions.form import Lowering, named

WARP = 32
F2 = Fraction(1, 2)     # a fused three-input op carries two PTX instructions


@dataclass(frozen=True)
class Counting(Lowering):
    """What ptxas makes of a softmax form: several opcodes may carry it, each `per_ptx` times
    per PTX instruction. `opcode` (the base's one) is the first of them, for messages."""
    ops: tuple[tuple[str, Fraction], ...] = ()

    def counts(self, loop) -> dict[str, int]:
        return {op: loop.count(op) for op, _ in self.ops if loop.count(op)}

    def ptx_count(self, counts: dict[str, int]) -> int:
        """PTX instructions that SASS op `counts` carry; ValueError if not a whole number."""
        weights = dict(self.ops)
        total = sum(Fraction(n) / weights[op] for op, n in counts.items())
        if total.denominator != 1:
            raise ValueError(f"{_text(counts)} is not a whole number of {self.opcode} instructions")
        return int(total)

    def loop_check(self, sass_text: str, expected: int) -> tuple[int, str]:
        try:
            per_trip = self.mma_per_trip(sass_text)
        except ValueError as exc:
            return 0, f"SASS check failed: {exc}"
        if per_trip != expected:
            found = _text(self.counts(holding_loop(self, sass_text)))
            return per_trip, (f"the loop's {found} carry {per_trip} PTX "
                              f"instructions per trip, expected {expected}")
        return per_trip, ""

    def mma_per_trip(self, sass_text: str) -> int:
        """PTX instructions of the form in one trip of the innermost loop holding its opcodes
        (the base calls every family's count by this name)."""
        loop = holding_loop(self, sass_text)
        if loop is None:
            raise ValueError(f"no loop contains {' or '.join(op for op, _ in self.ops)}")
        return self.ptx_count(self.counts(loop))


def holding_loop(lowering: Counting, sass_text: str):
    """The innermost loop holding any of the counted opcodes (None: no loop does)."""
    from mmabench.compiler import sass

    return next((lp for lp in sass.loops(sass_text)
                 if any(lp.count(op) for op, _ in lowering.ops)), None)


def _text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {op}" for op, n in counts.items())


@dataclass(frozen=True)
class SoftmaxForm:
    op: str                    # 'ex2' | 'fma' | 'max' | 'cvt'
    type: str                  # element type of the result: 'f32' | 'f16' | 'bf16'
    instruction: str           # the PTX instruction, as written in the step
    step: tuple[str, ...]      # PTX lines of one chain step (fields {x} {a} {b})
    sass: tuple[tuple[str, Fraction], ...]   # opcodes carrying it, SASS ops per PTX instruction
    min_sm: int                # the PTX ISA's requirement (75: the oldest ptxas 13 targets)
    ptx_version: str
    x_reg: str = ".f32"        # register type of the chain value
    operand_reg: str = ".f32"  # register type of a0, a1, b
    packed: bool = False       # two 16-bit elements per register (x2 forms)

    @property
    def name(self) -> str:
        name = f"{self.op}.{self.type}x2" if self.packed else f"{self.op}.{self.type}"
        return name + ".f32" if self.op == "cvt" else name

    # the instruction-family protocol (mmabench.instructions.form.Form) names these:
    @property
    def shape(self) -> str:
        return self.op

    @property
    def ab_type(self) -> str:
        return "f32" if self.op == "cvt" else self.type

    @property
    def acc(self) -> str:
        return self.type

    @property
    def lanes(self) -> int:
        """Elements one thread's instruction produces."""
        return 2 if self.packed else 1

    @property
    def elements(self) -> int:
        """Elements one warp-wide instruction produces (what the rates count)."""
        return WARP * self.lanes

    @property
    def flops(self) -> int:
        """Per warp-wide instruction; a multiply-add counts 2, ex2/max/cvt 1 per element."""
        return self.elements * (2 if self.op == "fma" else 1)

    @property
    def c_regs(self) -> int:
        return 1               # one 32-bit register per chain and thread

    @property
    def twin(self) -> "SoftmaxForm | None":
        """The same operation in the other type (f16x2 <-> f32); bf16 and cvt have none."""
        other = {"f16": "f32", "f32": "f16"}.get(self.type)
        if self.op == "cvt" or other is None:
            return None
        return next((f for f in FORMS if (f.op, f.type) == (self.op, other)), None)

    def runs_on(self, arch: str) -> bool:
        from mmabench import hardware

        return hardware.arch_number(arch) >= self.min_sm

    def sass_for(self, arch: str) -> Counting:
        """How to count the form in SASS; UserError on an architecture without it."""
        if not self.runs_on(arch):
            raise UserError(f"{self.name} needs sm_{self.min_sm} or newer; {arch} does not have it")
        return Counting(self.sass[0][0], ops=self.sass)


def _ex2(type_: str, packed: bool, suffix: str, neg: str, min_sm: int, version: str, mufu: str):
    # x <- 2^-x: a contraction (|d/dx| ~ 0.44 at its fixed point x* = 0.6412), so the chain
    # stays finite and normal for any trip count. ptxas folds the negation into MUFU's operand
    # for f32 and f16; bf16 keeps it as an instruction of its own (reported as a helper).
    instr = f"ex2.approx.{suffix}"
    return SoftmaxForm("ex2", type_, instr, (f"{neg} {{x}}, {{x}};", f"{instr} {{x}}, {{x}};"),
                       ((mufu, Fraction(2 if packed else 1)),), min_sm, version,
                       x_reg=".b32" if packed else ".f32", operand_reg=".b32" if packed else ".f32",
                       packed=packed)


def _binary(op: str, type_: str, instr: str, line: str, sass, min_sm: int):
    packed = type_ != "f32"
    reg = ".b32" if packed else ".f32"
    return SoftmaxForm(op, type_, instr, (line.format(instr=instr, x="{x}", a="{a}", b="{b}"),),
                       sass, min_sm, "7.0", x_reg=reg, operand_reg=reg, packed=packed)


FORMS: list[SoftmaxForm] = [
    _ex2("f32", False, "ftz.f32", "neg.f32", 75, "7.0", "MUFU.EX2"),
    _ex2("f16", True, "f16x2", "neg.f16x2", 75, "7.0", "MUFU.EX2.F16"),
    _ex2("bf16", True, "ftz.bf16x2", "neg.bf16x2", 90, "7.8", "MUFU.EX2.BF16"),
    # x <- a*b + x with a0 = +a, a1 = -a: each pair of steps cancels, so x stays near its start
    # (random full-mantissa data, no overflow) and every rounding is reproducible on the host
    _binary("fma", "f32", "fma.rn.f32", "{instr} {x}, {a}, {b}, {x};", (("FFMA", Fraction(1)),), 75),
    _binary("fma", "f16", "fma.rn.f16x2", "{instr} {x}, {a}, {b}, {x};",
            (("HFMA2", Fraction(1)), ("HFMA2.MMA", Fraction(1))), 75),
    # x <- max(x, a): a running maximum, as a row max over scores is
    _binary("max", "f32", "max.f32", "{instr} {x}, {x}, {a};",
            (("FMNMX", Fraction(1)), ("FMNMX3", F2)), 75),
    _binary("max", "f16", "max.f16x2", "{instr} {x}, {x}, {a};",
            (("HMNMX2", Fraction(1)), ("VHMNMX", F2)), 80),
    # x <- pack(f16(b), f16(x read as an f32)): the chain's own bits are the next f32 input (a
    # .b32 register serves as an .f32 operand, so no move sits between the steps)
    SoftmaxForm("cvt", "f16", "cvt.rn.f16x2.f32",
                ("cvt.rn.f16x2.f32 {x}, {b}, {x};",),
                (("F2FP.F16.F32.PACK_AB", Fraction(1)), ("F2FP.PACK_AB", Fraction(1))), 80, "7.0",
                x_reg=".b32", operand_reg=".f32", packed=True),
]

OPS = list(dict.fromkeys(f.op for f in FORMS))
TYPES = list(dict.fromkeys(f.type for f in FORMS))


def select(ops=None, types=None) -> list[SoftmaxForm]:
    """Forms matching every given filter; UserError if nothing matches."""
    chosen = [f for f in FORMS if (ops is None or f.op in ops) and (types is None or f.type in types)]
    if not chosen:
        raise UserError("no softmax form matches; forms: " + ", ".join(f.name for f in FORMS))
    return chosen


def by_name(name: str) -> SoftmaxForm:
    return named(FORMS, name, "softmax form")
