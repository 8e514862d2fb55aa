"""NVML, the driver's management library, through NVIDIA's own bindings (nvidia-ml-py, module
`pynvml`): SM clock, power, the energy counter, clock-event ("throttle") reasons, temperature.

Every reading degrades to None when the library, the driver or the call is missing, so a machine
without a GPU still runs the offline parts.
"""

from __future__ import annotations

import functools
import os

import pynvml

# Clock-event reason bits; those that mean "slowed by power or heat" make THROTTLE_MASK.
IDLE = pynvml.nvmlClocksEventReasonGpuIdle
REASONS = {
    IDLE: "gpu_idle",
    pynvml.nvmlClocksEventReasonApplicationsClocksSetting: "app_clocks",
    pynvml.nvmlClocksEventReasonSwPowerCap: "sw_power_cap",
    pynvml.nvmlClocksEventReasonHwSlowdown: "hw_slowdown",
    pynvml.nvmlClocksEventReasonSyncBoost: "sync_boost",
    pynvml.nvmlClocksEventReasonSwThermalSlowdown: "sw_thermal",
    pynvml.nvmlClocksEventReasonHwThermalSlowdown: "hw_thermal",
    pynvml.nvmlClocksEventReasonHwPowerBrakeSlowdown: "hw_power_brake",
    pynvml.nvmlClocksEventReasonDisplayClockSetting: "display_clocks",
}
THROTTLE_MASK = (pynvml.nvmlClocksEventReasonSwPowerCap | pynvml.nvmlClocksEventReasonHwSlowdown
                 | pynvml.nvmlClocksEventReasonSwThermalSlowdown
                 | pynvml.nvmlClocksEventReasonHwThermalSlowdown
                 | pynvml.nvmlClocksEventReasonHwPowerBrakeSlowdown)


def reason_names(mask: int) -> str:
    """'sw_power_cap+hw_slowdown' for a bit mask ('' for none)."""
    return "+".join(name for bit, name in REASONS.items() if mask & bit)


@functools.lru_cache(maxsize=None)
def _initialised() -> bool:
    """nvmlInit, once per process; False without the library or a driver."""
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:        # LibraryNotFound, DriverNotLoaded, LibRmVersionMismatch, ...
        return False
    return True


def _ask(call, *args):
    """call(*args), or None where NVML cannot answer (not supported, no permission, no library)."""
    try:
        return call(*args)
    except pynvml.NVMLError:
        return None


def _watts(milliwatts: int | None) -> float | None:
    return None if milliwatts is None else milliwatts / 1000.0


class Device:
    """One GPU as NVML sees it; every reading is None where NVML cannot answer."""

    def __init__(self, handle):
        self.handle = handle

    def _get(self, call, *args):
        return _ask(call, self.handle, *args)

    def sm_clock_mhz(self) -> int | None:
        return self._get(pynvml.nvmlDeviceGetClockInfo, pynvml.NVML_CLOCK_SM)

    def max_sm_clock_mhz(self) -> int | None:
        return self._get(pynvml.nvmlDeviceGetMaxClockInfo, pynvml.NVML_CLOCK_SM)

    def power_w(self) -> float | None:
        return _watts(self._get(pynvml.nvmlDeviceGetPowerUsage))

    def power_limit_w(self) -> float | None:
        return _watts(self._get(pynvml.nvmlDeviceGetEnforcedPowerLimit))

    def energy_mj(self) -> int | None:
        """Total energy since the driver loaded, in millijoules (Volta and newer)."""
        return self._get(pynvml.nvmlDeviceGetTotalEnergyConsumption)

    def event_reasons(self) -> int | None:
        mask = self._get(pynvml.nvmlDeviceGetCurrentClocksEventReasons)
        # drivers before 535 know the same call only by its older name
        return mask if mask is not None else self._get(pynvml.nvmlDeviceGetCurrentClocksThrottleReasons)

    def temperature_c(self) -> int | None:
        return self._get(pynvml.nvmlDeviceGetTemperature, pynvml.NVML_TEMPERATURE_GPU)


def _pci_bus_id(cuda_device: int) -> str | None:
    try:
        import cupy
        return cupy.cuda.runtime.deviceGetPCIBusId(cuda_device)
    except (ImportError, RuntimeError):       # no CuPy, or CUDA cannot see that device
        return None


@functools.lru_cache(maxsize=None)
def device(cuda_device: int = 0) -> Device | None:
    """CUDA device `cuda_device` as NVML sees it (matched by PCI bus id, so that
    CUDA_VISIBLE_DEVICES renumbering is respected); None without NVML."""
    if not _initialised():
        return None
    bus = _pci_bus_id(cuda_device)
    handle = _ask(pynvml.nvmlDeviceGetHandleByPciBusId, bus) if bus else None
    if handle is None and "CUDA_VISIBLE_DEVICES" not in os.environ:   # else an index names the wrong GPU
        handle = _ask(pynvml.nvmlDeviceGetHandleByIndex, cuda_device)
    return None if handle is None else Device(handle)
