"""Fill ptx/wgmma_chain.ptx for one form and one pipeline shape.

Only what depends on the form and the pipeline is generated (register declarations, the copy
of the operand images, descriptors, loads, the unrolled groups of wgmma, stores); the kernel
around them is the hand-written PTX file.

Pipeline shape (`Pipeline`): `ilp` independent accumulators per warpgroup, `depth` wgmma per
commit group (instructions in flight per wait), `pending` groups left in flight by each
wait_group, `unroll` steps of every chain per loop trip (a multiple of 8: each of the 4
K-slices gets a "+" and a "-" step, so the trip nets zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from mmabench.core.errors import UserError
from mmabench.instructions.ptx import fill, regs, thread_address
from mmabench.wgmma.catalogue import M, PTX_VERSION, WgmmaForm
from mmabench.wgmma.layout import ROW_BYTES, SLICES, TileLayout

ENTRY = "wgmma_chain"
MAX_ILP = 4
A_BYTES = M * ROW_BYTES


@dataclass(frozen=True)
class Pipeline:
    ilp: int = 1
    depth: int = 1
    pending: int = 0
    unroll: int = 8

    @property
    def label(self) -> str:
        return f"ilp{self.ilp}.d{self.depth}.w{self.pending}"

    @property
    def per_trip(self) -> int:
        return self.ilp * self.unroll


LATENCY = Pipeline(ilp=1, depth=1, pending=0, unroll=8)


def pipeline(ilp: int, depth: int, pending: int = 1) -> Pipeline:
    """A throughput pipeline; the unroll is the least multiple of 8 that whole groups fill."""
    unroll = 8
    while (ilp * unroll) % depth:
        unroll += 8
    return Pipeline(ilp, depth, pending, unroll)


def check(form: WgmmaForm, pipe: Pipeline) -> None:
    if not 1 <= pipe.ilp <= MAX_ILP:
        raise UserError(f"ILP {pipe.ilp} out of range; accepted: 1..{MAX_ILP}")
    if pipe.ilp > form.max_ilp():
        raise UserError(f"{form.name}: {pipe.ilp} accumulators of {form.c_regs} registers do not "
                        f"fit; at most {form.max_ilp()}")
    if pipe.unroll < 8 or pipe.unroll % 8:
        raise UserError(f"unroll {pipe.unroll} must be a multiple of 8 (4 slices x +/- steps)")
    if pipe.depth < 1 or (pipe.ilp * pipe.unroll) % pipe.depth:
        raise UserError(f"depth {pipe.depth} must divide the {pipe.ilp * pipe.unroll} "
                        "instructions of one loop trip")
    if not 0 <= pipe.pending <= 7:
        raise UserError(f"pending groups {pipe.pending} out of range; accepted: 0..7")


def _vec_moves(count: int) -> list[tuple[int, str]]:
    """Split `count` consecutive 32-bit words into v4 / v2 / scalar accesses: (first, suffix)."""
    out, r = [], 0
    while r < count:
        width = 4 if count - r >= 4 else 2 if count - r >= 2 else 1
        out.append((r, {4: ".v4", 2: ".v2", 1: ""}[width]))
        r += width
    return out


def _acc_moves(nc: int, ilp: int) -> list[tuple[str, str, int]]:
    """The accumulator registers of `ilp` chains of `nc` words each, as vector accesses:
    (suffix, register operand, byte offset of the thread's first word)."""
    out = []
    for j in range(ilp):
        for r, v in _vec_moves(nc):
            width = {".v4": 4, ".v2": 2, "": 1}[v]
            operand = regs("acc", j * nc + r, width)
            out.append((v, f"{{{operand}}}" if width > 1 else operand, 4 * (128 * nc * j + r)))
    return out


def _copy(symbol: str, param: str, nbytes: int, tag: str) -> list[str]:
    chunks = nbytes // 16
    return [
        f"    ld.param.u64    %src, [{param}];",
        "    cvta.to.global.u64 %src, %src;",
        f"    mov.u32         %saddr, {symbol};",
        "    mov.u32         %i, %thr;",
        f"$copy_{tag}:",
        f"    setp.ge.u32     %p_copy, %i, {chunks};",
        f"    @%p_copy bra    $copy_{tag}_done;",
        "    mul.wide.u32    %off, %i, 16;",
        "    add.u64         %addr, %src, %off;",
        "    ld.global.v4.b32 {%v0, %v1, %v2, %v3}, [%addr];",
        "    shl.b32         %tmp, %i, 4;",
        "    add.u32         %tmp, %tmp, %saddr;",
        "    st.shared.v4.b32 [%tmp], {%v0, %v1, %v2, %v3};",
        "    add.u32         %i, %i, %nthreads;",
        f"    bra.uni         $copy_{tag};",
        f"$copy_{tag}_done:",
    ]


def _descriptors(symbol: str, reg: str, tile: TileLayout) -> list[str]:
    lo_fields, hi = tile.descriptor_hi_lo()
    step = tile.slice_step >> 4
    lines = [
        f"    mov.u32         %saddr, {symbol};",
        "    shr.u32         %dlo, %saddr, 4;",
        "    and.b32         %dlo, %dlo, 16383;",
        f"    or.b32          %dlo, %dlo, {lo_fields};       // LBO {tile.lbo} B",
        f"    mov.u32         %dhi, {hi};       // SBO {tile.sbo} B, swizzle {tile.swizzle}",
        f"    mov.b64         %{reg}0, {{%dlo, %dhi}};",
    ]
    lines += [f"    add.s64         %{reg}{s}, %{reg}0, {s * step};   // K-slice {s}"
              for s in range(1, SLICES)]
    return lines


def _operand_text(form: WgmmaForm, acc: str, s: int, negated: bool) -> str:
    scale_a = -1 if negated else 1
    a = f"{{{regs('a', 4 * s, form.a_regs)}}}" if form.a_src == "rs" else f"%da{s}"
    if form.elem_bytes == 1:
        tail = f"1, {scale_a}, 1"                       # scale-d, imm-scale-a, imm-scale-b
    elif form.a_src == "rs":
        tail = f"1, {scale_a}, 1, 0"                    # ..., imm-trans-b
    else:
        tail = f"1, {scale_a}, 1, 0, 0"                 # ..., imm-trans-a, imm-trans-b
    return f"    {form.instruction} {acc}, {a}, %db{s}, {tail};"


def render(form: WgmmaForm, pipe: Pipeline = LATENCY) -> str:
    check(form, pipe)
    tile = TileLayout(form.swizzle)
    nc = form.c_regs
    acc_type = ".f32" if form.acc == "f32" else ".b32"
    b_bytes = form.n * ROW_BYTES

    decls = [f"    .reg {acc_type:5s} %acc<{pipe.ilp * nc}>;      // chain j: acc[j*{nc} ..]"]
    if form.a_src == "rs":
        decls.append(f"    .reg .b32   %a<{SLICES * form.a_regs}>;      // A fragment of slice s: a[4s ..]")

    copy = _copy("smem_b", "b_ptr", b_bytes, "b")
    descs = _descriptors("smem_b", "db", tile)
    if form.a_src == "ss":
        copy += _copy("smem_a", "a_ptr", A_BYTES, "a")
        descs += _descriptors("smem_a", "da", tile)

    loads = thread_address("c_ptr", "%t", 4 * nc)
    ld = "ld.global{v}.f32" if form.acc == "f32" else "ld.global{v}.b32"
    loads += [f"    {ld.format(v=v):18s} {operand}, [%addr+{off}];"
              for v, operand, off in _acc_moves(nc, pipe.ilp)]
    if form.a_src == "rs":
        loads += thread_address("a_ptr", "%t", 16)
        loads += [f"    ld.global.v4.b32 {{{regs('a', 4 * s, 4)}}}, [%addr+{s * 128 * 16}];"
                  for s in range(SLICES)]

    def acc_regs(j: int) -> str:
        return "{" + regs("acc", j * nc, nc) + "}"

    prologue = ["    wgmma.fence.sync.aligned;"]
    prologue += [_operand_text(form, acc_regs(j), 0, False) for j in range(pipe.ilp)]
    prologue += ["    wgmma.commit_group.sync.aligned;", "    wgmma.wait_group.sync.aligned 0;"]

    steps = [(j, step) for step in range(pipe.unroll) for j in range(pipe.ilp)]
    body = []
    for g in range(0, len(steps), pipe.depth):
        body.append("    wgmma.fence.sync.aligned;")
        for j, step in steps[g:g + pipe.depth]:
            body.append(_operand_text(form, acc_regs(j), (step // 2) % SLICES, step % 2 == 1))
        body += ["    wgmma.commit_group.sync.aligned;",
                 f"    wgmma.wait_group.sync.aligned {pipe.pending};"]

    stores = thread_address("d_ptr", "%tmp", 4 * nc,   # warpgroup's chains, then thread
                            (f"    mul.lo.u32      %tmp, %wg, {128 * pipe.ilp};",
                             "    add.u32         %tmp, %tmp, %t;"))
    st = "st.global{v}.f32" if form.acc == "f32" else "st.global{v}.b32"
    stores += [f"    {st.format(v=v):18s} [%addr+{off}], {operand};"
               for v, operand, off in _acc_moves(nc, pipe.ilp)]

    smem_a = f".shared .align 1024 .b8 smem_a[{A_BYTES}];" if form.a_src == "ss" else ""
    return fill(
        "wgmma_chain.ptx",
        VERSION=PTX_VERSION,
        LAYOUT=f"{'128-byte swizzle' if form.swizzle == '128b' else 'no swizzle'}, K-major",
        DEPTH=pipe.depth, PENDING=pipe.pending, ILP=pipe.ilp,
        A_BYTES=A_BYTES, B_BYTES=b_bytes, SMEM_A=smem_a,
        DECLS="\n".join(decls), COPY="\n".join(copy), DESCS="\n".join(descs),
        LOADS="\n".join(loads), PROLOGUE="\n".join(prologue), BODY="\n".join(body),
        STORES="\n".join(stores),
    )
