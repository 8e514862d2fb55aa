"""What the GPU was doing *during* a timed region: SM clock, power, energy, throttle reasons.

A before/after reading says little: on a 700 W H100 the SM clock read 1,980 MHz before and after
an attention run while it sat at 1,425-1,980 MHz under load. `Sampler` polls NVML from a
background thread while the timed work runs, and reads the energy counter at both ends.
Benchmarks whose kernels read `%clock64`/`%globaltimer` themselves pass that clock in too.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass

from mmabench.measure import nvml

POLL_S = 0.005  # NVML's clock and event-reason readings change on a ~ms scale
# The energy counter advances in steps (tens of ms on recent drivers): shorter regions fall back
# to the mean of the power readings, which the driver itself averages over its own window.
MIN_ENERGY_S = 0.2
# A power above the board limit by more than this is a measuring artefact (the energy counter's
# slope over short regions read 700-810 W on a 700 W H200), flagged rather than printed as fact.
ABOVE_LIMIT = 1.05


@dataclass
class Conditions:
    """GPU state over one timed region (or several, merged): None where NVML gave nothing."""
    nvml_samples: int = 0
    sm_clock_mhz: float | None = None          # median of the NVML readings
    sm_clock_mhz_min: float | None = None
    sm_clock_mhz_max: float | None = None
    power_w: float | None = None               # energy / wall time, else mean of readings
    power_w_max: float | None = None
    power_source: str = ""                     # 'instant power samples' | 'energy counter' | ...
    power_w_instant: float | None = None       # mean of NVML_FI_DEV_POWER_INSTANT samples
    power_w_energy: float | None = None        # the energy counter's slope (long regions only)
    power_limit_w: float | None = None         # the enforced board limit
    energy_j: float | None = None              # over the timed region(s)
    wall_s: float = 0.0                        # host wall time of the timed region(s)
    temperature_c: float | None = None         # max reading
    reasons_mask: int = 0                      # OR of the event reasons seen

    @property
    def throttle(self) -> str:
        """Names of every clock-event reason seen during the region ('' for none)."""
        return nvml.reason_names(self.reasons_mask)

    @property
    def power_above_limit(self) -> bool:
        """The power reads above the board's limit by more than 5%: not physical, a flag."""
        return bool(self.power_w and self.power_limit_w
                    and self.power_w > ABOVE_LIMIT * self.power_limit_w)

    @property
    def throttled(self) -> bool:
        """True if a power or thermal limit slowed the clock while the region ran."""
        return bool(self.reasons_mask & nvml.THROTTLE_MASK)

    def fields(self) -> dict:
        return {
            "sm_clock_mhz_nvml": self.sm_clock_mhz, "sm_clock_mhz_nvml_min": self.sm_clock_mhz_min,
            "sm_clock_mhz_nvml_max": self.sm_clock_mhz_max, "power_w": self.power_w,
            "power_w_max": self.power_w_max, "power_source": self.power_source,
            "power_w_instant": self.power_w_instant, "power_w_energy": self.power_w_energy,
            "power_limit_w": self.power_limit_w,
            "power_above_limit": self.power_above_limit,
            "energy_j": self.energy_j,
            "temperature_c": self.temperature_c, "throttle": self.throttle,
            "throttled": self.throttled, "nvml_samples": self.nvml_samples,
        }


class Sampler:
    """Poll NVML while timed work runs. Use as a context manager, or start()/stop() several
    times (interleaved comparisons sample each contender only while it runs); `conditions()`
    merges everything seen so far."""

    def __init__(self, cuda_device: int = 0, poll_s: float = POLL_S):
        self.dev = nvml.device(cuda_device)
        self.poll_s = poll_s
        self.clocks: list[int] = []
        self.powers: list[float] = []
        self.instants: list[float] = []
        self.limit = self.dev.power_limit_w() if self.dev is not None else None
        self.temps: list[int] = []
        self.mask = 0
        self.energy_mj = 0
        self.energy_ok = self.dev is not None and self.dev.energy_mj() is not None
        self.wall = 0.0
        self.shortest = float("inf")      # the shortest sampled region
        self.slopes: list[tuple[float, float]] = []   # (joules, seconds) between counter steps
        self._steps: list[tuple[float, int]] = []     # (time, mJ) where the counter moved
        self._thread = None

    def _read(self) -> None:
        d = self.dev
        for value, sink in ((d.sm_clock_mhz(), self.clocks), (d.power_w(), self.powers),
                            (d.power_instant_w(), self.instants), (d.temperature_c(), self.temps)):
            if value is not None:
                sink.append(value)
        reasons = d.event_reasons()
        if reasons is not None:
            self.mask |= reasons & ~nvml.IDLE   # idle between launches is not a condition of the work
        if self.energy_ok:
            e = d.energy_mj()
            if e is not None and (not self._steps or e != self._steps[-1][1]):
                self._steps.append((time.perf_counter(), e))

    def _loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self._read()
            stop.wait(self.poll_s)

    def start(self) -> "Sampler":
        self._t0 = time.perf_counter()
        self._steps = []
        if self.dev is None:
            return self
        self._e0 = self.dev.energy_mj() if self.energy_ok else None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(self._stop,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        region = time.perf_counter() - self._t0
        self.wall += region
        self.shortest = min(self.shortest, region)
        if self._thread is None:
            return
        self._read()                   # at least one reading even for a very short region
        self._stop.set()
        self._thread.join()
        self._thread = None
        if self._e0 is not None:
            e1 = self.dev.energy_mj()
            if e1 is None:
                self.energy_ok = False
            else:
                self.energy_mj += e1 - self._e0
        # The counter moves in steps (tens of ms apart): the energy between the first and the
        # last step seen inside the region, over the time between them, is free of the partial
        # step at either end that a plain (end - start) difference would carry.
        steps = self._steps[1:]          # the first reading only marks where the region began
        if len(steps) >= 2 and steps[-1][0] - steps[0][0] > 0:
            self.slopes.append(((steps[-1][1] - steps[0][1]) / 1000.0, steps[-1][0] - steps[0][0]))

    def __enter__(self) -> "Sampler":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def conditions(self) -> Conditions:
        c = Conditions(nvml_samples=len(self.clocks), wall_s=self.wall, reasons_mask=self.mask,
                       power_limit_w=self.limit)
        if self.clocks:
            c.sm_clock_mhz = float(statistics.median(self.clocks))
            c.sm_clock_mhz_min, c.sm_clock_mhz_max = float(min(self.clocks)), float(max(self.clocks))
        if self.temps:
            c.temperature_c = float(max(self.temps))
        # Two readings of the region's own power, both kept: NVML's instant power samples
        # (NVML_FI_DEV_POWER_INSTANT, polled while the region ran) and the energy counter's slope
        # between the steps seen inside it. The samples are preferred: on a 700 W H200 the
        # counter's slope over 200 ms blocks read 680-816 W while the samples read 600-750 W
        # under the same power cap. The counter's slope counts only over regions each long
        # enough, else its steps land in whichever short block they happened to fall in. A
        # power reading is the driver's own average (~1 s window): the last resort.
        span = sum(t for _, t in self.slopes)
        if self.energy_ok and self.shortest >= MIN_ENERGY_S and span >= MIN_ENERGY_S / 2:
            c.power_w_energy = sum(j for j, _ in self.slopes) / span
        if self.instants:
            c.power_w_instant = float(statistics.fmean(self.instants))
        if c.power_w_instant is not None:
            c.power_w = c.power_w_instant
            c.power_source = f"instant power samples (n={len(self.instants)})"
        elif c.power_w_energy is not None:
            c.power_w = c.power_w_energy
            c.power_source = "energy counter"
        elif self.powers:    # not the region's own: no energy is derived from it
            c.power_w = float(statistics.fmean(self.powers))
            c.power_source = "power readings (driver average, ~1 s window)"
        if c.power_w_instant is not None or c.power_w_energy is not None:
            c.energy_j = c.power_w * self.wall
        if self.instants or self.powers:
            c.power_w_max = float(max(self.instants or self.powers))
        return c
