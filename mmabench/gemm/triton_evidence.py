"""What Triton built around the wgmma instruction, read from its own outputs (no GPU needed).

The Triton puzzle: at the same tiles, `tl.dot(..., out_dtype=tl.float16)` runs slower than the f32
accumulator, though Hopper's wgmma has one rate for both. These facts are taken from each compiled
kernel so that every run (and `gemm --offline --triton`) shows where the difference comes from:

- TTGIR: the `pendings` of every `ttng.warp_group_dot_wait`. Triton's wgmma pipeliner
  (pass `triton-wgmma-pipeline`) leaves one dot in flight across loop iterations only when it
  can make the dot "properly async"; otherwise it waits for it to finish (pendings = 0) right
  after it, every K step.
- SASS (the cubin Triton loads): in the main loop, the HGMMAs and the `WARPGROUP.DEPBAR.LE gsb0,
  N` waits: one wait with N = 1 per K step keeps the tensor pipe fed; N = 0 drains it, and one
  wait per HGMMA means ptxas serialized the pipeline.
- ptxas: its 'serialized' advisory (for example C7515), from Triton's own ptxas where it ships
  one, else the project's.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

from mmabench.compiler import sass

_PENDINGS = re.compile(r"ttng\.warp_group_dot_wait\b[^\n]*?\{pendings = (\d+)")
_IN_LOOP_DOT = re.compile(r"ttng\.warp_group_dot\b(?!_wait)[^\n]*?isAsync = (true|false)")
_ADVISORY_LINE = re.compile(r"\((C\d{4})\) Potential Performance Loss: ([^\n]*)")
_USED_REGISTERS = re.compile(r"Used (\d+) registers")


def ttgir_facts(ttgir: str) -> dict:
    """The dot waits Triton inserted: their pendings, in program order ('1, 0' for f32)."""
    pendings = [int(p) for p in _PENDINGS.findall(ttgir)]
    return {"ttgir_dot_wait_pendings": ", ".join(map(str, pendings)) or "none",
            "ttgir_dots": len(_IN_LOOP_DOT.findall(ttgir))}


def main_loop(sass_text: str) -> sass.Loop:
    """The innermost loop that holds the HGMMAs (ValueError if none does)."""
    holding = [lp for lp in sass.loops(sass_text) if any(i.base == "HGMMA" for i in lp.body)]
    if not holding:
        raise ValueError("no loop holds an HGMMA")
    return holding[0]


def sass_facts(sass_text: str) -> dict:
    """Per trip of the main loop: HGMMAs, warpgroup arrives, and the wgmma waits with their depth."""
    loop = main_loop(sass_text)
    ops = Counter(i.base for i in loop.body)
    waits = [i.operands.split(",")[-1].strip() for i in loop.body if i.opcode == "WARPGROUP.DEPBAR.LE"]
    depths = [int(w, 16) if w.startswith("0x") else int(w) for w in waits]
    return {"loop_hgmma": ops["HGMMA"], "loop_wgmma_waits": len(depths),
            "loop_wait_depths": ", ".join(map(str, depths)) or "none",
            "loop_arrives": sum(1 for i in loop.body if i.opcode == "WARPGROUP.ARRIVE"),
            "loop_instructions": len(loop.body)}


def pipeline_verdict(facts: dict) -> str:
    """One word or two for the table: how much of the wgmma pipeline survives the K loop."""
    depths = [int(d) for d in str(facts.get("loop_wait_depths", "")).split(",") if d.strip().isdigit()]
    if not depths:
        return "no wait"
    if len(depths) >= facts.get("loop_hgmma", 0) > 1:
        return "serialized"      # a wait per HGMMA
    if max(depths) == 0:
        return "drained"         # every K step waits for its own wgmma
    return f"{max(depths)} in flight"


def ptxas_facts(ptx: str, arch: str = "sm_90a") -> dict:
    """What ptxas -v says of this PTX: its 'Potential Performance Loss' advisories ('' if none)
    and the registers; from the ptxas Triton ships (the one that built its cubin) when there is
    one, else the project's (compiler.toolchain.assemble: cached either way)."""
    from mmabench.compiler import toolchain

    return read_ptxas_log(toolchain.assemble(ptx, arch, ptxas=_triton_ptxas()).log)


def read_ptxas_log(log: str) -> dict:
    """Advisories ('C7515 wgmma.mma_async instructions are serialized due to ...') and registers."""
    used = _USED_REGISTERS.search(log)
    return {"ptxas_advisory": "; ".join(f"{code} {text.split(' in the function')[0]}"
                                        for code, text in _ADVISORY_LINE.findall(log)),
            "ptxas_registers": int(used.group(1)) if used else None}


def _triton_ptxas() -> Path | None:
    chosen = os.environ.get("TRITON_PTXAS_PATH")
    if chosen:
        return Path(chosen)
    try:
        import triton
    except Exception:
        return None
    bundled = Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "ptxas"
    return bundled if bundled.is_file() else None


def facts(asm: dict) -> dict:
    """Everything above for one compiled Triton kernel (`kernel.asm`: ttgir, ptx, cubin)."""
    from mmabench.compiler import toolchain

    out = ttgir_facts(asm.get("ttgir", ""))
    out.update(sass_facts(toolchain.disassemble(asm["cubin"])))
    out.update(ptxas_facts(asm["ptx"]) if asm.get("ptx") else {"ptxas_advisory": ""})
    out["pipeline"] = pipeline_verdict(out)
    return out
