"""Loading PTX through the driver: the driver's own ptxas JIT-compiles it (cuLink*), and the cubin
it produced is kept, so the SASS that is counted is the SASS that ran."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from mmabench.hardware import require_gpu


@dataclass
class JitKernel:
    function: object      # cupy.cuda.function.Function
    cubin: bytes          # what the driver's JIT produced (disassemble to count)
    module: object


@functools.lru_cache(maxsize=256)
def _jit(ptx: str, entry: str) -> JitKernel:
    import cupy  # noqa: F401  (initializes CuPy's CUDA modules in the right order)
    from cupy.cuda import function

    link = function.LinkState()
    link.add_ptr_data(ptx.encode() + b"\0", "mmabench.ptx")  # PTX must be NUL-terminated
    cubin = bytes(link.complete())
    module = function.Module()
    module.load(cubin)
    return JitKernel(module.get_function(entry), cubin, module)


def jit(ptx: str, entry: str) -> JitKernel:
    """JIT `ptx` with the driver and return the entry function and its cubin (cached)."""
    require_gpu()
    return _jit(ptx, entry)
