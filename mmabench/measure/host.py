"""Host time per call: for calls whose GPU work is shorter than issuing them, a loop with no
synchronisation inside measures what the host spends per call (checks, lookups, allocation,
the launch itself). The GPU is synchronised between loops only."""

from __future__ import annotations

import statistics
import time


def host_us_per_call(fn, calls: int, loops: int, sync) -> tuple[float, float, float]:
    """Median, min and max over `loops` loops of `calls` calls of `fn()`, in microseconds per
    call; `sync()` waits for the GPU (after a first, untimed call, and after each loop)."""
    fn()
    sync()
    times = []
    for _ in range(loops):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - t0) / calls * 1e6)
        sync()
    return statistics.median(times), min(times), max(times)
