"""Launching an instruction-chain kernel at one launch shape, with its own clock, and timing
its latency.

ptx/mma_chain.ptx and ptx/wgmma_chain.ptx share one ABI: (a, b, c, d, stamps, iters). A
ChainLaunch owns the output buffer (poisoned), a KernelClock whose slots the launches stamp,
and a trip count, given (so that two twins do equal work, or a latency chain its fixed length)
or calibrated to about `target_ms` per launch. Calling it launches once; the benchmarks' Point
classes add their FLOP counts, checks and row fields on top, and `latency` turns a one-block
chain into cycles per instruction.
"""

from __future__ import annotations

import math

import numpy as np

from mmabench.measure.kernel_clock import KernelClock
from mmabench.measure.loop import Policy, measure


def calibrate_trips(launch, target_ms: float, start: int) -> int:
    """Loop trips for about `target_ms` per launch of `launch(trips)`: a short probe, then one
    run at its estimate (the probe's time is mostly fixed launch cost, so it overshoots)."""
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


class ChainLaunch:
    def __init__(self, function, blocks: int, threads: int, inputs, d, *, warps: int, poison: int,
                 iters: int | None = None, target_ms: float | None = None, min_trips: int = 1):
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


class _CyclesTimer:
    """Stands in for the event timer when a sample is the kernel's own cycle count per
    instruction (the first warp's %clock64 stamps of each launch), so that the layer's warm-up
    and stopping rule apply to cycles."""

    def __init__(self, clock: KernelClock, instructions: int):
        import cupy
        self.cupy, self.clock, self.instructions = cupy, clock, instructions

    def run(self, launch, groups, per_group, cold):
        out = []
        for _ in range(groups):
            launch()
            c0, c1, _, _ = (int(x) for x in self.cupy.asnumpy(self.clock.last())[0])
            out.append((c1 - c0) / self.instructions)
        return out


def latency(chain: ChainLaunch, per_trip: int, policy: Policy) -> dict:
    """Row columns of a latency chain: one block, one dependent chain of `chain.iters` loop trips
    of `per_trip` instructions (read from the SASS). Each sample is one launch's cycles per
    instruction; the clock is the last launch's, from its own stamps; NVML's readings go along.
    (The 'ms' of the Measurement are cycles here.)"""
    m = measure(chain, policy, timer=_CyclesTimer(chain.clock, per_trip * chain.iters))
    return {"latency_cycles": m.median_ms, "latency_cycles_min": m.min_ms,
            "latency_cycles_max": m.max_ms, "iters": chain.iters, "samples": m.samples,
            "noise_pct": 100 * m.noise, "converged": m.converged, "timing_mode": "in-kernel cycles",
            **m.conditions.fields(), "sm_clock_mhz": chain.clock.last_launch_mhz(),
            "sm_clock_source": "kernel clock64/globaltimer"}
