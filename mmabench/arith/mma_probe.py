"""The mma.sync probe: one instruction per warp on that warp's own operands (ptx/mma_probe.ptx),
for every mma.sync form of `arith` (f16/bf16 and FP8 inputs).

A built probe packs batches of matrices [N, m, k], [N, k, n], [N, m, n] into per-warp fragment
words, runs N warps and returns D's raw bit patterns [N, m, n]. wgmma_probe.py is its wgmma twin.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template

import numpy as np

from mmabench.core import project_files
from mmabench.mma import fragments as fr
from mmabench.mma.catalogue import MmaForm
from mmabench.arith import formats

TEMPLATE = project_files.ptx("mma_probe.ptx")
WARPS_PER_BLOCK = 4


def _regs(prefix: str, count: int) -> str:
    return ", ".join(f"%{prefix}{r}" for r in range(count))


def render(form: MmaForm, target: str | None = None) -> str:
    """The probe's PTX; `target` (e.g. 'sm_90') overrides the form's lowest architecture."""
    na, nb, nc = form.a_regs, form.b_regs, form.c_regs
    acc_type = ".f32" if form.acc == "f32" else ".b32"
    decls = [f"    .reg .b32   %a<{na}>;", f"    .reg .b32   %b<{nb}>;",
             f"    .reg {acc_type:5s} %c<{nc}>;", f"    .reg {acc_type:5s} %d<{nc}>;"]
    loads = []
    ld = "ld.global.f32" if form.acc == "f32" else "ld.global.b32"
    for name, regs, op in (("a", na, "ld.global.b32"), ("b", nb, "ld.global.b32"), ("c", nc, ld)):
        loads += [f"    ld.param.u64    %base, [{name}_ptr];",
                  "    cvta.to.global.u64 %base, %base;",
                  f"    mul.wide.u32    %off, %tmp, {4 * regs};",
                  "    add.u64         %addr, %base, %off;"]
        loads += [f"    {op}   %{name}{r}, [%addr+{4 * r}];" for r in range(regs)]
    mma = (f"    {form.instruction} {{{_regs('d', nc)}}}, {{{_regs('a', na)}}}, "
           f"{{{_regs('b', nb)}}}, {{{_regs('c', nc)}}};")
    st = "st.global.f32" if form.acc == "f32" else "st.global.b32"
    stores = ["    ld.param.u64    %base, [d_ptr];", "    cvta.to.global.u64 %base, %base;",
              f"    mul.wide.u32    %off, %tmp, {4 * nc};", "    add.u64         %addr, %base, %off;"]
    stores += [f"    {st}   [%addr+{4 * r}], %d{r};" for r in range(nc)]
    return Template(TEMPLATE.read_text()).substitute(
        VERSION=form.ptx_version, TARGET=target or f"sm_{form.min_sm}", INSTRUCTION=form.instruction,
        DECLS="\n".join(decls), LOADS="\n".join(loads), MMA=mma, STORES="\n".join(stores))


# ---- packing batches of matrices into fragment words (pure numpy, testable on the CPU) -------
def pack(form: MmaForm, kind: str, mats: np.ndarray) -> np.ndarray:
    """[N, rows, cols] matrices -> uint32 [N, 32, regs] fragment words: fragments.to_fragments
    of each matrix, vectorised (gather each lane's elements, then view as uint32)."""
    m, n, k = form.mnk
    count = {"A": m * k, "B": k * n, "C": m * n}[kind] // 32
    type_ = fr.operand_type(form, kind)
    bits = fr.element_bits(type_)
    rows, cols = fr._lane_coords(kind, count, bits if kind in "AB" else 16)
    values = np.asarray(mats, dtype=np.float64)[:, rows, cols]           # [N, 32, count]
    if type_ == "f32":
        return np.ascontiguousarray(values.astype(np.float32)).view(np.uint32)
    # FP8: 8-bit codes, inf kept (not saturated) so that designed specials reach the hardware
    return np.ascontiguousarray(formats.to_bits(values, type_)).view(np.uint32)


def unpack_bits(form: MmaForm, words: np.ndarray) -> np.ndarray:
    """uint32 [N, 32, c_regs] -> raw D bit patterns [N, m, n] (uint32 for f32, uint16 for f16)."""
    m, n, _ = form.mnk
    count = m * n // 32
    words = np.ascontiguousarray(words, dtype=np.uint32)
    elems = words.view(np.uint16) if form.acc == "f16" else words
    elems = elems.reshape(len(words), 32, count)
    rows, cols = fr._lane_coords("C", count)
    out = np.zeros((len(words), m, n), dtype=elems.dtype)
    out[:, rows, cols] = elems
    return out


@dataclass
class Probe:
    form: MmaForm
    ptx: str
    kernel: object

    def run(self, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        """D bit patterns [N, m, n] for N problems."""
        import cupy

        from mmabench.mma.bench import POISON

        n = len(a)
        aw, bw, cw = (pack(self.form, kind, x) for kind, x in (("A", a), ("B", b), ("C", c)))
        d = cupy.full((n, 32, self.form.c_regs), POISON, dtype=cupy.uint32)
        blocks = (n + WARPS_PER_BLOCK - 1) // WARPS_PER_BLOCK
        self.kernel.function((blocks,), (32 * WARPS_PER_BLOCK,),
                             (cupy.asarray(aw), cupy.asarray(bw), cupy.asarray(cw), d, np.uint32(n)))
        cupy.cuda.runtime.deviceSynchronize()
        return unpack_bits(self.form, cupy.asnumpy(d))


def build(form: MmaForm) -> Probe:
    from mmabench.compiler import driver_jit

    ptx = render(form)
    return Probe(form, ptx, driver_jit.jit(ptx, "mma_probe"))
