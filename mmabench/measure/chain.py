"""Launching an instruction-chain kernel at one launch shape, with its own clock.

ptx/mma_chain.ptx and ptx/wgmma_chain.ptx share one ABI: (a, b, c, d, stamps, iters). A
ChainLaunch owns the output buffer (poisoned), a KernelClock whose slots the launches stamp,
and a trip count calibrated to about `target_ms` per launch (or given, so that two twins do
equal work). Calling it launches once; the benchmarks' Point classes add their FLOP counts,
checks and row fields on top.
"""

from __future__ import annotations

import numpy as np

from mmabench.measure.kernel_clock import KernelClock, calibrate_trips


class ChainLaunch:
    def __init__(self, function, blocks: int, threads: int, inputs, d, *, warps: int,
                 target_ms: float, iters: int | None, min_trips: int, poison: int):
        self.function, self.blocks, self.threads = function, blocks, threads
        self.inputs, self.d = inputs, d
        self.clock = KernelClock(warps)                 # each launch stamps its own slot
        self.iters = iters or calibrate_trips(self._launch, target_ms, start=min_trips)
        self.d.fill(poison)                              # poisoned again after calibration

    def _launch(self, iters: int) -> None:
        i = self.inputs
        self.function((self.blocks,), (self.threads,),
                      (i.a, i.b, i.c, self.d, self.clock.for_launch(), np.uint32(iters)))

    def __call__(self) -> None:
        self._launch(self.iters)

    def kernel_clock_mhz(self) -> float:
        """The SM clock the warps saw, averaged over the launches since the clock's reset."""
        return self.clock()
