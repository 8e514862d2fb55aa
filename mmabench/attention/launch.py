"""Running the kernel on GPU arrays: checks first, then one launch.

`attention(q, k, v, causal=..., variant=...)` is the public entry; `Launcher` pre-binds the
arguments of a launch so the timing loop measures the kernel, not Python.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import UserError
from . import build, checks, variants
from .reference import default_scale

LOG2E = 1.4426950408889634


def as_cupy(x):
    """A CuPy view of a CuPy array or a CUDA torch tensor (zero copy)."""
    import cupy

    if isinstance(x, cupy.ndarray):
        return x
    if type(x).__module__.startswith("torch"):
        if not x.is_cuda:
            raise UserError("torch tensor is on the CPU; the kernel needs CUDA tensors")
        return cupy.asarray(x)
    raise UserError(f"expected a CuPy array or a CUDA torch tensor, got {type(x).__name__}")


class Launcher:
    """One variant bound to one set of tensors: call it to enqueue the kernel."""

    def __init__(self, loaded: build.Loaded, q, k, v, out, causal: bool, scale: float | None = None):
        shape = checks.check_tensors(q, k, v, out)
        var = loaded.variant
        if shape.dim != var.dim:
            raise UserError(f"variant {var.name} is built for d={var.dim}, inputs have d={shape.dim}")
        self.shape, self.loaded, self.causal = shape, loaded, bool(causal)
        self.grid = checks.check_grid(shape, var.tiles)
        scale = default_scale(shape.dim) if scale is None else float(scale)
        if not math.isfinite(scale) or scale <= 0:
            raise UserError(f"softmax scale must be a positive finite number, got {scale}")
        self.scale = scale
        self.out = out
        self.args = (q, k, v, out, np.int32(shape.seq), np.int32(int(causal)),
                     np.float32(scale * LOG2E))
        self.block = (var.tiles.threads,)
        self.smem = var.tiles.smem_bytes(var.dim)

    def __call__(self):
        self.loaded.function(self.grid, self.block, self.args, shared_mem=self.smem)


def attention(q, k, v, causal: bool = False, scale: float | None = None, *,
              acc_s: str = "f32", acc_o: str = "f32", norm: str = "delayed",
              variant: variants.Variant | None = None, out=None):
    """Fused attention forward on fp16 [batch, heads, seq, dim] CuPy arrays or torch tensors.

    Inputs are checked (dtype, layout, shapes, head dim, N >= 1, memory) before any launch.
    Returns the output (a CuPy array, or a torch tensor when q is one).
    """
    import cupy

    from .. import gpu

    gpu.require_gpu()
    is_torch = type(q).__module__.startswith("torch")
    shape = checks.check_tensors(q, k, v, out)
    var = variant or build.fit_to_gpu(variants.variant(shape.dim, acc_s, acc_o, norm))
    checks.check_grid(shape, var.tiles)
    cq, ck, cv = (as_cupy(x) for x in (q, k, v))
    if out is None:
        free, _ = cupy.cuda.runtime.memGetInfo()
        checks.check_memory(shape, free, tensors=1)
        out_c = cupy.empty(cq.shape, dtype=cupy.float16)
    else:
        out_c = as_cupy(out)
    Launcher(build.load(var), cq, ck, cv, out_c, causal, scale)()
    if is_torch and out is None:
        import torch
        return torch.as_tensor(out_c, device="cuda")
    return out if out is not None else out_c
