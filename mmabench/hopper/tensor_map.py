"""TMA tensor maps for the Hopper kernels (kernels/hopper.cuh), made on the host with the CUDA
driver's cuTensorMapEncodeTiled through cuda-bindings.

A map is opaque: what can be checked without a GPU is what the encoder is given, so `Tile2D` is
that, as data, with the rules the driver enforces written out (16-byte-aligned global address and
row stride, a box of at most 256 per dimension, an inner box of at most 128 bytes under the 128B
swizzle). A shape that breaks one is a one-line UserError naming what is accepted, never a
fault on the GPU. `encode` returns the 128 bytes in a 64-byte-aligned buffer, ready to be passed
by value as a `__grid_constant__` kernel parameter.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

from mmabench.core.errors import UserError

# element types the kernels load: name -> (bytes, CUtensorMapDataType member)
ELEMENT_TYPES = {"f16": (2, "CU_TENSOR_MAP_DATA_TYPE_FLOAT16"),
                 "bf16": (2, "CU_TENSOR_MAP_DATA_TYPE_BFLOAT16"),
                 "e4m3": (1, "CU_TENSOR_MAP_DATA_TYPE_UINT8"),
                 "e5m2": (1, "CU_TENSOR_MAP_DATA_TYPE_UINT8")}
SWIZZLE_BYTES = {"none": 0, "32b": 32, "64b": 64, "128b": 128}
MAP_BYTES, MAP_ALIGN = 128, 64
MAX_BOX = 256


@dataclass(frozen=True)
class Tile2D:
    """A row-major 2-D tensor (rows x cols, `row_stride` elements between rows) read in boxes of
    box_rows x box_cols, zero-filled past its end. With `batches`, a 3-D tensor: that many such
    matrices `batch_stride` elements apart, read one matrix per box (a box past the end of one
    matrix's rows reads zeros, never the next matrix: attention's sequence tail)."""
    dtype: str
    rows: int
    cols: int
    row_stride: int
    box_rows: int
    box_cols: int
    swizzle: str = "128b"
    batches: int | None = None
    batch_stride: int = 0

    @property
    def element_bytes(self) -> int:
        return ELEMENT_TYPES[self.dtype][0]

    @property
    def box_bytes(self) -> int:
        return self.box_rows * self.box_cols * self.element_bytes

    def check(self) -> None:
        """UserError naming the rule a shape breaks (what the driver would refuse, or worse)."""
        if self.dtype not in ELEMENT_TYPES:
            raise UserError(f"TMA element type {self.dtype!r}: accepted {', '.join(ELEMENT_TYPES)}")
        if self.swizzle not in SWIZZLE_BYTES:
            raise UserError(f"TMA swizzle {self.swizzle!r}: accepted {', '.join(SWIZZLE_BYTES)}")
        if self.rows < 1 or self.cols < 1 or self.row_stride < self.cols:
            raise UserError(f"TMA tensor {self.rows} x {self.cols} with row stride "
                            f"{self.row_stride}: sizes must be >= 1 and the stride >= the columns")
        per_16_bytes = 16 // self.element_bytes
        if (self.row_stride * self.element_bytes) % 16:
            raise UserError(f"a {self.dtype} row of {self.row_stride} elements is "
                            f"{self.row_stride * self.element_bytes} bytes; TMA needs rows of a "
                            f"multiple of 16 bytes ({per_16_bytes} {self.dtype} elements)")
        if not (1 <= self.box_rows <= MAX_BOX and 1 <= self.box_cols <= MAX_BOX):
            raise UserError(f"TMA box {self.box_rows} x {self.box_cols}: each side 1..{MAX_BOX}")
        inner = self.box_cols * self.element_bytes
        if SWIZZLE_BYTES[self.swizzle] and inner > SWIZZLE_BYTES[self.swizzle]:
            raise UserError(f"TMA box rows of {inner} bytes exceed the {self.swizzle} swizzle's "
                            f"{SWIZZLE_BYTES[self.swizzle]} bytes")
        if inner % 16:
            raise UserError(f"TMA box rows of {inner} bytes: a multiple of 16 bytes is accepted")
        if self.batches is not None:
            if self.batches < 1 or self.batch_stride < self.rows * self.row_stride:
                raise UserError(f"TMA tensor of {self.batches} matrices {self.batch_stride} elements "
                                f"apart: >= 1 matrix, and the stride >= rows x row stride")
            if (self.batch_stride * self.element_bytes) % 16:
                raise UserError(f"TMA needs matrices a multiple of 16 bytes apart, not "
                                f"{self.batch_stride * self.element_bytes}")

    def encoder_args(self) -> dict:
        """cuTensorMapEncodeTiled's arguments but the address and the enum types, innermost
        dimension first; the stride of the innermost dimension is implied and left out."""
        self.check()
        eb = self.element_bytes
        batched = self.batches is not None
        return {"dtype": ELEMENT_TYPES[self.dtype][1], "rank": 3 if batched else 2,
                "global_dims": (self.cols, self.rows) + ((self.batches,) if batched else ()),
                "global_strides_bytes": (self.row_stride * eb,) + ((self.batch_stride * eb,) if batched else ()),
                "box_dims": (self.box_cols, self.box_rows) + ((1,) if batched else ()),
                "element_strides": (1, 1, 1) if batched else (1, 1),
                "interleave": "CU_TENSOR_MAP_INTERLEAVE_NONE",
                "swizzle": f"CU_TENSOR_MAP_SWIZZLE_{self.swizzle.upper()}",
                "l2_promotion": "CU_TENSOR_MAP_L2_PROMOTION_L2_256B",
                "oob_fill": "CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE"}     # NONE: zeros


class EncodedMap:
    """The 128 opaque bytes of one tensor map in a 64-byte-aligned host buffer; `address` is
    what a kernel-parameter array points at for it."""

    def __init__(self, raw: bytes):
        assert len(raw) == MAP_BYTES
        self._buffer = ctypes.create_string_buffer(MAP_BYTES + MAP_ALIGN)
        offset = (-ctypes.addressof(self._buffer)) % MAP_ALIGN
        self.address = ctypes.addressof(self._buffer) + offset
        ctypes.memmove(self.address, raw, MAP_BYTES)

    @property
    def raw(self) -> bytes:
        return ctypes.string_at(self.address, MAP_BYTES)


def _driver():
    try:
        from cuda.bindings import driver
    except ImportError:
        raise UserError("TMA tensor maps need cuda-bindings (NVIDIA's Python bindings of the "
                        "CUDA driver): pip install cuda-bindings") from None
    return driver


def encode(tile: Tile2D, address: int) -> EncodedMap:
    """The tensor map of `tile` whose first element is at device `address`."""
    if address % 16:
        raise UserError(f"TMA needs a 16-byte-aligned tensor; this one starts at {address:#x}")
    args = tile.encoder_args()
    drv = _driver()
    u64, u32 = drv.cuuint64_t, drv.cuuint32_t    # some releases take no plain ints here
    err, tmap = drv.cuTensorMapEncodeTiled(
        getattr(drv.CUtensorMapDataType, args["dtype"]), args["rank"], address,
        [u64(x) for x in args["global_dims"]], [u64(x) for x in args["global_strides_bytes"]],
        [u32(x) for x in args["box_dims"]], [u32(x) for x in args["element_strides"]],
        getattr(drv.CUtensorMapInterleave, args["interleave"]),
        getattr(drv.CUtensorMapSwizzle, args["swizzle"]),
        getattr(drv.CUtensorMapL2promotion, args["l2_promotion"]),
        getattr(drv.CUtensorMapFloatOOBfill, args["oob_fill"]))
    if err != drv.CUresult.CUDA_SUCCESS:
        raise UserError(f"cuTensorMapEncodeTiled refused {tile}: {err.name}")
    return EncodedMap(_map_bytes(tmap))


def _map_bytes(tmap) -> bytes:
    """The 128 bytes of a cuda-bindings CUtensorMap (its `opaque` words)."""
    words = list(tmap.opaque)
    return b"".join(int(w).to_bytes(8, "little") for w in words)
