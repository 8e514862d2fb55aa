"""NVML, the driver's management library, through NVIDIA's own bindings (nvidia-ml-py, module
`pynvml`): SM clock, power, the energy counter, clock-event ("throttle") reasons, temperature,
the driver version, the GPUs of the host, and a text snapshot of a GPU's state for a run folder.

Every reading degrades to None (the listing to None, the snapshot and driver version to '') when
the library, the driver or the call is missing, so a machine without a GPU still runs the
offline parts.
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


# nvmlValue_t's member for each nvmlValueType_t
_VALUE_MEMBERS = {pynvml.NVML_VALUE_TYPE_DOUBLE: "dVal", pynvml.NVML_VALUE_TYPE_UNSIGNED_INT: "uiVal",
                  pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG: "ulVal",
                  pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG: "ullVal",
                  pynvml.NVML_VALUE_TYPE_SIGNED_LONG_LONG: "sllVal"}


def _field_value(field) -> float | None:
    member = _VALUE_MEMBERS.get(field.valueType)
    return None if member is None else getattr(field.value, member)


class Device:
    """One GPU as NVML sees it; every reading is None where NVML cannot answer."""

    def __init__(self, handle):
        self.handle = handle

    def _get(self, call, *args):
        return _ask(call, self.handle, *args)

    def sm_clock_mhz(self) -> int | None:
        return self._get(pynvml.nvmlDeviceGetClockInfo, pynvml.NVML_CLOCK_SM)

    def power_w(self) -> float | None:
        return _watts(self._get(pynvml.nvmlDeviceGetPowerUsage))

    def power_instant_w(self) -> float | None:
        """The board's power now (NVML_FI_DEV_POWER_INSTANT), where nvmlDeviceGetPowerUsage is
        an average over the driver's window (about one second on Hopper)."""
        values = self._get(pynvml.nvmlDeviceGetFieldValues, [pynvml.NVML_FI_DEV_POWER_INSTANT])
        if not values or values[0].nvmlReturn != pynvml.NVML_SUCCESS:
            return None
        return _watts(_field_value(values[0]))

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


def driver_version() -> str:
    """The kernel driver's version ('580.65.06'); '' without NVML."""
    return (_ask(pynvml.nvmlSystemGetDriverVersion) or "") if _initialised() else ""


def gpus() -> list[dict] | None:
    """Every GPU of the host in NVML's order (the indices nvidia-smi shows), each as
    {index, uuid, name, pci_bus_id}; None without NVML."""
    if not _initialised():
        return None
    count = _ask(pynvml.nvmlDeviceGetCount)
    if count is None:
        return None
    out = []
    for index in range(count):
        handle = _ask(pynvml.nvmlDeviceGetHandleByIndex, index)
        if handle is None:           # e.g. no permission: it could not be pinned either
            continue
        pci = _ask(pynvml.nvmlDeviceGetPciInfo, handle)
        out.append({"index": index, "uuid": _ask(pynvml.nvmlDeviceGetUUID, handle) or "",
                    "name": _ask(pynvml.nvmlDeviceGetName, handle) or "",
                    "pci_bus_id": pci.busId if pci is not None else ""})
    return out


def _on_off(state) -> str | None:
    return None if state is None else "Enabled" if state == pynvml.NVML_FEATURE_ENABLED else "Disabled"


def _na(value) -> str:
    return "N/A" if value is None else str(value)


def _unit(value, unit: str, spec: str = "") -> str | None:
    return None if value is None else f"{value:{spec}} {unit}"


def snapshot(cuda_device: int = 0) -> str:
    """The GPU's state as readable text (identity, clocks, power, limits, temperatures, clock-event
    reasons, ECC, persistence) for a run folder's audit trail; '' without NVML."""
    dev = device(cuda_device)
    if dev is None:
        return ""
    get = dev._get
    clock = {name: (get(pynvml.nvmlDeviceGetClockInfo, kind), get(pynvml.nvmlDeviceGetMaxClockInfo, kind))
             for name, kind in (("SM", pynvml.NVML_CLOCK_SM), ("Graphics", pynvml.NVML_CLOCK_GRAPHICS),
                                ("Memory", pynvml.NVML_CLOCK_MEM), ("Video", pynvml.NVML_CLOCK_VIDEO))}
    ecc = get(pynvml.nvmlDeviceGetEccMode)
    pstate = get(pynvml.nvmlDeviceGetPerformanceState)
    pci = get(pynvml.nvmlDeviceGetPciInfo)
    energy = dev.energy_mj()
    reasons = dev.event_reasons()
    lines = [
        ("NVML snapshot of CUDA device", cuda_device),
        ("NVML version", _ask(pynvml.nvmlSystemGetNVMLVersion)),
        ("Driver version", driver_version() or None),
        ("Product name", get(pynvml.nvmlDeviceGetName)),
        ("UUID", get(pynvml.nvmlDeviceGetUUID)),
        ("PCI bus id", None if pci is None else pci.busId),
        ("Persistence mode", _on_off(get(pynvml.nvmlDeviceGetPersistenceMode))),
        ("ECC mode (current, pending)", None if ecc is None else f"{_on_off(ecc[0])}, {_on_off(ecc[1])}"),
        ("Performance state", None if pstate is None else f"P{pstate}"),
        *((f"{name} clock (current / max)", f"{_na(now)} / {_na(top)} MHz")
          for name, (now, top) in clock.items()),
        ("Power draw", _unit(dev.power_w(), "W", ".2f")),
        ("Enforced power limit", _unit(dev.power_limit_w(), "W", ".2f")),
        ("Power management limit", _unit(_watts(get(pynvml.nvmlDeviceGetPowerManagementLimit)), "W", ".2f")),
        ("Energy since driver load", _unit(None if energy is None else energy / 1000, "J", ".3f")),
        ("GPU temperature", _unit(dev.temperature_c(), "C")),
        ("Slowdown temperature", _unit(get(pynvml.nvmlDeviceGetTemperatureThreshold,
                                           pynvml.NVML_TEMPERATURE_THRESHOLD_SLOWDOWN), "C")),
        ("Shutdown temperature", _unit(get(pynvml.nvmlDeviceGetTemperatureThreshold,
                                           pynvml.NVML_TEMPERATURE_THRESHOLD_SHUTDOWN), "C")),
        ("Clock event reasons", None if reasons is None
         else f"0x{reasons:016x} ({reason_names(reasons) or 'none'})"),
    ]
    width = max(len(label) for label, _ in lines)
    return "".join(f"{label:<{width}} : {_na(value)}\n" for label, value in lines)
