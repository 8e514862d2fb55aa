"""The code sections of a cubin (an ELF64 file), read without any tool."""

from __future__ import annotations

import hashlib
import struct


def code_sections(cubin: bytes) -> list[tuple[bytes, bytes]] | None:
    """(name, bytes) of each code section (.text.*) of the cubin, in file order; None if it is not
    an ELF64 we can read."""
    try:
        if cubin[:4] != b"\x7fELF" or cubin[4] != 2:
            return None
        shoff = struct.unpack_from("<Q", cubin, 0x28)[0]
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", cubin, 0x3A)
        heads = [struct.unpack_from("<IIQQQQ", cubin, shoff + i * shentsize) for i in range(shnum)]
        names_at = heads[shstrndx][4]
        found = []
        for name_off, _type, _flags, _addr, offset, size in heads:
            start = names_at + name_off
            name = cubin[start:cubin.index(b"\0", start)]
            if name.startswith(b".text."):
                found.append((name, cubin[offset:offset + size]))
        return found
    except (struct.error, ValueError, IndexError):
        return None


def text_digest(cubin: bytes) -> str | None:
    """Hash of the cubin's code sections (.text.*), None if it is not an ELF64 we can read."""
    sections = code_sections(cubin)
    if not sections:
        return None
    digest = hashlib.sha256()
    for name, code in sections:
        digest.update(name + b"\0" + code)
    return digest.hexdigest()[:24]


def code_digest(code: bytes) -> str:
    """Hash of one kernel's code bytes (what equal code means when its section is all there is)."""
    return hashlib.sha256(code).hexdigest()[:24]
