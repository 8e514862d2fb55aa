"""The GEMM kernels without a GPU: ptxas resources and the SASS of each variant for sm_90a.

Checks that the accumulator is what was meant (HGMMA.64x256x16.F16 vs .F32, no other HGMMA),
that ptxas did not serialize the wgmma pipeline (warning C7510), and reports registers and
spills honestly (they are figures, not assumptions).
"""

from __future__ import annotations

import re

from mmabench.compiler import toolchain
from mmabench.gemm import build
from mmabench.gemm.variants import Variant

_HGMMA = re.compile(r"\bHGMMA\.(\d+x\d+x\d+)\.(F16|F32)\b")
_OTHER = {"n_arrive": "WARPGROUP.ARRIVE", "n_depbar": "WARPGROUP.DEPBAR", "n_ldgsts": "LDGSTS",
          "n_f2fp_pack": "F2FP.F16.F32.PACK_AB", "n_bar_sync": "BAR.SYNC"}


def hgmma_counts(sass_text: str) -> dict[str, int]:
    """{'HGMMA.64x256x16.F32': n, ...} (static counts in the code; the opcode carries a lower-case
    'x', which the generic SASS parser does not read as part of the opcode)."""
    out: dict[str, int] = {}
    for m in _HGMMA.finditer(sass_text):
        key = f"HGMMA.{m.group(1)}.{m.group(2)}"
        out[key] = out.get(key, 0) + 1
    return out


def report(v: Variant) -> dict:
    asm, res = build.assemble(v)
    text = toolchain.disassemble(asm.cubin)
    hgmma = hgmma_counts(text)
    others = {label: sum(1 for line in text.splitlines() if op in line) for label, op in _OTHER.items()}
    serialized = bool(res.advised("wgmma serialized"))
    ok = set(hgmma) == {v.wgmma_opcode} and not serialized
    return {"kernel": v.name, "arch": build.ARCH, "acc": v.acc, "mode": v.mode,
            "registers": res.registers, "spill_store_bytes": res.spill_stores,
            "spill_load_bytes": res.spill_loads, "stack_bytes": res.stack,
            "smem_bytes": v.smem_bytes, "wgmma_serialized_C7510": serialized,
            "hgmma": ", ".join(f"{k} x{n}" for k, n in sorted(hgmma.items())),
            "expected_hgmma": v.wgmma_opcode, "ok": ok, **others}
