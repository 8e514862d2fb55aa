"""Loading a kernel on the GPU at hand, and what the driver then says about it.

`load` JIT-compiles the PTX with the driver (driver_jit: the cubin it made is kept, so the SASS
that is counted is the SASS that runs); a driver that refuses it (too old for the PTX, or a JIT
failure) gets ptxas's cubin for the GPU's architecture instead. `load_cubin` loads a cubin as is
(the cross-check of the offline report). Either way the block's dynamic shared memory is enabled
and the loaded function's registers, local memory and occupancy are read back from the driver.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmabench import hardware
from mmabench.compiler import driver_jit, toolchain
from mmabench.core.errors import UserError

WARP = 32


@dataclass(frozen=True)
class Loaded:
    """A kernel loaded on the GPU, with the driver's figures for one launch shape."""
    function: object           # cupy.cuda.function.Function
    module: object             # keeps `function` alive
    cubin: bytes               # the code that runs (for SASS provenance)
    how: str                   # 'driver-jit', 'ptxas <version>' or 'cubin'
    ptx: str                   # the PTX it came from ('' for a cubin loaded as is)
    threads: int               # the launch shape the occupancy is for
    dynamic_smem_bytes: int
    registers: int             # per thread, as the loaded function reports
    local_bytes: int           # local memory per thread (spills + stack)
    static_smem_bytes: int
    max_blocks_per_sm: int     # resident blocks at this launch shape
    max_warps_per_sm: int      # of the GPU (device attribute, not assumed)
    variant: object = None     # the family's description of the kernel, for the caller

    @property
    def occupancy_pct(self) -> float:
        """Resident warps of this launch shape as a percentage of the GPU's maximum."""
        return 100.0 * self.max_blocks_per_sm * -(-self.threads // WARP) / self.max_warps_per_sm


@dataclass
class Built:
    """Rendered PTX of one instruction form JIT-compiled by the driver, the SASS it became, and
    how many of the form's instructions one loop trip holds (read from that SASS). Families add
    the launch parameters they render with."""
    form: object
    ptx: str
    kernel: driver_jit.JitKernel
    sass: str
    per_trip: int

    @property
    def num_regs(self) -> int:
        return function_attributes(self.kernel.function)["registers"]

    def max_blocks_per_sm(self, threads: int) -> int:
        return blocks_per_sm(self.kernel.function, threads)


def smem_optin() -> int:
    """Shared memory one block may have on the current GPU (opt-in maximum), in bytes."""
    import cupy

    rt = cupy.cuda.runtime
    return rt.deviceGetAttribute(rt.cudaDevAttrMaxSharedMemoryPerBlockOptin, cupy.cuda.Device().id)


def max_warps_per_sm() -> int:
    """Resident warps per SM on the current GPU (64 on sm_80/90/100, 48 on sm_86/89/120)."""
    import cupy

    rt = cupy.cuda.runtime
    return rt.deviceGetAttribute(rt.cudaDevAttrMaxThreadsPerMultiProcessor, cupy.cuda.Device().id) // WARP


def function_attributes(function) -> dict:
    """Registers, local memory and static shared memory of a loaded function."""
    from cupy_backends.cuda.api import driver

    def get(attr):
        return driver.funcGetAttribute(attr, function.ptr)
    return {"registers": get(driver.CU_FUNC_ATTRIBUTE_NUM_REGS),
            "local_bytes": get(driver.CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES),
            "static_smem_bytes": get(driver.CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES)}


def blocks_per_sm(function, threads: int, dynamic_smem_bytes: int = 0) -> int:
    """Resident blocks of `threads` threads per SM, as the driver computes it."""
    from cupy_backends.cuda.api import driver

    return driver.occupancyMaxActiveBlocksPerMultiprocessor(function.ptr, threads, dynamic_smem_bytes)


def _module(cubin: bytes):
    import cupy
    from cupy.cuda import function

    cupy.zeros(1, dtype=cupy.int8)   # the device's primary context current for the driver API
    module = function.Module()
    module.load(cubin)
    return module


def _read_back(module, function, cubin: bytes, how: str, ptx: str, threads: int, smem: int,
               carveout: int | None, variant) -> Loaded:
    from cupy_backends.cuda.api import driver

    driver.funcSetAttribute(function.ptr, driver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem)
    if carveout is not None:
        driver.funcSetAttribute(function.ptr, driver.CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT,
                                carveout)
    return Loaded(function, module, cubin, how, ptx, threads, smem, **function_attributes(function),
                  max_blocks_per_sm=blocks_per_sm(function, threads, smem),
                  max_warps_per_sm=max_warps_per_sm(), variant=variant)


def load(ptx: str, entry: str, threads: int, dynamic_smem_bytes: int = 0, *,
         arch: str | None = None, carveout: int | None = None, name: str | None = None,
         variant=None, prefer_ptxas: bool = False) -> Loaded:
    """`entry` of `ptx` on the current GPU: the driver's JIT, else ptxas for `arch` (default:
    the GPU's). `carveout`: the preferred shared-memory carve-out in percent (default: the
    driver's choice). UserError if the block needs more shared memory than the GPU allows.

    `prefer_ptxas`: the toolchain's ptxas first, the driver's JIT only without one. For kernels
    that raise their register limit with setmaxnreg: the driver's JIT (580.x, measured on an
    H200) allocates them at the launch-time limit and spills (the Hopper attention kernel:
    168-568 B of local memory per thread, 1.6-3x slower), where ptxas 13.0 spills nothing."""
    name = name or entry
    hardware.require_gpu()
    optin = smem_optin()
    if dynamic_smem_bytes > optin:
        raise UserError(f"{name} needs {dynamic_smem_bytes} B of shared memory per block; "
                        f"this GPU allows {optin}")

    def by_jit():
        jk = driver_jit.jit(ptx, entry)
        return jk.module, jk.function, jk.cubin, "driver-jit"

    def by_ptxas():
        asm = toolchain.assemble(ptx, arch or hardware.device_arch())
        module = _module(asm.cubin)
        return module, module.get_function(entry), asm.cubin, f"ptxas {toolchain.tool_version('ptxas')}"

    first, second = (by_ptxas, by_jit) if prefer_ptxas else (by_jit, by_ptxas)
    try:
        module, function, cubin, how = first()
    except Exception as exc:  # no ptxas, or a driver too old for the PTX: the other way
        try:
            module, function, cubin, how = second()
        except Exception:
            raise toolchain.CompileError(f"{name}: {first.__name__[3:]} failed ({exc}) and "
                                         f"{second.__name__[3:]} too") from None
    return _read_back(module, function, cubin, how, ptx, threads, dynamic_smem_bytes, carveout, variant)


def load_cubin(cubin: bytes, entry: str, threads: int, dynamic_smem_bytes: int = 0) -> Loaded:
    """`entry` of a cubin (ptxas's, offline) loaded as is on the current GPU."""
    hardware.require_gpu()
    module = _module(cubin)
    return _read_back(module, module.get_function(entry), cubin, "cubin", "", threads,
                      dynamic_smem_bytes, None, None)
