"""The four TMA tensor maps of the Hopper attention kernel (kernels/hopper_attention.cu).

Q, K, V and O are fp16 [batch, heads, seq, d]; TMA sees each as a 3-D tensor (d, seq,
batch*heads) read in 128-byte-swizzled boxes of 64 columns: Q in boxes of the CTA's query rows,
K and V of the keys per tile, O stored in boxes of one consumer's 64 rows. A box past the end of
a sequence reads zeros (and a store writes nothing there), never the next head's rows.
"""

from __future__ import annotations

import ctypes

from mmabench.hopper.tensor_map import MAP_BYTES, EncodedMap, Tile2D, encode

BOX_COLS = 64          # 128 bytes of fp16: the 128B swizzle's row
O_BOX_ROWS = 64        # one consumer warpgroup's rows


def tiles(var, shape) -> tuple[Tile2D, Tile2D, Tile2D, Tile2D]:
    """What the maps of Q, K, V, O describe for `var` on inputs of `shape` (checks.Shape)."""
    n, d = shape.seq, shape.dim

    def of(box_rows: int) -> Tile2D:
        return Tile2D("f16", n, d, d, box_rows, BOX_COLS, batches=shape.bh, batch_stride=n * d)

    return of(var.tiles.br), of(var.tiles.bc), of(var.tiles.bc), of(O_BOX_ROWS)


class MapSet:
    """Four map buffers at fixed addresses (what the kernel's parameter array points at),
    encoded again only when the tensors change."""

    def __init__(self, var, shape):
        self.tiles = tiles(var, shape)
        for t in self.tiles:
            t.check()                       # a bad shape fails here, before any launch
        self.buffers = [EncodedMap(bytes(MAP_BYTES)) for _ in self.tiles]
        self.addresses = [b.address for b in self.buffers]
        self._pointers = None

    def point_at(self, pointers) -> None:
        """The maps of tensors at `pointers` (q, k, v, out)."""
        pointers = tuple(pointers)
        if pointers == self._pointers:
            return
        for tile, buf, ptr in zip(self.tiles, self.buffers, pointers):
            ctypes.memmove(buf.address, encode(tile, ptr).raw, MAP_BYTES)
        self._pointers = pointers
