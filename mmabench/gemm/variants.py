"""The wgmma GEMM variants, as data: accumulator x mode, and the tile they all share."""

from __future__ import annotations

from dataclasses import dataclass

from mmabench.core.errors import UserError

ACCS = ("f16", "f32")
MODES = ("resident", "pipelined")
BM, BN, BK = 128, 256, 64          # CTA tile (kernels/wgmma_gemm.cu Traits)
THREADS = 256                      # 2 consumer warpgroups
STAGES = 4                         # pipelined mode's shared-memory stages
GROUP_M = 16                       # tile order: M tiles per group (Triton's GROUP_SIZE_M idea)


@dataclass(frozen=True)
class Variant:
    acc: str                       # 'f16' | 'f32'
    mode: str                      # 'resident' | 'pipelined'
    stages: int = STAGES

    @property
    def name(self) -> str:
        return f"gemm.wgmma.{self.mode}.acc_{self.acc}"

    @property
    def entry(self) -> str:
        return "wgmma_gemm"

    @property
    def resident(self) -> bool:
        return self.mode == "resident"

    def defines(self) -> dict[str, int]:
        return {"GEMM_ACC_F16": int(self.acc == "f16"), "GEMM_RESIDENT": int(self.resident),
                "GEMM_STAGES": self.stages}

    @property
    def smem_bytes(self) -> int:
        stages = 1 if self.resident else self.stages
        return stages * (BM + BN) * BK * 2 + 1024

    @property
    def wgmma_opcode(self) -> str:
        """The SASS the accumulator must show: HGMMA.64x256x16.F32 / .F16."""
        return f"HGMMA.64x{BN}x16.{self.acc.upper()}"

    @property
    def twin(self) -> "Variant":
        return Variant("f32" if self.acc == "f16" else "f16", self.mode, self.stages)


def all_variants() -> list[Variant]:
    return [Variant(acc, mode) for mode in MODES for acc in ACCS]


def select(accs=None, modes=None) -> list[Variant]:
    chosen = [v for v in all_variants()
              if (accs is None or v.acc in accs) and (modes is None or v.mode in modes)]
    if not chosen:
        raise UserError(f"no GEMM variant matches; accumulators {', '.join(ACCS)}, "
                        f"modes {', '.join(MODES)}")
    return chosen


def check_shape(m: int, n: int, k: int) -> None:
    """UserError unless the sizes are whole tiles (the kernel has no edge handling)."""
    bad = [f"{name}={v} (multiple of {t})" for name, v, t in (("M", m, BM), ("N", n, BN), ("K", k, BK))
           if v <= 0 or v % t]
    if bad:
        raise UserError("GEMM sizes must be whole tiles: " + ", ".join(bad))
