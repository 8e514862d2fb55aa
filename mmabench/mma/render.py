"""Fill ptx/mma_chain.ptx for one instruction form and ILP.

Only the parts that depend on the form and the number of chains are generated (register
declarations, loads, the unrolled instruction block, stores); the kernel around them is the
hand-written PTX file.

Forms with `fresh_b` (FP8) reload their B fragment before every instruction with a volatile
shared-memory load into registers of their chain. Without it, ptxas treats a lowered
(emulated) mma as ordinary arithmetic on loop-invariant operands: on sm_90 it computed A.B once
per loop trip and added it with FADDs, leaving 4 HMMAs where 128 were meant. A volatile load
cannot be hoisted or shared between steps or chains, so every step pays its own unpack and
HMMAs, as it would in a GEMM that feeds new B data each step (A's unpack, loop-invariant, is
still hoisted: a warp tile reuses its A fragment across its N blocks too).
"""

from __future__ import annotations

from mmabench.core.errors import UserError
from mmabench.instructions.ptx import fill, regs, thread_address, warp_chain_address
from mmabench.mma.catalogue import MmaForm

# Steps of each chain per loop trip. Even, so the +A/-A alternation nets zero each trip;
# long enough that the loop's own add/compare/branch are noise next to the mma issue.
DEFAULT_UNROLL = 16
MAX_ILP = 16


def render(form: MmaForm, ilp: int, unroll: int = DEFAULT_UNROLL) -> str:
    if not 1 <= ilp <= MAX_ILP:
        raise UserError(f"ILP {ilp} out of range; accepted: 1..{MAX_ILP}")
    if unroll < 2 or unroll % 2:
        raise UserError(f"unroll {unroll} must be even and >= 2 (the +A/-A steps pair up)")
    acc_type = ".f32" if form.acc == "f32" else ".b32"
    na, nb, nc = form.a_regs, form.b_regs, form.c_regs
    decls = [
        f"    .reg .b32   %a<{2 * na}>;        // A in a0.., -A in a{na}..",
        f"    .reg .b32   %b<{nb}>;",
        f"    .reg {acc_type:5s} %acc<{ilp * nc}>;      // chain j: acc[j*{nc} .. j*{nc}+{nc - 1}]",
    ]
    if form.fresh_b:
        if nb not in (1, 2, 4):
            raise ValueError(f"fresh_b needs 1, 2 or 4 B registers, not {nb}")
        decls += [
            f"    .reg .b32   %bf<{ilp * nb}>;      // chain j's B, reloaded before each step",
            "    .reg .u32   %bsh;",
            f"    .shared .align 16 .b8 b_shared[{32 * 4 * nb}];   // lane l's B at l*{4 * nb}",
        ]

    loads = thread_address("a_ptr", "%lane", 4 * na)
    loads += [f"    ld.global.b32   %a{r}, [%addr+{4 * r}];" for r in range(na)]
    loads += [f"    ld.global.b32   %a{na + r}, [%addr+{4 * (32 * na + r)}];" for r in range(na)]
    loads += thread_address("b_ptr", "%lane", 4 * nb)
    loads += [f"    ld.global.b32   %b{r}, [%addr+{4 * r}];" for r in range(nb)]
    if form.fresh_b:  # every warp writes the same B words: each lane reads back its own
        loads += ["    mov.u32         %bsh, b_shared;",
                  f"    mad.lo.u32      %bsh, %lane, {4 * nb}, %bsh;"]
        loads += [f"    st.shared.b32   [%bsh+{4 * r}], %b{r};" for r in range(nb)]
    loads += thread_address("c_ptr", "%lane", 4 * nc)
    ld = "ld.global.f32  " if form.acc == "f32" else "ld.global.b32  "
    for j in range(ilp):
        loads += [f"    {ld} %acc{j * nc + r}, [%addr+{4 * (32 * nc * j + r)}];" for r in range(nc)]

    def mma(j: int, negated: bool, fresh: bool = False) -> str:
        acc = "{" + regs("acc", j * nc, nc) + "}"
        a = "{" + regs("a", na if negated else 0, na) + "}"
        b = "{" + (regs("bf", j * nb, nb) if fresh else regs("b", 0, nb)) + "}"
        line = f"    {form.instruction} {acc}, {a}, {b}, {acc};"
        if not fresh:
            return line
        vec = {1: "", 2: ".v2", 4: ".v4"}[nb]
        dst = "{" + regs("bf", j * nb, nb) + "}" if nb > 1 else f"%bf{j}"
        return f"    ld.volatile.shared{vec}.b32 {dst}, [%bsh];\n{line}"

    prologue = [mma(j, False) for j in range(ilp)]
    body = [mma(j, step % 2 == 1, form.fresh_b) for step in range(unroll) for j in range(ilp)]

    stores = warp_chain_address("d_ptr", 4 * nc, ilp)
    st = "st.global.f32  " if form.acc == "f32" else "st.global.b32  "
    for j in range(ilp):
        stores += [f"    {st} [%addr+{4 * (32 * nc * j + r)}], %acc{j * nc + r};" for r in range(nc)]

    return fill(
        "mma_chain.ptx",
        VERSION=form.ptx_version,
        TARGET=f"sm_{form.min_sm}",
        ILP=ilp,
        UNROLL=unroll,
        DECLS="\n".join(decls),
        LOADS="\n".join(loads),
        PROLOGUE="\n".join(prologue),
        BODY="\n".join(body),
        STORES="\n".join(stores),
    )
