"""The SM clock as the kernel itself saw it, averaged over every timed launch.

Our instruction kernels stamp %clock64 and %globaltimer at the start and end of each warp's
loop. One launch's stamps give the clock of that launch only; under a power cap the clock moves
from launch to launch (1,515-1,830 MHz on a 700 W H100 under wgmma load), so FLOP/clk from the
last launch's clock can even read above the datasheet peak. `KernelClock` hands each launch
its own slot of a ring buffer and averages cycles over nanoseconds across all launches since
`reset()` (the measurement layer resets it when the timed samples begin).
"""

from __future__ import annotations

import numpy as np

SLOTS = 256


class KernelClock:
    def __init__(self, warps: int, slots: int = SLOTS):
        import cupy

        self.stamps = cupy.zeros((slots, warps, 4), dtype=cupy.uint64)
        self._views = [self.stamps[i] for i in range(slots)]   # made once: launches stay cheap
        self.slots, self.next, self.used = slots, 0, 0

    def for_launch(self):
        """The stamp buffer [warps, 4] the next launch should write."""
        view = self._views[self.next]
        self.next = (self.next + 1) % self.slots
        self.used = min(self.used + 1, self.slots)
        return view

    def reset(self) -> None:
        self.used = 0

    def last(self):
        return self._views[(self.next - 1) % self.slots]

    def __call__(self) -> float:
        """MHz: per warp, total cycles / total ns over the launches since reset (the most recent
        `slots`); the median over warps."""
        import cupy

        n = max(self.used, 1)
        idx = [(self.next - 1 - i) % self.slots for i in range(n)]
        t = cupy.asnumpy(self.stamps[idx]).astype(np.float64)      # [n, warps, 4]
        cycles = (t[..., 1] - t[..., 0]).sum(axis=0)
        ns = (t[..., 3] - t[..., 2]).sum(axis=0)
        ok = ns > 0
        return float(np.median(cycles[ok] / ns[ok]) * 1e3) if ok.any() else float("nan")


def stamps_mhz(t: np.ndarray) -> float:
    """One launch's stamps [warps, 4] (clock64 start/stop, globaltimer start/stop): the median
    over warps of cycles / ns, in MHz."""
    cycles = t[:, 1].astype(np.float64) - t[:, 0]
    ns = t[:, 3].astype(np.float64) - t[:, 2]
    ok = ns > 0
    return float(np.median(cycles[ok] / ns[ok]) * 1e3) if ok.any() else float("nan")


def calibrate_trips(launch, target_ms: float, start: int) -> int:
    """Loop trips for about `target_ms` per launch of `launch(trips)`: a short probe, then one
    run at its estimate (the probe's time is mostly fixed launch cost, so it overshoots)."""
    import math

    import cupy

    trips = start
    for _ in range(2):
        begin, end = cupy.cuda.Event(), cupy.cuda.Event()
        begin.record()
        launch(trips)
        end.record()
        end.synchronize()
        took = cupy.cuda.get_elapsed_time(begin, end)
        trips = max(start, int(math.ceil(trips * target_ms / max(took, 1e-3))))
    return trips


class CyclesTimer:
    """Stands in for the event timer when a sample is the kernel's own cycle count per
    instruction (latency: one chain, the first warp's %clock64 stamps), so the layer's warm-up
    and stopping rule apply to cycles."""

    def __init__(self, stamps, per_instruction: int):
        import cupy
        self.cupy, self.stamps, self.per = cupy, stamps, per_instruction

    def run(self, launch, groups, per_group, cold):
        out = []
        for _ in range(groups):
            launch()
            c0, c1, _, _ = (int(x) for x in self.cupy.asnumpy(self.stamps)[0])
            out.append((c1 - c0) / self.per)
        return out
