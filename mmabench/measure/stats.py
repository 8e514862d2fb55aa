"""Small statistics for timings: median, relative noise, ranges of ratios. Pure Python."""

from __future__ import annotations

import math
import statistics


def median(xs) -> float:
    return float(statistics.median(xs)) if xs else float("nan")


def rel_stdev(xs) -> float:
    """stdev / mean (nvbench's "noise"); NaN for fewer than two samples."""
    if len(xs) < 2:
        return float("nan")
    mean = statistics.fmean(xs)
    return statistics.stdev(xs) / mean if mean else float("nan")


def rel_stderr(xs) -> float:
    """Relative standard error of the mean: shrinks as samples accumulate, so it can stop a loop."""
    noise = rel_stdev(xs)
    return noise / math.sqrt(len(xs)) if noise == noise else float("nan")


def within_noise(lo: float, hi: float) -> bool:
    """A ratio whose range over interleaved rounds includes 1.0 is no measured difference."""
    return lo <= 1.0 <= hi


def describe_ratio(ratio: float, lo: float, hi: float) -> str:
    """'1.07x (1.05-1.09)' or '1.01x (0.99-1.02), within noise'."""
    if ratio != ratio:
        return "-"
    text = f"{ratio:.2f}x ({lo:.2f}-{hi:.2f})"
    return text + (", within noise" if within_noise(lo, hi) else "")
