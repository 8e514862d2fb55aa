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
        """MHz over the launches since reset (the most recent `slots`)."""
        import cupy

        n = max(self.used, 1)
        idx = [(self.next - 1 - i) % self.slots for i in range(n)]
        return _mhz(cupy.asnumpy(self.stamps[idx]))

    def last_launch_mhz(self) -> float:
        """MHz of the last launch alone."""
        import cupy

        return _mhz(cupy.asnumpy(self.last())[None])


def _mhz(stamps: np.ndarray) -> float:
    """Stamps [launches, warps, 4] (clock64 start/stop, globaltimer start/stop) -> MHz: per warp,
    total cycles / total ns; the median over warps."""
    t = stamps.astype(np.float64)
    cycles = (t[..., 1] - t[..., 0]).sum(axis=0)
    ns = (t[..., 3] - t[..., 2]).sum(axis=0)
    ok = ns > 0
    return float(np.median(cycles[ok] / ns[ok]) * 1e3) if ok.any() else float("nan")
