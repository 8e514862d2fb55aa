"""The GPU at hand: whether there is one, its architecture, and loading PTX through the driver.

PTX is JIT-compiled by the driver's own ptxas (cuLink*), and the cubin it produced is kept, so
the SASS that is counted is the SASS that ran.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from .errors import NoGPU


LIBCUDA = "libcuda.so.1"


def libcuda_loadable() -> bool:
    """Whether the NVIDIA driver's user-space library can be loaded at all."""
    import ctypes

    try:
        ctypes.CDLL(LIBCUDA)
        return True
    except OSError:
        return False


@functools.lru_cache(maxsize=None)
def unavailable_reason() -> str | None:
    """None when a CUDA GPU is usable, else one line saying why not."""
    try:
        import cupy
    except Exception as exc:  # pragma: no cover - cupy is a dependency
        return f"CuPy cannot be imported ({exc})"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        msg = str(exc).split("\n")[0]
        if "cudaErrorNoDevice" in msg:
            return "no CUDA GPU found (the NVIDIA driver sees no device)"
        if "cudaErrorInsufficientDriver" in msg:
            if not libcuda_loadable():
                return f"no NVIDIA driver found ({LIBCUDA} cannot be loaded)"
            return ("the NVIDIA driver is older than CuPy's CUDA runtime "
                    "(cudaErrorInsufficientDriver): update the driver, or for a CUDA 12 driver "
                    "pip uninstall -y cupy-cuda13x && pip install cupy-cuda12x")
        if not libcuda_loadable():
            return f"no NVIDIA driver found ({LIBCUDA} cannot be loaded; {msg})"
        return f"no usable CUDA GPU ({msg})"
    return None if count > 0 else "no CUDA GPU found (the NVIDIA driver sees no device)"


def require_gpu() -> None:
    reason = unavailable_reason()
    if reason:
        raise NoGPU(f"this needs a CUDA GPU: {reason}. Without one: mma --offline, "
                    "attention --offline, arith --offline, regs")


def device_arch(device: int = 0) -> str:
    """'sm_90' style target of the current GPU."""
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(device)
    return f"sm_{props['major']}{props['minor']}"


def sm_count(device: int = 0) -> int:
    import cupy

    return int(cupy.cuda.runtime.getDeviceProperties(device)["multiProcessorCount"])


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


def ptx_key(ptx: str) -> str:
    return hashlib.sha256(ptx.encode()).hexdigest()[:12]
