"""Builds one architecture can take from another, because ptxas writes the same code for both.

ptxas (13.5, the PyPI wheel's, for every kernel of the registry) writes byte-identical code for
sm_89 and sm_86 from PTX that uses nothing only sm_89 has (its FP8 instructions): Ada and GA10x
share one SASS generation. A report that builds both (the default architectures, `regs --all`)
would compile each such kernel twice: 56 of the 880 builds of `regs --all`.

Nothing is taken on faith: per family, the kernel with the most sm_86 code is built for sm_89
as well (the check), and only when both builds have the same code bytes and the same resource
report do the family's other sm_89 rows reuse their sm_86 build. A family whose check differs,
or a kernel whose sm_89 PTX is not its sm_86 PTX, is compiled for sm_89 like any other.
`regs --compile-each` turns the sharing off.
"""

from __future__ import annotations

import re

from mmabench import hardware
from mmabench.compiler.cubin import code_digest, text_digest

# the architecture whose builds this one may reuse (same SASS generation as ptxas treats them;
# within one major architecture, so that the SASS of both is decoded once: sassinfo)
SAME_CODE_AS = {"sm_89": "sm_86"}

_TARGET_LINE = re.compile(r"^\s*\.target\s+[^\n]*$", re.M)


def reuse_plan(specs, arch_list, target_for) -> dict[tuple[str, str], str]:
    """{(kernel name, arch): the architecture whose build it may reuse} for the pairs of `specs`
    x `arch_list` that may share: both architectures are in the run, the kernel exists on both
    as built for itself (no 'a' suffix, no other target) and fits the shared memory of both.
    Whether the code really is the same is checked later, on built code (reusable)."""
    plan = {}
    for arch, source in SAME_CODE_AS.items():
        if arch not in arch_list or source not in arch_list:
            continue
        limit = min(hardware.smem_per_block(arch), hardware.smem_per_block(source))
        for spec in specs:
            if (target_for(spec, arch) == arch and target_for(spec, source) == source
                    and spec.dynamic_smem_bytes <= limit):
                plan[(spec.name, arch)] = source
    return plan


def same_ptx(a: str, b: str) -> bool:
    """Whether two PTX texts are the same program (the `.target` line aside)."""
    return _TARGET_LINE.sub("", a, count=1) == _TARGET_LINE.sub("", b, count=1)


def check_kernel(candidates):
    """The candidate (spec, source build) with the most code: the one built for both
    architectures to check that they agree."""
    return max(candidates, key=lambda pair: len(pair[1].code or pair[1].cubin))


def agree(checked, source) -> bool:
    """Whether the check build and its source build have the same code bytes (the hash of their
    code section, or of all their cubin's if it has several) and the same resources."""
    keys = ("regs", "spill_store_bytes", "spill_load_bytes", "stack_frame_bytes",
            "static_smem_bytes", "barriers")
    if checked.row.get("status") != "ok" or source.row.get("status") != "ok":
        return False
    mine, theirs = _code_identity(checked), _code_identity(source)
    return (mine is not None and mine == theirs
            and all(checked.row.get(k) == source.row.get(k) for k in keys))


def _code_identity(build) -> str | None:
    return code_digest(build.code) if build.code is not None else text_digest(build.cubin)
