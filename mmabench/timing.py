"""Timing GPU work with device events: warm-up first, repeats, median and spread."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class TimingStats:
    median_ms: float
    min_ms: float
    max_ms: float
    repeats: int

    @property
    def spread(self) -> float:
        """(max - min) / median: how much the repeats disagree."""
        return (self.max_ms - self.min_ms) / self.median_ms if self.median_ms else float("nan")


def time_gpu(launch: Callable[[], object], warmup: int = 2, repeats: int = 10) -> TimingStats:
    """Time `launch()` (which enqueues GPU work on the current stream) with CUDA events.

    Each repeat is bracketed by its own pair of events, so the median is of single launches.
    """
    import cupy

    for _ in range(warmup):
        launch()
    stream = cupy.cuda.get_current_stream()
    stream.synchronize()
    pairs = []
    for _ in range(repeats):
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record(stream)
        launch()
        stop.record(stream)
        pairs.append((start, stop))
    stream.synchronize()
    times = [cupy.cuda.get_elapsed_time(a, b) for a, b in pairs]
    return TimingStats(statistics.median(times), min(times), max(times), len(times))
