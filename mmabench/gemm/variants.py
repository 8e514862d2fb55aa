"""The wgmma GEMM variants, as data: accumulator x mode, and the tiles they use.

Modes: `resident` and `pipelined` (kernels/wgmma_gemm.cu: 2 warpgroups that load with cp.async
and compute), and `tma` (kernels/tma_gemm.cu: a producer warpgroup issuing TMA loads on mbarriers
and 2 consumer warpgroups, setmaxnreg between them). The TMA kernel runs at each accumulator's
own best tile (an f16 accumulator takes half the registers: a 256-row tile fits) and at equal
tiles (only the accumulator differs); with e4m3 inputs too (wgmma k32), beside a variant that
promotes each 128-wide K tile's FP8 partial sum into f32 registers.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmabench.core.errors import UserError

ACCS = ("f16", "f32")
MODES = ("resident", "pipelined", "tma")
BM, BN, BK = 128, 256, 64          # CTA tile of every mode but a 256-row TMA tile
STAGES = 4                         # shared-memory stages of the pipelined and TMA 128-row modes
GROUP_M = 16                       # tile order: M tiles per group (Triton's GROUP_SIZE_M idea)
INPUTS = {"f16": 2, "e4m3": 1}    # input type -> bytes per element


@dataclass(frozen=True)
class Variant:
    acc: str                       # 'f16' | 'f32'
    mode: str                      # 'resident' | 'pipelined' | 'tma'
    stages: int = STAGES
    bm: int = BM                   # tile rows (the TMA kernel: 128 or 256)
    persistent: bool = False       # the TMA kernel: one CTA per SM looping over output tiles
    inputs: str = "f16"            # the TMA kernel: 'f16' or 'e4m3' (INPUTS)
    bn: int = BN                   # tile columns (the TMA kernel's FP8 promotion: 128)
    promote: bool = False          # FP8, f32: each K tile's partial sum added into f32 registers
    store_c: bool = False          # the TMA kernel: C through shared memory and a TMA store
                                   # (name: '.ctma')
    pingpong: bool = False         # the persistent TMA kernel: consumers own whole tiles, in turns
    cluster: int = 1               # the TMA kernel: CTAs per cluster multicasting B (name: '.mc2')

    @property
    def name(self) -> str:
        if self.tma:
            # kept short (the regs table fits 120 columns): a TMA-store variant always has the
            # 3 stages its staged C leaves room for, and ping-pong is always persistent
            fp8 = f"{self.inputs}." if self.fp8 else ""
            stages = "" if self.store_c else f".s{self.stages}"
            return (f"gemm.tma.{fp8}{self.bm}x{self.bn}{stages}"
                    f"{'.promote' if self.promote else ''}{'.ctma' if self.store_c else ''}"
                    f"{'.pingpong' if self.pingpong else ''}{f'.mc{self.cluster}' if self.cluster > 1 else ''}"
                    f"{'.persistent' if self.persistent and not self.pingpong else ''}.acc_{self.acc}")
        return f"gemm.wgmma.{self.mode}.acc_{self.acc}"

    @property
    def fp8(self) -> bool:
        return self.inputs != "f16"

    @property
    def bk(self) -> int:
        """K elements per tile: one 128-byte swizzle row (64 fp16, 128 e4m3)."""
        return 128 // INPUTS[self.inputs]

    @property
    def tma(self) -> bool:
        return self.mode == "tma"

    @property
    def source(self) -> str:
        return "tma_gemm.cu" if self.tma else "wgmma_gemm.cu"

    @property
    def entry(self) -> str:
        return "tma_gemm" if self.tma else "wgmma_gemm"

    @property
    def threads(self) -> int:
        return 384 if self.tma else 256      # TMA: a producer warpgroup + 2 consumers

    @property
    def resident(self) -> bool:
        return self.mode == "resident"

    @property
    def tile(self) -> str:
        return f"{self.bm}x{self.bn}x{self.bk}"

    def defines(self) -> dict[str, int]:
        if self.tma:
            return {"GEMM_ACC_F16": int(self.acc == "f16"), "GEMM_FP8": int(self.fp8), "TMA_BM": self.bm,
                    "TMA_BN": self.bn, "TMA_PROMOTE": int(self.promote), "TMA_STORE_C": int(self.store_c),
                    "TMA_PINGPONG": int(self.pingpong), "TMA_CLUSTER": self.cluster,
                    "TMA_STAGES": self.stages,
                    "TMA_PERSISTENT": int(self.persistent)}
        return {"GEMM_ACC_F16": int(self.acc == "f16"), "GEMM_RESIDENT": int(self.resident),
                "GEMM_STAGES": self.stages}

    @property
    def smem_bytes(self) -> int:
        stages = 1 if self.resident else self.stages
        tiles = stages * (self.bm + self.bn) * 128 + 1024          # 128-byte K rows; + alignment slack
        staged_c = self.bm * self.bn * 2 if self.store_c else 0   # fp16 C, one slab per consumer
        return tiles + staged_c + (16 * stages if self.tma else 0)  # full + empty mbarriers

    @property
    def wgmma_opcode(self) -> str:
        """The SASS the accumulator must show: HGMMA.64x256x16.F32 / .F16, or for e4m3
        QGMMA.64x256x32.F32.E4M3.E4M3."""
        if self.fp8:
            kind = self.inputs.upper()
            return f"QGMMA.64x{self.bn}x32.{self.acc.upper()}.{kind}.{kind}"
        return f"HGMMA.64x{self.bn}x16.{self.acc.upper()}"

    @property
    def ptx_form(self) -> str:
        """The wgmma instruction the PTX must hold."""
        if self.fp8:
            return f"wgmma.mma_async.sync.aligned.m64n{self.bn}k32.{self.acc}.{self.inputs}.{self.inputs}"
        return f"wgmma.mma_async.sync.aligned.m64n{self.bn}k16.{self.acc}.f16.f16"

    @property
    def twin(self) -> "Variant | None":
        """The same kernel with the other accumulator (None for the TMA 256-row tile, which only
        the f16 accumulator's registers allow, for FP8 promotion, which is f32's alone, and for
        ping-pong, whose tile differs with the accumulator)."""
        if self.tma and (self.bm != BM or self.promote or self.pingpong):
            return None
        return Variant("f32" if self.acc == "f16" else "f16", self.mode, self.stages, self.bm,
                       self.persistent, self.inputs, self.bn, store_c=self.store_c,
                       cluster=self.cluster)


# The fp16 TMA variants. 128 x 256 at 4 stages is the largest f32 tile that fits (128 f32
# accumulators per thread); f16 also runs 256 x 256 at 3 stages (192 KiB). The TMA-store
# epilogue stages C in shared memory (64 KiB at 128 x 256), so those have 3 stages. Each
# one-CTA-per-tile and persistent (one CTA per SM looping over tiles). Ping-pong (persistent):
# each consumer owns whole tiles, 128 x 256 with f16 (2 x 64 accumulator registers), 64 x 256
# with f32 (128 registers). Clusters of 2 (one tile per CTA): vertically adjacent tiles, each
# CTA loading half of B and multicasting it to both.
TMA_VARIANTS = tuple(Variant(acc, "tma", stages, bm, persistent, store_c=store)
                     for persistent in (False, True)
                     for acc, bm, stages, store in (("f32", 128, 4, False), ("f16", 128, 4, False),
                                                    ("f16", 256, 3, False), ("f32", 128, 3, True),
                                                    ("f16", 128, 3, True))
                     ) + (Variant("f32", "tma", 5, 64, True, pingpong=True),
                          Variant("f16", "tma", 4, 128, True, pingpong=True),
                          Variant("f32", "tma", 4, cluster=2), Variant("f16", "tma", 4, cluster=2),
                          Variant("f32", "tma", 3, store_c=True, cluster=2),
                          Variant("f16", "tma", 3, store_c=True, cluster=2))
# The e4m3 TMA variants. A K tile is 128 e4m3 (128 bytes, as 64 fp16), so the fp16 variants'
# tiles and stages fit alike. Promotion keeps two f32 accumulators (the running sum and the K
# tile's partial sum): 64 + 64 registers per thread at 128 x 128, where 128 x 256 would need 256.
FP8_VARIANTS = (Variant("f32", "tma", 4, inputs="e4m3"), Variant("f16", "tma", 4, inputs="e4m3"),
                Variant("f16", "tma", 3, 256, inputs="e4m3"),
                Variant("f32", "tma", 6, 128, inputs="e4m3", bn=128, promote=True))


def all_variants() -> list[Variant]:
    return ([Variant(acc, mode) for mode in MODES if mode != "tma" for acc in ACCS]
            + list(TMA_VARIANTS) + list(FP8_VARIANTS))


def select(accs=None, modes=None) -> list[Variant]:
    chosen = [v for v in all_variants()
              if (accs is None or v.acc in accs) and (modes is None or v.mode in modes)]
    if not chosen:
        raise UserError(f"no GEMM variant matches; accumulators {', '.join(ACCS)}, "
                        f"modes {', '.join(MODES)}")
    return chosen


def check_shape(m: int, n: int, k: int) -> None:
    """UserError unless the sizes are whole tiles (the cp.async kernel has no edge handling)."""
    bad = [f"{name}={v} (multiple of {t})" for name, v, t in (("M", m, BM), ("N", n, BN), ("K", k, BK))
           if v <= 0 or v % t]
    if bad:
        raise UserError("GEMM sizes must be whole tiles: " + ", ".join(bad))


def check_tma_shape(m: int, n: int, k: int, inputs: str = "f16", store_c: bool = False) -> None:
    """UserError unless the TMA kernel takes the shape: any M, N, K >= 1 with K a multiple of 16
    bytes of input (TMA reads rows of a multiple of 16 bytes: 8 fp16, 16 e4m3) and N even (C is
    stored in f16 pairs), a multiple of 8 for the TMA-store epilogue (16-byte rows of C)."""
    per_row = 16 // INPUTS[inputs]
    n_rule = ("a multiple of 8: 16-byte C rows for the TMA store", 8) if store_c else ("even", 2)
    bad = [f"{name}={v} ({rule})" for name, v, ok, rule in (
        ("M", m, m >= 1, ">= 1"), ("N", n, n >= 2 and n % n_rule[1] == 0, n_rule[0]),
        ("K", k, k >= per_row and k % per_row == 0,
         f"a multiple of {per_row}: 16-byte {inputs} rows for TMA"))
        if not ok]
    if bad:
        raise UserError("the TMA GEMM takes " + ", ".join(bad))
