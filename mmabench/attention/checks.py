"""Host-side input checks for the attention kernel, run before anything is launched.

Accepts CuPy/NumPy arrays and torch tensors alike (duck-typed). Every failure is a UserError
naming what was wrong and what is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmabench.core.errors import UserError
from mmabench.attention.variants import DIMS, Tiles

GRID_Y_MAX = 65535          # row blocks go on grid.y
GRID_X_MAX = 2 ** 31 - 1    # batch * heads go on grid.x
ELEMENT_BYTES = 2           # fp16
ALIGN_BYTES = 16            # cp.async / st.global.v4 move 16-byte chunks: the base must be 16-aligned


@dataclass(frozen=True)
class Shape:
    batch: int
    heads: int
    seq: int
    dim: int

    @property
    def bh(self) -> int:
        return self.batch * self.heads

    def tensor_bytes(self) -> int:
        return self.batch * self.heads * self.seq * self.dim * ELEMENT_BYTES

    def flops(self, causal: bool) -> float:
        """4 * B * H * N^2 * d (two matmuls), half of it for causal attention."""
        f = 4.0 * self.batch * self.heads * self.seq * self.seq * self.dim
        return f / 2 if causal else f


def _dtype_name(x) -> str:
    dt = getattr(x, "dtype", None)
    return str(dt).replace("torch.", "")


def _is_contiguous(x) -> bool:
    if hasattr(x, "is_contiguous") and callable(x.is_contiguous):   # torch
        return bool(x.is_contiguous())
    flags = getattr(x, "flags", None)
    if flags is not None:
        return bool(flags["C_CONTIGUOUS"] if not hasattr(flags, "c_contiguous") else flags.c_contiguous)
    return False


def data_pointer(x) -> int | None:
    """Address of the first element: torch `data_ptr()`, CuPy `.data.ptr`, the CUDA or NumPy
    array interface; None for an object that says none of these."""
    if callable(getattr(x, "data_ptr", None)):                        # torch
        return int(x.data_ptr())
    ptr = getattr(getattr(x, "data", None), "ptr", None)               # CuPy
    if isinstance(ptr, int):
        return ptr
    for attr in ("__cuda_array_interface__", "__array_interface__"):
        iface = getattr(x, attr, None)
        if isinstance(iface, dict) and iface.get("data"):
            return int(iface["data"][0])
    return None


def check_alignment(name: str, x) -> None:
    """The kernel reads and writes 16-byte chunks: a base that is not 16-byte aligned (a view
    such as base[1:1 + n].view(B, H, N, d), contiguous but 2 bytes off) faults on the GPU and
    loses the process's CUDA context, so it is refused here, before any launch. Rows are
    d * 2 bytes (a multiple of 16 for every built d), so an aligned base aligns every row."""
    ptr = data_pointer(x)
    if ptr is not None and ptr % ALIGN_BYTES:
        raise UserError(f"{name} starts {ptr % ALIGN_BYTES} bytes past a {ALIGN_BYTES}-byte boundary "
                        f"(address {ptr:#x}); accepted: a {ALIGN_BYTES}-byte aligned base "
                        "(a fresh array, or .copy() / .clone() of the view)")


def check_shape(batch: int, heads: int, seq: int, dim: int, dims=DIMS) -> Shape:
    """A shape the kernel can run: positive sizes, a built head dim."""
    for name, value in (("batch", batch), ("heads", heads), ("sequence length", seq)):
        if not isinstance(value, int) or value < 1:
            raise UserError(f"{name} must be a positive integer, got {value!r}"
                            + ("; attention needs at least one key (N >= 1)" if name.startswith("seq") else ""))
    if dim not in dims:
        raise UserError(f"head dim {dim} not supported; the kernel is built for "
                        f"{', '.join(map(str, dims))}")
    if batch * heads > GRID_X_MAX:
        raise UserError(f"batch*heads = {batch * heads} exceeds the grid limit {GRID_X_MAX}")
    return Shape(batch, heads, seq, dim)


def check_tensors(q, k, v, out=None, dims=DIMS) -> Shape:
    """Q, K, V (and an optional output) as the kernel needs them; returns the shape."""
    named = [("q", q), ("k", k), ("v", v)] + ([("out", out)] if out is not None else [])
    for name, x in named:
        if x is None or not hasattr(x, "shape"):
            raise UserError(f"{name} is not an array/tensor")
        if _dtype_name(x) != "float16":
            raise UserError(f"{name} has dtype {_dtype_name(x)}; accepted: float16 "
                            "(fp16 inputs are what mma.sync can accumulate in fp16)")
        if len(x.shape) != 4:
            raise UserError(f"{name} has shape {tuple(x.shape)}; accepted: 4-D "
                            "[batch, heads, seq, dim]")
    shapes = {name: tuple(int(s) for s in x.shape) for name, x in named}
    if len(set(shapes.values())) != 1:
        raise UserError("q, k, v" + (", out" if out is not None else "") +
                        " must have the same shape [batch, heads, seq, dim]; got "
                        + ", ".join(f"{n}={s}" for n, s in shapes.items()))
    for name, x in named:
        if not _is_contiguous(x):
            raise UserError(f"{name} is not contiguous; accepted: contiguous [batch, heads, seq, dim] "
                            "(call .contiguous() / cupy.ascontiguousarray first)")
        check_alignment(name, x)
    b, h, n, d = shapes["q"]
    if n == 0:
        raise UserError("sequence length is 0; attention needs at least one key (N >= 1)")
    return check_shape(b, h, n, d, dims)


def check_grid(shape: Shape, tiles: Tiles) -> tuple[int, int]:
    """Launch grid (batch*heads, row blocks) or a UserError if it exceeds the limits."""
    rows = -(-shape.seq // tiles.br)
    if rows > GRID_Y_MAX:
        raise UserError(f"sequence length {shape.seq} needs {rows} row blocks of {tiles.br}; "
                        f"the grid allows {GRID_Y_MAX} (N <= {GRID_Y_MAX * tiles.br})")
    return shape.bh, rows


def check_memory(shape: Shape, free_bytes: int, tensors: int = 4, extra_bytes: int = 0) -> None:
    """`tensors` fp16 tensors of `shape` (q, k, v, out) must fit in `free_bytes`."""
    need = tensors * shape.tensor_bytes() + extra_bytes
    if need > free_bytes:
        raise UserError(f"shape [B={shape.batch}, H={shape.heads}, N={shape.seq}, d={shape.dim}] "
                        f"needs {need / 2**30:.2f} GiB for {tensors} fp16 tensors; "
                        f"{free_bytes / 2**30:.2f} GiB of GPU memory is free")
