"""The GEMM kernels without a GPU: ptxas resources and the SASS of each variant for sm_90a.

Checks that the accumulator is what was meant (HGMMA.64x256x16.F16 vs .F32, no other tensor op),
that ptxas did not serialize the wgmma pipeline (any of its 'serialized' advisories: C7509,
C7510, C7515, ...) nor ignore setmaxnreg (C7504, C7508, ...), and that nothing spills; reports registers, spills and the setmaxnreg values of
the warp-specialized kernel honestly (they are figures, not assumptions).
"""

from __future__ import annotations

from mmabench.compiler import sass, toolchain
from mmabench.compiler.resources import setmaxnreg_values
from mmabench.gemm import build
from mmabench.gemm.variants import Variant

# Opcodes counted besides the tensor ops (an opcode starting with one counts).
_OTHER = {"n_arrive": "WARPGROUP.ARRIVE", "n_depbar": "WARPGROUP.DEPBAR", "n_ldgsts": "LDGSTS",
          "n_f2fp_pack": "F2FP.F16.F32.PACK_AB", "n_bar_sync": "BAR.SYNC", "n_tma_load": "UTMALDG",
          "n_setmaxreg": "USETMAXREG"}



def report(v: Variant) -> dict:
    asm, res = build.assemble(v)
    hist = sass.histogram(toolchain.disassemble(asm.cubin))
    hgmma = sass.tensor_ops(hist)
    others = {label: sum(n for o, n in hist.items() if o.startswith(op)) for label, op in _OTHER.items()}
    serialized = bool(res.advised("wgmma serialized"))
    ignored = bool(res.advised("setmaxnreg ignored"))
    ok = (set(hgmma) == {v.wgmma_opcode} and not serialized and not ignored
          and res.spill_stores + res.spill_loads == 0)
    return {"kernel": v.name, "arch": build.ARCH, "acc": v.acc, "mode": v.mode,
            "registers": res.registers, "spill_store_bytes": res.spill_stores,
            "spill_load_bytes": res.spill_loads, "stack_bytes": res.stack,
            "smem_bytes": v.smem_bytes, "tile": v.tile, "stages": 1 if v.resident else v.stages,
            "threads": v.threads, "wgmma_serialized": serialized,
            "setmaxnreg_ignored": ignored, "setmaxnreg": setmaxnreg_values(build.ptx_for(v)),
            "hgmma": sass.counts_text(hgmma),
            "expected_hgmma": v.wgmma_opcode, "ok": ok, **others}
