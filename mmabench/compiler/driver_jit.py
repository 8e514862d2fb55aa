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


@dataclass
class Built:
    """Rendered PTX of one instruction form loaded through the driver, the SASS it became, and how
    many of the form's instructions one loop trip holds (read from that SASS). Families add the
    launch parameters they render with."""
    form: object
    ptx: str
    kernel: JitKernel
    sass: str
    per_trip: int

    @property
    def num_regs(self) -> int:
        from cupy_backends.cuda.api import driver
        return driver.funcGetAttribute(4, self.kernel.function.ptr)  # CU_FUNC_ATTRIBUTE_NUM_REGS

    def max_blocks_per_sm(self, threads: int) -> int:
        from cupy_backends.cuda.api import driver
        return driver.occupancyMaxActiveBlocksPerMultiprocessor(self.kernel.function.ptr, threads, 0)


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
