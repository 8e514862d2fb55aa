"""Running the kernel on GPU arrays: checks first, then one launch.

`attention(q, k, v, causal=..., variant=...)` is the public entry; `Launcher` pre-binds the
arguments of a launch so the timing loop measures the kernel, not Python.
"""

from __future__ import annotations

import math

from mmabench.core.errors import UserError
from mmabench.attention import build, checks, hopper_maps, variants
from mmabench.attention.reference import default_scale

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


def _grid_and_scale(shape: checks.Shape, var: variants.Variant, scale: float | None):
    """The launch grid and the softmax scale for `var` on inputs of `shape`, or a UserError."""
    if shape.dim != var.dim:
        raise UserError(f"variant {var.name} is built for d={var.dim}, inputs have d={shape.dim}")
    grid = checks.check_grid(shape, var.tiles)
    if var.kernel == "hopper":
        # row blocks on x: the CTAs running together share one head's K and V in L2
        if shape.bh > checks.GRID_Y_MAX:
            raise UserError(f"batch x heads = {shape.bh}: the Hopper kernel takes at most "
                            f"{checks.GRID_Y_MAX}")
        grid = (grid[1], grid[0])
    scale = default_scale(shape.dim) if scale is None else float(scale)
    if not math.isfinite(scale) or scale <= 0:
        raise UserError(f"softmax scale must be a positive finite number, got {scale}")
    return grid, scale


class Launcher:
    """One variant bound to one set of CuPy tensors: call it to enqueue the kernel on CuPy's
    current stream (a Plan with its tensors fixed)."""

    def __init__(self, loaded: build.Loaded, q, k, v, out, causal: bool, scale: float | None = None):
        shape = checks.check_tensors(q, k, v, out)
        self.shape, self.loaded, self.causal = shape, loaded, bool(causal)
        grid, self.scale = _grid_and_scale(shape, loaded.variant, scale)
        self.out = out
        self._plan = Plan(loaded, shape, grid, self.causal, self.scale, False, None)
        self._tensors = (q, k, v, out)

    def __call__(self):
        self._plan(*self._tensors)


def _signature(x):
    """What a launch plan depends on, cheaply: shape, strides, dtype, device (not the pointer)."""
    if isinstance(x, _cupy().ndarray):
        return (x.shape, x.strides, x.dtype.char, x.device.id)
    return (x.shape, x.stride(), x.dtype, x.get_device())


def _pointer(x) -> int:
    return x.data.ptr if isinstance(x, _cupy().ndarray) else x.data_ptr()


_CUPY = None


def _cupy():
    global _CUPY
    if _CUPY is None:
        import cupy
        _CUPY = cupy
    return _CUPY


class Plan:
    """A checked launch of one variant for one kind of input (shape, strides, dtype, device,
    options). The kernel parameters are packed once (ctypes); a call writes the four tensor
    pointers, checks their alignment and issues one cuLaunchKernel on the current stream, so a
    repeated call costs microseconds of host time. It holds no reference to any tensor.

    The Hopper kernel takes four TMA tensor maps instead of pointers: a call with other tensors
    than the last encodes them again (cuTensorMapEncodeTiled, on the host) into the same buffers."""

    def __init__(self, loaded: build.Loaded, shape: checks.Shape, grid, causal: bool,
                 scale: float, is_torch: bool, device):
        import ctypes

        var = loaded.variant
        self.fn = loaded.function.ptr
        self.grid, self.threads = grid, var.tiles.threads
        self.smem = var.tiles.smem_bytes(var.dim)
        self.dims = (shape.batch, shape.heads, shape.seq, shape.dim)
        self.is_torch, self.device = is_torch, device
        scalars = [ctypes.c_int32(shape.seq), ctypes.c_int32(int(causal)), ctypes.c_float(scale * LOG2E)]
        self.maps = hopper_maps.MapSet(var, shape) if var.kernel == "hopper" else None
        if self.maps is None:
            self.values = [ctypes.c_uint64(0) for _ in range(4)] + scalars
            addresses = [ctypes.addressof(v) for v in self.values]
        else:
            self.values = scalars
            addresses = self.maps.addresses + [ctypes.addressof(v) for v in scalars]
        self.params = (ctypes.c_void_p * len(addresses))(*addresses)
        self.params_ptr = ctypes.addressof(self.params)
        if is_torch:
            import torch
            self.torch = torch
            self.device_index = device.index if device.index is not None else torch.cuda.current_device()
            # the raw stream handle without building a Stream object (what Triton's launcher uses)
            raw = getattr(torch._C, "_cuda_getCurrentRawStream", None)
            self._torch_stream = raw or (lambda i: torch.cuda.current_stream(i).cuda_stream)

    def __call__(self, q, k, v, out=None):
        from cupy_backends.cuda.api import driver

        if out is None:   # q is a contiguous fp16 tensor of the output's shape (checked)
            out = self.torch.empty_like(q) if self.is_torch else _cupy().empty_like(q)
        pointers = (_pointer(q), _pointer(k), _pointer(v), _pointer(out))
        if (pointers[0] | pointers[1] | pointers[2] | pointers[3]) % checks.ALIGN_BYTES:
            for name, x in zip(("q", "k", "v", "out"), (q, k, v, out)):
                checks.check_alignment(name, x)      # raises, naming the misaligned one
        if self.maps is not None:
            self.maps.point_at(pointers)
        else:
            for slot, p in zip(self.values, pointers):
                slot.value = p
        if self.is_torch:
            stream = self._torch_stream(self.device_index)
        else:
            stream = _cupy().cuda.get_current_stream().ptr
        driver.launchKernel(self.fn, self.grid[0], self.grid[1], 1, self.threads, 1, 1,
                            self.smem, stream, self.params_ptr, 0)
        return out


_PLANS: dict = {}
MAX_PLANS = 64


ATTENTION_KERNELS = ("auto", "hopper", "fa2")


def default_variant(dim: int, acc_s: str, acc_o: str, norm: str, kernel: str = "auto",
                    gpu_arch: str | None = None) -> variants.Variant:
    """The variant attention() runs: on sm_90 (kernel 'auto') the Hopper kernel where it has the
    scheme (S=f32 or f16q), else the FA2-class kernel; 'hopper' or 'fa2' to choose."""
    if kernel not in ATTENTION_KERNELS:
        raise UserError(f"kernel {kernel!r}; accepted: {', '.join(ATTENTION_KERNELS)}")
    hopper = kernel == "hopper" or (kernel == "auto" and gpu_arch == "sm_90"
                                    and acc_s in variants.HOPPER_S_MODES)
    if hopper:
        return variants.hopper_variant(dim, acc_s, acc_o, norm)
    return variants.variant(dim, acc_s, acc_o, norm)


def _plan(q, k, v, out, causal, scale, acc_s, acc_o, norm, variant, kernel="auto") -> Plan:
    """Every check, once per kind of input: dtype, layout, shapes, head dim, grid, memory;
    then the kernel (compiled once per variant)."""
    import cupy

    from mmabench import hardware

    hardware.require_gpu()
    is_torch = type(q).__module__.startswith("torch")
    shape = checks.check_tensors(q, k, v, out)
    if len({type(x) for x in (q, k, v) + ((out,) if out is not None else ())}) != 1:
        raise UserError("q, k, v (and out) must all be CuPy arrays or all torch tensors")
    for x in (q, k, v) + ((out,) if out is not None else ()):
        as_cupy(x)          # on the GPU, CuPy or torch
    var = variant or build.fit_to_gpu(default_variant(shape.dim, acc_s, acc_o, norm, kernel,
                                                      hardware.device_arch()))
    grid, scale = _grid_and_scale(shape, var, scale)
    if out is None:
        free, _ = cupy.cuda.runtime.memGetInfo()
        checks.check_memory(shape, free, tensors=1)
    return Plan(build.load(var), shape, grid, causal, scale, is_torch,
                q.device if is_torch else None)


def attention(q, k, v, causal: bool = False, scale: float | None = None, *,
              acc_s: str = "f32", acc_o: str = "f32", norm: str = "delayed",
              variant: variants.Variant | None = None, kernel: str = "auto", out=None):
    """Fused attention forward on fp16 [batch, heads, seq, dim] CuPy arrays or torch tensors.

    Inputs are checked (dtype, layout, shapes, head dim, N >= 1, memory) once per kind of input
    and options; the checked plan is cached, and each call checks only the pointers' alignment
    before it launches, so a repeated call costs a few microseconds of host time. Runs on the
    current stream (torch's for torch tensors). Returns the output (a torch tensor when q is one).

    `kernel`: 'auto' runs the Hopper kernel (TMA, warp-specialized wgmma) on an sm_90 GPU for
    S=f32 or f16q, the FA2-class mma.sync kernel otherwise; 'hopper' or 'fa2' to choose.
    """
    try:
        key = (_signature(q), _signature(k), _signature(v),
               None if out is None else _signature(out),
               bool(causal), scale, acc_s, acc_o, norm, variant, kernel)
    except Exception:       # not arrays at all: the checks in _plan say what was wrong
        key = None
    plan = _PLANS.get(key) if key is not None else None
    if plan is None:
        plan = _plan(q, k, v, out, bool(causal), scale, acc_s, acc_o, norm, variant, kernel)
        if key is not None:
            if len(_PLANS) >= MAX_PLANS:
                _PLANS.pop(next(iter(_PLANS)))
            _PLANS[key] = plan
    return plan(q, k, v, out)
