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


_LOCAL_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]+"([^"]+)"[ \t]*(?://.*)?$', re.M)


def render(source: Path, name: str, defines: dict) -> str:
    """The source with `defines` in front; #line keeps compiler messages on the file's lines.
    A `#include "file"` of a file beside the source (kernels/hopper.cuh) is written in place:
    NVRTC then needs no include path, and the cache key covers the header's text too."""
    head = "".join(f"#define {k} {val}\n" for k, val in defines.items())
    return f"// variant {name}\n{head}{_inlined(source)}"


def _inlined(source: Path, seen: tuple[Path, ...] = ()) -> str:
    text = source.read_text()
    if source in seen:
        raise toolchain.CompileError(f"{source.name} includes itself (through "
                                     f"{' -> '.join(p.name for p in seen)})")

    def header(match: re.Match) -> str:
        path = source.parent / match.group(1)
        if not path.is_file():
            return match.group(0)
        after = text.count("\n", 0, match.end()) + 2      # the line after the #include
        return f"{_inlined(path, (*seen, source))}\n#line {after} \"{source.name}\""

    return f"#line 1 \"{source.name}\"\n" + _LOCAL_INCLUDE.sub(header, text)


def to_ptx(text: str, name: str, entry: str, virtual_arch: str, options: tuple[str, ...],
           ptx_version: str) -> str:
    """Rendered source -> PTX for `virtual_arch` ('compute_80') at ISA `ptx_version`;
    CompileError if NVRTC fails or the PTX lacks `entry`."""
    ptx = toolchain.nvrtc_to_ptx(text, virtual_arch, options, name=f"{name}.cu")
    if f".entry {entry}" not in ptx:
        raise toolchain.CompileError(f"{name}: entry {entry} missing from the PTX")
    return _VERSION.sub(f".version {ptx_version}", ptx, count=1)
