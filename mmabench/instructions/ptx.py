"""Pieces of PTX text both families' renders generate, and filling a template under ptx/."""

from __future__ import annotations

import functools
from string import Template

from mmabench.core import project_files


@functools.lru_cache(maxsize=None)
def _template(name: str) -> Template:
    return Template(project_files.ptx(name).read_text())


def fill(name: str, **fields) -> str:
    """The template ptx/`name` with its ${FIELDS} substituted (KeyError for a missing one)."""
    return _template(name).substitute(**fields)


def regs(prefix: str, first: int, count: int) -> str:
    """'%acc4, %acc5, %acc6': `count` numbered registers from `first`."""
    return ", ".join(f"%{prefix}{first + r}" for r in range(count))


def thread_address(param: str, index: str, stride: int, setup: tuple[str, ...] = ()) -> list[str]:
    """%addr = the global address in .param `param` + `index` x `stride` bytes (`setup` computes
    the index first, into registers the kernel declares: %base, %off, %addr)."""
    return [f"    ld.param.u64    %base, [{param}];",
            "    cvta.to.global.u64 %base, %base;",
            *setup,
            f"    mul.wide.u32    %off, {index}, {stride};",
            "    add.u64         %addr, %base, %off;"]


def warp_chain_address(param: str, stride: int, ilp: int) -> list[str]:
    """%addr for a thread's first chain result: the warp's `ilp` chains of 32 lanes, then the
    lane, `stride` bytes each (the chain kernels' stores)."""
    return thread_address(param, "%tmp", stride,
                          (f"    mul.lo.u32      %tmp, %warp, {32 * ilp};",
                           "    add.u32         %tmp, %tmp, %lane;"))
