"""The wgmma instruction forms the suite measures, as data.

A form is one `wgmma.mma_async` variant: N, the A/B type, the accumulator type, where A comes
from (shared memory "ss" or registers "rs") and the shared-memory layout of the operand tiles
(no swizzle, or the 128-byte swizzle). M is always 64; K is 16 for 16-bit inputs, 32 for FP8.
Facts from the PTX ISA ("Asynchronous Warpgroup Level Matrix Multiply-Accumulate"): wgmma
needs sm_90a and PTX ISA 8.0; bf16 accumulates in f32 only; FP8 operands are K-major only.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmabench.core.errors import UserError
from mmabench.instructions.form import Lowering, named

M = 64
WARPGROUP_THREADS = 128
PTX_VERSION = "8.0"
ARCH = "sm_90a"
MIN_SM = 90

NS = (8, 16, 32, 64, 128, 256)
DEFAULT_NS = (16, 64, 128, 256)
AB_TYPES = ("f16", "bf16", "e4m3", "e5m2")
ACCS = ("f16", "f32")
A_SOURCES = ("ss", "rs")
SWIZZLES = ("none", "128b")

# (A/B type, accumulator) pairs the instruction has
TYPE_ACC = (("f16", "f16"), ("f16", "f32"), ("bf16", "f32"),
            ("e4m3", "f16"), ("e4m3", "f32"), ("e5m2", "f16"), ("e5m2", "f32"))

# Datasheet dense tensor rate per SM per clock (H100 SXM5 whitepaper: 989.4 TFLOP/s f16/bf16 and
# 1,979 FP8 dense at 1,830 MHz x 132 SMs). Labelled as datasheet wherever it is used.
DATASHEET_FLOP_PER_CLK_PER_SM = {"f16": 4096, "bf16": 4096, "e4m3": 8192, "e5m2": 8192}
DATASHEET_SOURCE = "H100 whitepaper v1.04 (dense: f16/bf16 4,096, FP8 8,192 FLOP/clk/SM)"


@dataclass(frozen=True)
class WgmmaForm:
    n: int
    ab_type: str       # 'f16' | 'bf16' | 'e4m3' | 'e5m2'
    acc: str           # 'f16' | 'f32'
    a_src: str = "ss"  # 'ss' (A in shared memory) | 'rs' (A in registers)
    swizzle: str = "128b"  # shared-memory layout of the tiles: 'none' | '128b'

    @property
    def elem_bytes(self) -> int:
        return 1 if self.ab_type in ("e4m3", "e5m2") else 2

    @property
    def k(self) -> int:
        return 32 // self.elem_bytes          # 32 bytes of K per instruction

    @property
    def shape(self) -> str:
        return f"m{M}n{self.n}k{self.k}"

    @property
    def min_sm(self) -> int:
        return MIN_SM

    @property
    def c_regs(self) -> int:
        """32-bit accumulator registers per thread: N/2 for f32, N/4 for f16 (packed pairs)."""
        return self.n // 2 if self.acc == "f32" else self.n // 4

    @property
    def a_regs(self) -> int:
        """32-bit A registers per thread in the RS form (always 4: 8 x 16-bit or 16 x 8-bit)."""
        return 4

    @property
    def instruction(self) -> str:
        return f"wgmma.mma_async.sync.aligned.{self.shape}.{self.acc}.{self.ab_type}.{self.ab_type}"

    @property
    def base_name(self) -> str:
        """The instruction without the operand variant: 'm64n256k16.f16.acc_f32'."""
        return f"{self.shape}.{self.ab_type}.acc_{self.acc}"

    @property
    def name(self) -> str:
        sw = "sw128" if self.swizzle == "128b" else "nosw"
        return f"{self.base_name}.{self.a_src}.{sw}"

    @property
    def flops(self) -> int:
        return 2 * M * self.n * self.k

    @property
    def sass(self) -> str:
        """SASS opcode ptxas emits for this form (checked before any figure is divided by it)."""
        if self.elem_bytes == 1:
            return f"QGMMA.64x{self.n}x32.{self.acc.upper()}.{self.ab_type.upper()}.{self.ab_type.upper()}"
        suffix = ".BF16" if self.ab_type == "bf16" else ""
        return f"HGMMA.64x{self.n}x16.{self.acc.upper()}{suffix}"

    def runs_on(self, arch: str) -> bool:
        """wgmma runs on compute capability 9.0 (built for sm_90a); nothing else has it."""
        from mmabench import hardware

        return hardware.arch_number(arch) == MIN_SM

    def sass_for(self, arch: str) -> Lowering:
        """UserError for any architecture without wgmma (an sm_90a feature only: not sm_80/89,
        not sm_100/120); sm_90 means sm_90a."""
        if not self.runs_on(arch):
            raise UserError(f"wgmma needs sm_90a (Hopper); {arch} does not have it")
        return Lowering(self.sass)

    @property
    def datasheet_flop_per_clk_per_sm(self) -> int:
        return DATASHEET_FLOP_PER_CLK_PER_SM[self.ab_type]

    @property
    def twin(self) -> "WgmmaForm | None":
        """The same form with the other accumulator, if the instruction has it."""
        other = "f32" if self.acc == "f16" else "f16"
        if (self.ab_type, other) not in TYPE_ACC:
            return None
        return WgmmaForm(self.n, self.ab_type, other, self.a_src, self.swizzle)

    def max_ilp(self, budget: int = 160) -> int:
        """Independent accumulators per warpgroup that fit beside the other registers."""
        return max(1, min(4, budget // self.c_regs))


def all_forms(ns=NS) -> list[WgmmaForm]:
    return [WgmmaForm(n, ab, acc, a_src, sw)
            for (ab, acc) in TYPE_ACC for n in ns for a_src in A_SOURCES for sw in SWIZZLES]


FORMS: list[WgmmaForm] = all_forms()


def select(ns=None, accs=None, ab_types=None, a_srcs=None, swizzles=None) -> list[WgmmaForm]:
    """Forms matching every given filter (None = all N / all values); UserError if none."""
    chosen = [f for f in FORMS
              if (ns is None or f.n in ns)
              and (accs is None or f.acc in accs)
              and (ab_types is None or f.ab_type in ab_types)
              and (a_srcs is None or f.a_src in a_srcs)
              and (swizzles is None or f.swizzle in swizzles)]
    if not chosen:
        raise UserError("no wgmma form matches; the instruction has "
                        + ", ".join(f"{ab} with {acc} accumulation" for ab, acc in TYPE_ACC))
    return chosen


def by_name(name: str) -> WgmmaForm:
    return named(FORMS, name, "wgmma form",
                 f"e.g. {FORMS[0].name} (shape.type.acc_X.ss|rs.sw128|nosw)")

