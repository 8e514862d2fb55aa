"""SASS of a cubin for the report: disassembly de-duplicated across builds, and the SASS columns.

The disassembly itself is toolchain.disassemble_with_tool (the one path: nvdisasm -c -ndf,
cached, cuobjdump as the fallback). nvdisasm costs 0.2-0.35 s per cubin whatever its size, more
than ptxas for most kernels, so builds whose code sections are byte-identical (sm_86 and sm_89
usually are) are disassembled once; the second copy says so in its first line.
"""

from __future__ import annotations

import hashlib
import re
import struct
import threading
from collections import Counter

from mmabench import hardware
from mmabench.compiler import sass, toolchain

# Base opcodes counted in their own columns (the whole histogram goes to CSV/JSON).
KEY_OPCODES = ("LDL", "STL", "LDS", "STS", "LDSM", "LDG", "STG", "MUFU", "FFMA", "HFMA2", "BAR")
# HFMA2 with a zero product (`HFMA2.MMA R3, -RZ, RZ, 0, c`) is how ptxas materialises a
# constant: a move, not half-precision arithmetic. It stays in the histogram, not in the column.
_HFMA2_MOVE = re.compile(r"^[^,]+,\s*-?RZ\s*,\s*-?RZ\s*,")


def text_digest(cubin: bytes) -> str | None:
    """Hash of the cubin's code sections (.text.*), None if it is not an ELF64 we can read."""
    try:
        if cubin[:4] != b"\x7fELF" or cubin[4] != 2:
            return None
        shoff = struct.unpack_from("<Q", cubin, 0x28)[0]
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", cubin, 0x3A)
        heads = [struct.unpack_from("<IIQQQQ", cubin, shoff + i * shentsize) for i in range(shnum)]
        names_at = heads[shstrndx][4]
        digest = hashlib.sha256()
        found = False
        for name_off, _type, _flags, _addr, offset, size in heads:
            start = names_at + name_off
            name = cubin[start:cubin.index(b"\0", start)]
            if name.startswith(b".text."):
                digest.update(name + b"\0" + cubin[offset:offset + size])
                found = True
        return digest.hexdigest()[:24] if found else None
    except (struct.error, ValueError, IndexError):
        return None


class Disassembler:
    """toolchain.disassemble_with_tool for one report run, sharing the work between builds with
    identical code."""

    def __init__(self):
        self._lock = threading.Lock()
        self._keys: dict[tuple, threading.Lock] = {}
        self._done: dict[tuple, tuple[str, str, str]] = {}

    def __call__(self, cubin: bytes, target: str) -> tuple[str, str]:
        digest = text_digest(cubin)
        if digest is None:
            return toolchain.disassemble_with_tool(cubin)
        key = (hardware.arch_number(target) // 10, digest)     # same major architecture, same bytes
        with self._lock:
            key_lock = self._keys.setdefault(key, threading.Lock())
        with key_lock:
            if key in self._done:
                text, tool, first = self._done[key]
                if first != target:
                    return (f"// {target}: code sections byte-identical to the {first} build; "
                            f"its SASS follows\n{text}", tool)
                return text, tool
            text, tool = toolchain.disassemble_with_tool(cubin)
            self._done[key] = (text, tool, target)
            return text, tool


def sass_columns(sass_text: str, entry: str) -> tuple[Counter, dict]:
    """The full-opcode histogram of the entry (and the device functions it may call) and the
    report's SASS columns: n_<OPCODE> per base opcode of KEY_OPCODES (n_HFMA2: the arithmetic
    ones only), and the tensor ops."""
    mine = sass.instructions(sass_text, entry)
    hist = Counter(i.opcode for i in mine)
    base = Counter(i.base for i in mine)
    out = {f"n_{op}": base.get(op, 0) for op in KEY_OPCODES}
    out["n_HFMA2"] = sum(1 for i in mine if i.base == "HFMA2" and not _HFMA2_MOVE.match(i.operands))
    tensor = sass.tensor_ops(hist)
    out["tensor_ops"] = sass.counts_text(tensor)
    out["n_tensor"] = sum(tensor.values())
    return hist, out
