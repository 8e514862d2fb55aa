"""The wgmma GEMM variants, as data: accumulator x mode, and the tiles they use.

Modes: `resident` and `pipelined` (kernels/wgmma_gemm.cu: 2 warpgroups that load with cp.async
and compute), and `tma` (kernels/tma_gemm.cu: a producer warpgroup issuing TMA loads on mbarriers
and 2 consumer warpgroups, setmaxnreg between them). The TMA kernel runs at each accumulator's
own best tile (an f16 accumulator takes half the registers: a 256-row tile fits) and at equal
tiles (only the accumulator differs).
"""

from __future__ import annotations

from dataclasses import dataclass

from mmabench.core.errors import UserError

ACCS = ("f16", "f32")
MODES = ("resident", "pipelined", "tma")
BM, BN, BK = 128, 256, 64          # CTA tile of every mode but a 256-row TMA tile
STAGES = 4                         # shared-memory stages of the pipelined and TMA 128-row modes
GROUP_M = 16                       # tile order: M tiles per group (Triton's GROUP_SIZE_M idea)
# The TMA runs: (accumulator, tile rows, stages, persistent). 128 x 256 at 4 stages is the
# largest f32 tile that fits (128 f32 accumulators per thread); f16 also runs 256 x 256 at 3
# stages (192 KiB). Each one-CTA-per-tile and persistent (one CTA per SM looping over tiles).
TMA_RUNS = tuple((acc, bm, stages, persistent) for persistent in (False, True)
                 for acc, bm, stages in (("f32", 128, 4), ("f16", 128, 4), ("f16", 256, 3)))


@dataclass(frozen=True)
class Variant:
    acc: str                       # 'f16' | 'f32'
    mode: str                      # 'resident' | 'pipelined' | 'tma'
    stages: int = STAGES
    bm: int = BM                   # tile rows (the TMA kernel: 128 or 256)
    persistent: bool = False       # the TMA kernel: one CTA per SM looping over output tiles

    @property
    def name(self) -> str:
        if self.tma:
            return (f"gemm.tma.{self.bm}x{BN}.s{self.stages}"
                    f"{'.persistent' if self.persistent else ''}.acc_{self.acc}")
        return f"gemm.wgmma.{self.mode}.acc_{self.acc}"

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
        return f"{self.bm}x{BN}x{BK}"

    def defines(self) -> dict[str, int]:
        if self.tma:
            return {"GEMM_ACC_F16": int(self.acc == "f16"), "TMA_BM": self.bm,
                    "TMA_STAGES": self.stages, "TMA_PERSISTENT": int(self.persistent)}
        return {"GEMM_ACC_F16": int(self.acc == "f16"), "GEMM_RESIDENT": int(self.resident),
                "GEMM_STAGES": self.stages}

    @property
    def smem_bytes(self) -> int:
        stages = 1 if self.resident else self.stages
        tiles = stages * (self.bm + BN) * BK * 2 + 1024            # + alignment slack
        return tiles + (16 * stages if self.tma else 0)            # full + empty mbarriers

    @property
    def wgmma_opcode(self) -> str:
        """The SASS the accumulator must show: HGMMA.64x256x16.F32 / .F16."""
        return f"HGMMA.64x{BN}x16.{self.acc.upper()}"

    @property
    def twin(self) -> "Variant | None":
        """The same kernel with the other accumulator (None for the TMA 256-row tile, which only
        the f16 accumulator's registers allow)."""
        if self.tma and self.bm != BM:
            return None
        return Variant("f32" if self.acc == "f16" else "f16", self.mode, self.stages, self.bm,
                       self.persistent)


def all_variants() -> list[Variant]:
    return ([Variant(acc, mode) for mode in MODES if mode != "tma" for acc in ACCS]
            + [Variant(acc, "tma", stages, bm, persistent)
               for acc, bm, stages, persistent in TMA_RUNS])


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


def check_tma_shape(m: int, n: int, k: int) -> None:
    """UserError unless the TMA kernel takes the shape: any M, N, K >= 1 with K a multiple of 8
    (TMA reads rows of a multiple of 16 bytes) and N even (C is stored in f16 pairs)."""
    bad = [f"{name}={v} ({rule})" for name, v, ok, rule in (
        ("M", m, m >= 1, ">= 1"), ("N", n, n >= 2 and n % 2 == 0, "even"),
        ("K", k, k >= 8 and k % 8 == 0, "a multiple of 8: 16-byte fp16 rows for TMA"))
        if not ok]
    if bad:
        raise UserError("the TMA GEMM takes " + ", ".join(bad))
