"""The few NVML calls the measurement layer needs, through ctypes (no extra dependency).

NVML is the driver's management library (libnvidia-ml.so.1): SM clock, power, the energy
counter, throttle ("clock event") reasons, temperature. Every call degrades to None when the
library or the call is missing, so a machine without a driver still runs the offline parts.
"""

from __future__ import annotations

import ctypes
import functools
import os

NVML_CLOCK_SM = 1
NVML_TEMPERATURE_GPU = 0

# nvmlClocksEventReasons bits (nvml.h); the ones that mean "slowed by power or heat" are THROTTLE.
REASONS = {
    0x1: "gpu_idle",
    0x2: "app_clocks",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal",
    0x40: "hw_thermal",
    0x80: "hw_power_brake",
    0x100: "display_clocks",
}
THROTTLE_MASK = 0x4 | 0x8 | 0x20 | 0x40 | 0x80


def reason_names(mask: int) -> str:
    """'sw_power_cap+hw_slowdown' for a bit mask ('' for none)."""
    return "+".join(name for bit, name in REASONS.items() if mask & bit)


@functools.lru_cache(maxsize=None)
def _lib():
    try:
        lib = ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return None
    try:
        if lib.nvmlInit_v2() != 0:
            return None
    except AttributeError:
        return None
    return lib


def available() -> bool:
    return _lib() is not None


class Device:
    """One GPU as NVML sees it; every getter returns None when NVML cannot answer."""

    def __init__(self, handle, lib):
        self._h, self._lib = handle, lib

    def _uint(self, fn: str, *args) -> int | None:
        value = ctypes.c_uint()
        try:
            ok = getattr(self._lib, fn)(self._h, *args, ctypes.byref(value)) == 0
        except AttributeError:
            return None
        return int(value.value) if ok else None

    def _ull(self, fn: str) -> int | None:
        value = ctypes.c_ulonglong()
        try:
            ok = getattr(self._lib, fn)(self._h, ctypes.byref(value)) == 0
        except AttributeError:
            return None
        return int(value.value) if ok else None

    def sm_clock_mhz(self) -> int | None:
        return self._uint("nvmlDeviceGetClockInfo", ctypes.c_int(NVML_CLOCK_SM))

    def max_sm_clock_mhz(self) -> int | None:
        return self._uint("nvmlDeviceGetMaxClockInfo", ctypes.c_int(NVML_CLOCK_SM))

    def power_w(self) -> float | None:
        mw = self._uint("nvmlDeviceGetPowerUsage")
        return None if mw is None else mw / 1000.0

    def power_limit_w(self) -> float | None:
        mw = self._uint("nvmlDeviceGetEnforcedPowerLimit")
        return None if mw is None else mw / 1000.0

    def energy_mj(self) -> int | None:
        """Total energy since the driver loaded, in millijoules (Volta and newer)."""
        return self._ull("nvmlDeviceGetTotalEnergyConsumption")

    def event_reasons(self) -> int | None:
        mask = self._ull("nvmlDeviceGetCurrentClocksEventReasons")
        return mask if mask is not None else self._ull("nvmlDeviceGetCurrentClocksThrottleReasons")

    def temperature_c(self) -> int | None:
        return self._uint("nvmlDeviceGetTemperature", ctypes.c_int(NVML_TEMPERATURE_GPU))

    def uuid(self) -> str | None:
        buf = ctypes.create_string_buffer(96)
        try:
            ok = self._lib.nvmlDeviceGetUUID(self._h, buf, ctypes.c_uint(96)) == 0
        except AttributeError:
            return None
        return buf.value.decode() if ok else None


def _pci_bus_id(cuda_device: int) -> str | None:
    try:
        import cupy
        return cupy.cuda.runtime.deviceGetPCIBusId(cuda_device)
    except Exception:
        return None


@functools.lru_cache(maxsize=None)
def device(cuda_device: int = 0) -> Device | None:
    """The NVML handle of CUDA device `cuda_device` (matched by PCI bus id, so that
    CUDA_VISIBLE_DEVICES renumbering is respected); None without NVML."""
    lib = _lib()
    if lib is None:
        return None
    handle = ctypes.c_void_p()
    bus = _pci_bus_id(cuda_device)
    if bus and lib.nvmlDeviceGetHandleByPciBusId_v2(bus.encode(), ctypes.byref(handle)) == 0:
        return Device(handle, lib)
    if "CUDA_VISIBLE_DEVICES" in os.environ:   # an index would name the wrong GPU
        return None
    if lib.nvmlDeviceGetHandleByIndex_v2(ctypes.c_uint(cuda_device), ctypes.byref(handle)) == 0:
        return Device(handle, lib)
    return None
