"""wgmma wrappers for the shapes one kernel uses, written out as C++ with inline PTX.

A wgmma names every accumulator register in its PTX operand list, so each (N, accumulator)
needs its own asm statement: m64n176k16 with an f32 accumulator takes 88 registers, with an
f16 one 44. Rather than hand-write one per tile choice, the Hopper attention kernel's build
(mmabench/attention/build.py) asks this module for the specialisations its variant needs and
hands them to the kernel as one macro (HATTN_WGMMA_WRAPPERS):

    WgmmaSS<N, F16>::mma(d, a_desc, b_desc, accumulate)   A and B from shared memory, K-major
    WgmmaRS<N, F16>::mma(d, a_regs, b_desc, accumulate)   A (4 x f16x2) from registers, B MN-major

with `Acc` (float or packed f16x2 u32) and `REGS` (accumulator registers per thread) in each.
`accumulate` 0 makes D = A.B (the old D ignored: a fresh sum without zeroing registers).
"""

from __future__ import annotations

from mmabench.core.errors import UserError

PRIMARY = ("template <int N, bool F16> struct WgmmaSS; "
           "template <int N, bool F16> struct WgmmaRS;")


def _check_n(n: int) -> None:
    if not (8 <= n <= 256 and n % 8 == 0):
        raise UserError(f"wgmma m64nNk16 takes N = 8..256 in steps of 8, not {n}")


def wrapper(kind: str, n: int, f16_acc: bool) -> str:
    """The specialisation WgmmaSS<n, f16_acc> (kind 'ss') or WgmmaRS<n, f16_acc> ('rs') on one
    line (a macro's body); the RS form reads B with imm-trans-b = 1 (MN-major)."""
    _check_n(n)
    regs = n // 4 if f16_acc else n // 2
    acc, letter, dtype = ("u32", "r", "f16") if f16_acc else ("float", "f", "f32")
    outputs = ", ".join(f'"+{letter}"(d[{i}])' for i in range(regs))
    acc_ops = ", ".join(f"%{i}" for i in range(regs))
    if kind == "ss":
        a_param, a_ops, inputs = "u64 da", f"%{regs}", '"l"(da), "l"(db), "r"(accumulate)'
        b_op, pred_op, tail = regs + 1, regs + 2, "p, 1, 1, 0, 0"
    elif kind == "rs":
        a_param = "const u32* a"
        a_ops = "{" + ", ".join(f"%{regs + i}" for i in range(4)) + "}"
        inputs = '"r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(accumulate)'
        b_op, pred_op, tail = regs + 4, regs + 5, "p, 1, 1, 1"
    else:
        raise ValueError(kind)
    ptx = (f'"{{\\n.reg .pred p;\\nsetp.ne.b32 p, %{pred_op}, 0;\\n'
           f'wgmma.mma_async.sync.aligned.m64n{n}k16.{dtype}.f16.f16 {{{acc_ops}}}, {a_ops}, '
           f'%{b_op}, {tail};\\n}}\\n"')
    name = "WgmmaSS" if kind == "ss" else "WgmmaRS"
    return (f"template <> struct {name}<{n}, {'true' if f16_acc else 'false'}> {{ "
            f"typedef {acc} Acc; enum {{ REGS = {regs} }}; "
            f"static __device__ __forceinline__ void mma({acc}* d, {a_param}, u64 db, int accumulate) "
            f"{{ asm volatile({ptx} : {outputs} : {inputs}); }} }};")


def wrappers(shapes) -> str:
    """The primary templates and one specialisation per (kind, n, f16_acc) in `shapes`, on one
    line (duplicates once)."""
    return " ".join([PRIMARY] + [wrapper(*s) for s in dict.fromkeys(shapes)])
