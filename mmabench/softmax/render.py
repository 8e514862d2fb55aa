"""Fill ptx/softmax_chain.ptx for one softmax form and ILP.

Only what depends on the form and the number of chains is generated (declarations, loads, the
unrolled steps, stores); the kernel around them is the hand-written PTX file.
"""

from __future__ import annotations

from mmabench.core.errors import UserError
from mmabench.instructions.ptx import fill, thread_address, warp_chain_address
from mmabench.softmax.catalogue import SoftmaxForm

# Steps of each chain per loop trip: even, so the a0/a1 alternation pairs up within a trip;
# long enough that the loop's own add/compare/branch are noise next to the steps.
DEFAULT_UNROLL = 16
MAX_ILP = 16


def step(form: SoftmaxForm, chain: int, index: int) -> list[str]:
    """The PTX lines of step `index` of chain `chain`."""
    fields = {"x": f"%x{chain}", "a": f"%a{index % 2}", "b": "%b"}
    return [f"    {line.format(**fields)}" for line in form.step]


def render(form: SoftmaxForm, ilp: int, unroll: int = DEFAULT_UNROLL) -> str:
    if not 1 <= ilp <= MAX_ILP:
        raise UserError(f"ILP {ilp} out of range; accepted: 1..{MAX_ILP}")
    if unroll < 2 or unroll % 2:
        raise UserError(f"unroll {unroll} must be even and >= 2 (the a0/a1 steps pair up)")
    x, o = form.x_reg, form.operand_reg
    decls = [f"    .reg {x:4s}  %x<{ilp}>;          // chain j in x{{j}}",
             f"    .reg {o:4s}  %a<2>, %b;"]

    loads = thread_address("a_ptr", "%lane", 4)
    loads += [f"    ld.global{o}    %a0, [%addr];", f"    ld.global{o}    %a1, [%addr+128];"]
    loads += thread_address("b_ptr", "%lane", 4)
    loads += [f"    ld.global{o}    %b, [%addr];"]
    loads += thread_address("c_ptr", "%lane", 4)
    loads += [f"    ld.global{x}    %x{j}, [%addr+{128 * j}];" for j in range(ilp)]

    prologue = [line for j in range(ilp) for line in step(form, j, 0)]
    body = [line for s in range(unroll) for j in range(ilp) for line in step(form, j, s)]

    stores = warp_chain_address("d_ptr", 4, ilp)
    stores += [f"    st.global{x}    [%addr+{128 * j}], %x{j};" for j in range(ilp)]

    return fill(
        "softmax_chain.ptx",
        VERSION=form.ptx_version,
        TARGET=f"sm_{form.min_sm}",
        ILP=ilp,
        UNROLL=unroll,
        INSTRUCTION=" ".join(form.step).format(x="x", a="a", b="b"),
        DECLS="\n".join(decls),
        LOADS="\n".join(loads),
        PROLOGUE="\n".join(prologue),
        BODY="\n".join(body),
        STORES="\n".join(stores),
    )
