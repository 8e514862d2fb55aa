"""Operand tiles in shared memory for wgmma: the byte layouts and the 64-bit matrix descriptor.

Both operands are K-major (A is M x K row-major, B is held as its transpose N x K, row-major):
the only layout FP8 has, and the default (no transpose) for f16/bf16. A tile holds 128 bytes of
K per row (4 K-slices of 32 bytes; one instruction reads one slice: k16 of a 16-bit type or
k32 of FP8). Facts from the PTX ISA ("Shared Memory Matrix Layout", "Matrix Descriptor"):

- A core matrix is 8 rows x 16 bytes, stored as 128 contiguous bytes.
- No swizzle ("interleave"): the leading-dimension byte offset (LBO) steps between core matrices
  adjacent in K, the stride-dimension byte offset (SBO) between core matrices adjacent in M/N.
  Here LBO = 128 (the 8 core matrices of one 8-row group follow each other) and SBO = 1024.
- 128-byte swizzle: each row is 128 bytes and its 16-byte chunk c is stored at chunk
  c XOR (row % 8); 8 rows make a 1024-byte atom (the tile must be 1024-byte aligned);
  SBO = 1024 steps between 8-row groups; LBO is not used for K-major swizzled tiles (field 1).
- Descriptor: bits 0-13 start address >> 4, 16-29 LBO >> 4, 32-45 SBO >> 4, 49-51 base offset,
  62-63 swizzle mode (0 none, 1 128B, 2 64B, 3 32B).
A K-slice s starts at +32*s bytes with the swizzle (the hardware applies the XOR to the full
address) and at +2*LBO*s = 256*s bytes without.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROW_BYTES = 128       # K bytes per tile row
SLICES = 4            # instructions' K-slices per tile row (32 bytes each)
SLICE_BYTES = ROW_BYTES // SLICES
SWIZZLE_MODE = {"none": 0, "128b": 1}


@dataclass(frozen=True)
class TileLayout:
    swizzle: str            # 'none' | '128b'

    @property
    def lbo(self) -> int:
        return 128 if self.swizzle == "none" else 16   # 16 -> field value 1 (unused)

    @property
    def sbo(self) -> int:
        return 1024

    @property
    def slice_step(self) -> int:
        """Bytes from the start of K-slice s to slice s+1."""
        return 2 * self.lbo if self.swizzle == "none" else SLICE_BYTES

    def offsets(self, rows: int) -> np.ndarray:
        """Byte offset in the tile of each (row, K-byte): int array [rows, 128]."""
        if rows % 8:
            raise ValueError(f"a tile has whole 8-row core matrices; got {rows} rows")
        r = np.arange(rows)[:, None]
        b = np.arange(ROW_BYTES)[None, :]
        chunk, within = b // 16, b % 16
        if self.swizzle == "none":
            return (r // 8) * 1024 + chunk * 128 + (r % 8) * 16 + within
        return (r // 8) * 1024 + (r % 8) * 128 + ((chunk ^ (r % 8)) * 16) + within

    def pack(self, row_bytes: np.ndarray) -> np.ndarray:
        """[rows, 128] uint8 (each row's K bytes in order) -> uint8 image of the tile."""
        row_bytes = np.asarray(row_bytes, dtype=np.uint8)
        rows = row_bytes.shape[0]
        image = np.zeros(rows * ROW_BYTES, dtype=np.uint8)
        image[self.offsets(rows)] = row_bytes
        return image

    def unpack(self, image: np.ndarray, rows: int) -> np.ndarray:
        return np.asarray(image, dtype=np.uint8)[self.offsets(rows)]

    def descriptor(self, start: int, base_offset: int = 0) -> int:
        return encode_descriptor(start, self.lbo, self.sbo, SWIZZLE_MODE[self.swizzle], base_offset)

    def descriptor_hi_lo(self) -> tuple[int, int]:
        """The address-free parts: (LBO field << 16) for the low word, the whole high word."""
        d = self.descriptor(0)
        return d & 0xFFFFFFFF, d >> 32


def encode_descriptor(start: int, lbo: int, sbo: int, swizzle_mode: int, base_offset: int = 0) -> int:
    """The 64-bit wgmma matrix descriptor (byte values in, fields >> 4 out)."""
    for what, value in (("start", start), ("LBO", lbo), ("SBO", sbo)):
        if value % 16 or not 0 <= value >> 4 < 1 << 14:
            raise ValueError(f"{what} {value} must be a multiple of 16 below {16 << 14}")
    if not 0 <= swizzle_mode < 4 or not 0 <= base_offset < 8:
        raise ValueError("swizzle mode is 0..3, base offset 0..7")
    return ((start >> 4) | ((lbo >> 4) << 16) | ((sbo >> 4) << 32)
            | (base_offset << 49) | (swizzle_mode << 62))


def decode_descriptor(desc: int) -> dict:
    return {"start": (desc & 0x3FFF) << 4, "lbo": ((desc >> 16) & 0x3FFF) << 4,
            "sbo": ((desc >> 32) & 0x3FFF) << 4, "base_offset": (desc >> 49) & 7,
            "swizzle_mode": (desc >> 62) & 3}
