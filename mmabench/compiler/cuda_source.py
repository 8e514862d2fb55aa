"""CUDA C++ kernels (kernels/*.cu) to PTX: a variant's #defines in front of the source, NVRTC
for a virtual architecture (cached by toolchain.nvrtc_to_ptx), and the PTX ISA version the code
needs.

NVRTC writes the PTX ISA version of its own release, which older assemblers and drivers refuse
although the kernel may use nothing newer; the caller states the lowest ISA its code needs, as
the hand-written PTX of the instruction suite does.
"""

from __future__ import annotations

import re
from pathlib import Path

from mmabench.compiler import toolchain

_VERSION = re.compile(r"^\.version\s+\d+\.\d+", re.M)


def render(source: Path, name: str, defines: dict) -> str:
    """The source with `defines` in front; #line keeps compiler messages on the file's lines."""
    head = "".join(f"#define {k} {val}\n" for k, val in defines.items())
    return f"// variant {name}\n{head}#line 1 \"{source.name}\"\n{source.read_text()}"


def to_ptx(text: str, name: str, entry: str, virtual_arch: str, options: tuple[str, ...],
           ptx_version: str) -> str:
    """Rendered source -> PTX for `virtual_arch` ('compute_80') at ISA `ptx_version`;
    CompileError if NVRTC fails or the PTX lacks `entry`."""
    ptx = toolchain.nvrtc_to_ptx(text, virtual_arch, options, name=f"{name}.cu")
    if f".entry {entry}" not in ptx:
        raise toolchain.CompileError(f"{name}: entry {entry} missing from the PTX")
    return _VERSION.sub(f".version {ptx_version}", ptx, count=1)
