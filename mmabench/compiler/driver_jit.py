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


def warm(build, jobs) -> None:
    """Call `build(job)` for every job at once, in threads on the current GPU, to fill the caches
    (NVRTC, the driver's JIT, the disassembly cache) that a run's own builds then read in order:
    NVRTC, cuLink and nvdisasm run outside the GIL, so a cold run compiles in parallel. A failure
    is ignored here; it surfaces again, with its row, when the run builds that job."""
    import cupy

    from mmabench.core import workers

    device = cupy.cuda.Device().id

    def one(job):
        cupy.cuda.Device(device).use()       # each worker thread binds the run's GPU
        try:
            build(job)
        except Exception:       # noqa: BLE001 - reported by the run's own build of it
            pass

    with workers.pool(8) as pool:        # Ctrl-C: queued builds cancelled, tools killed
        list(pool.map(one, jobs))
