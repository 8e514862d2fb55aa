"""The hardware: the GPU at hand (is there one, which architecture), the per-architecture limits
(data/archs.csv) and the datasheet facts of each GPU (data/gpus.csv).

Datasheet figures are labelled as such wherever they appear and never fill a measured column; a
GPU with no datasheet row still runs, its peak columns empty.
"""

from __future__ import annotations

import csv
import functools
import re

from mmabench.core import project_files
from mmabench.core.errors import NoGPU, UserError, items

ARCHS_CSV = project_files.data("archs.csv")
GPUS_CSV = project_files.data("gpus.csv")

# The default set for offline reports: Ampere to Blackwell.
DEFAULT_ARCHS = ("sm_80", "sm_86", "sm_89", "sm_90", "sm_100", "sm_120")

# ---------------------------------------------------------------- the GPU at hand

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
        raise NoGPU(f"this needs a CUDA GPU: {reason}. Without one: info, regs, compare, report, "
                    "plot, bundle, and mma, wgmma, softmax, gemm, attention, arith with --offline")


def device_arch(device: int = 0) -> str:
    """'sm_90' style target of the current GPU."""
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(device)
    return f"sm_{props['major']}{props['minor']}"


def sm_count(device: int = 0) -> int:
    import cupy

    return int(cupy.cuda.runtime.getDeviceProperties(device)["multiProcessorCount"])


# ---------------------------------------------------------------- architectures (data/archs.csv)

@functools.lru_cache(maxsize=1)
def arch_limits() -> dict[str, dict]:
    with open(ARCHS_CSV, newline="") as fh:
        return {row["arch"]: row for row in csv.DictReader(fh)}


def known_archs() -> list[str]:
    return list(arch_limits())


def parse_archs(text: str | None, default=DEFAULT_ARCHS) -> list[str]:
    """'sm_80,sm_90' (or '80,90') -> validated arch list; UserError naming the accepted ones."""
    if text is None:
        return list(default)
    out = []
    for item in items(text, "architecture", ", ".join(known_archs())):
        arch = item if item.startswith("sm_") else f"sm_{item}"
        if arch not in arch_limits():
            raise UserError(f"unknown architecture {item!r}; accepted: {', '.join(known_archs())}")
        out.append(arch)
    return out


def arch_row(arch: str) -> dict:
    """The data/archs.csv row of `arch`; UserError naming the known ones if it has none."""
    table = arch_limits()
    if arch not in table:
        raise UserError(f"no per-SM limits for {arch} in data/archs.csv; known: {', '.join(known_archs())}")
    return table[arch]


def arch_limit(arch: str, column: str) -> int:
    """One integer column of `arch`'s row (e.g. 'max_warps_per_sm', 'registers_per_sm')."""
    return int(float(arch_row(arch)[column]))


def smem_per_block(arch: str) -> int:
    """Most shared memory one block may use on `arch` (the opt-in maximum), in bytes."""
    return int(float(arch_row(arch)["shared_per_block_kb"]) * 1024)


def max_smem_per_block() -> int:
    """The largest per-block shared memory of any known architecture, in bytes: a block that
    needs more cannot launch anywhere."""
    return max(smem_per_block(a) for a in known_archs())


def max_warps_per_sm(arch: str) -> int:
    """Resident warps per SM on `arch`: 64 on sm_80/90/100, 48 on sm_86/89/120."""
    return arch_limit(arch, "max_warps_per_sm")


def occupancy_pct(arch: str, blocks_per_sm: int, warps_per_block: int) -> float:
    """Resident warps as a percentage of `arch`'s maximum warps per SM."""
    return 100.0 * blocks_per_sm * warps_per_block / max_warps_per_sm(arch)


def arch_number(arch: str) -> int:
    """'sm_90a' -> 90."""
    return int("".join(ch for ch in arch[3:] if ch.isdigit()))


# ---------------------------------------------------------------- datasheets (data/gpus.csv)

PEAK_COLUMN = {  # (A/B type, accumulator) -> datasheet column of dense TFLOP/s
    ("f16", "f16"): "fp16_f16acc_dense_tflops",
    ("f16", "f32"): "fp16_f32acc_dense_tflops",
    ("bf16", "f32"): "bf16_f32acc_dense_tflops",
}


@functools.lru_cache(maxsize=1)
def datasheet_table():
    import pandas as pd

    return pd.read_csv(GPUS_CSV, dtype={"compute_capability": str})


def datasheet_row(gpu_name: str, sm_count: int | None = None) -> dict | None:
    """The datasheet row whose regex matches the device name (and SM count, when given)."""
    if not GPUS_CSV.is_file():
        return None
    for row in datasheet_table().to_dict("records"):
        if not re.search(row["match"], gpu_name, re.IGNORECASE):
            continue
        if sm_count is not None and int(row["sm_count"]) != int(sm_count):
            continue
        return row
    return None


def peak_tflops(row: dict | None, ab_type: str, acc: str) -> float | None:
    """Dense datasheet TFLOP/s at the datasheet boost clock, or None where not published."""
    if row is None:
        return None
    value = row.get(PEAK_COLUMN.get((ab_type, acc), ""), None)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if value != value else value  # NaN -> None
