"""The one timing loop every benchmark uses: warm-up, then samples until the noise is low enough
or the budget is spent, with the GPU's conditions recorded during the timed region.

Modes (named in every row):
  batch  launches back to back (caches warm), `launches_per_sample` of them per sample so that
         a sample lasts >= Policy.min_sample_ms and launch gaps are noise;
  cold   the L2 cache is flushed (a memset of twice its size) before every sample, one launch
         per sample; the flush is outside the timed events.

Regimes of a comparison (measure.interleaved; named in every row, `regime` and `regime_detail`):
  sustained  each contender runs as one block of back-to-back launches lasting >= block_ms per
             round, after a settle period whose launches are discarded, so the clock and power
             are those of that kernel under continuous load (a training loop's view);
  burst      short blocks of a few samples per contender and round, the GPU idle between blocks
             while the host switches contender (the cost of one call from a rested GPU).

Stopping rule: at least `min_samples`, then stop as soon as the relative standard error of the
mean is <= `rel_error`, or when `max_samples` or `budget_s` is reached (the row then says
converged = False). The figure is the median; min, max, noise (stdev/mean) and the sample count
go with it. Compare nvbench (noise-driven stopping, cold/hot modes) and Triton's do_bench (time
budget, L2 flush); this keeps both ideas in one small loop.
"""

from __future__ import annotations

import argparse

import math
import time
from dataclasses import dataclass, field
from typing import Callable

from mmabench.core.errors import UserError
from mmabench.measure import stats
from mmabench.measure.conditions import Conditions, Sampler

MODES = ("batch", "cold")
REGIMES = ("sustained", "burst")


@dataclass(frozen=True)
class Policy:
    mode: str = "batch"
    warmup_ms: float = 20.0        # launches before timing, at least one
    min_samples: int = 5
    max_samples: int = 200
    rel_error: float = 0.005       # stop when stderr/mean of the samples is under this
    budget_s: float = 1.0          # wall-clock budget of the timed samples
    min_sample_ms: float = 0.2     # batch mode: launches grouped so a sample lasts this long
    rounds: int = 5                # interleaved comparisons: rounds, order alternating
    samples_per_round: int = 3     # burst: samples per contender and round
    regime: str = "burst"          # interleaved comparisons: "sustained" or "burst"
    block_ms: float = 200.0        # sustained: one block of back-to-back launches per round
    settle_ms: float = 1000.0      # sustained: launches before the rounds, discarded

    def __post_init__(self):
        if self.mode not in MODES:
            raise UserError(f"unknown timing mode {self.mode!r}; accepted: {', '.join(MODES)}")
        if self.regime not in REGIMES:
            raise UserError(f"unknown regime {self.regime!r}; accepted: {', '.join(REGIMES)}")
        if self.regime == "sustained" and self.mode == "cold":
            raise UserError("cold timing (L2 flushed before each launch) is a burst measurement; "
                            "accepted: cold with the burst regime, or sustained without cold")
        if self.regime == "sustained" and (self.rounds < 5 or self.block_ms < 200):
            raise UserError("the sustained regime needs >= 5 rounds of blocks >= 200 ms")
        if self.min_samples < 1 or self.max_samples < self.min_samples:
            raise UserError("samples: need 1 <= min_samples <= max_samples")
        if self.rounds < 1 or self.samples_per_round < 1:
            raise UserError("rounds and samples per round must be >= 1")


QUICK = Policy(min_samples=3, max_samples=30, rel_error=0.01, budget_s=0.3, rounds=3)
DEFAULT = Policy()


class EventTimer:
    """Times groups of launches with CUDA events on the current stream (CuPy; PyTorch work on
    the legacy default stream is timed by the same events)."""

    _flush_bufs: dict = {}       # device -> a buffer of twice its L2, made once per process

    def __init__(self):
        import cupy
        self.cupy = cupy

    def flush_l2(self) -> None:
        cupy = self.cupy
        dev = cupy.cuda.Device().id
        if dev not in self._flush_bufs:
            l2 = cupy.cuda.runtime.getDeviceProperties(dev).get("l2CacheSize", 0)
            self._flush_bufs[dev] = cupy.empty(max(2 * int(l2), 1 << 20), dtype=cupy.uint8)
        self._flush_bufs[dev].fill(0)

    def run(self, launch: Callable[[], object], groups: int, per_group: int, cold: bool) -> list[float]:
        """`groups` samples of `per_group` launches; returns ms per launch of each sample."""
        cupy = self.cupy
        stream = cupy.cuda.get_current_stream()
        pairs = []
        for _ in range(groups):
            if cold:
                self.flush_l2()
            start, stop = cupy.cuda.Event(), cupy.cuda.Event()
            start.record(stream)
            for _ in range(per_group):
                launch()
            stop.record(stream)
            pairs.append((start, stop))
        stream.synchronize()
        return [cupy.cuda.get_elapsed_time(a, b) / per_group for a, b in pairs]


@dataclass
class Measurement:
    """One timed quantity with its spread and the GPU's conditions while it ran."""
    samples_ms: list[float]
    mode: str
    launches_per_sample: int
    converged: bool
    conditions: Conditions = field(default_factory=Conditions)
    kernel_clock_mhz: float | None = None     # read inside the kernel, when it can
    regime: str = ""                          # of a comparison: "sustained" or "burst"
    regime_detail: str = ""                   # its blocks, settle and gaps, in words

    @property
    def median_ms(self) -> float:
        return stats.median(self.samples_ms)

    @property
    def min_ms(self) -> float:
        return min(self.samples_ms)

    @property
    def max_ms(self) -> float:
        return max(self.samples_ms)

    @property
    def samples(self) -> int:
        return len(self.samples_ms)

    @property
    def noise(self) -> float:
        return stats.rel_stdev(self.samples_ms)

    @property
    def rel_spread(self) -> float:
        """(max - min) / median."""
        return (self.max_ms - self.min_ms) / self.median_ms if self.median_ms else float("nan")

    @property
    def sm_clock_mhz(self) -> float | None:
        """The SM clock during the timed region: in-kernel where known, else NVML's median."""
        return self.kernel_clock_mhz if self.kernel_clock_mhz else self.conditions.sm_clock_mhz

    @property
    def sm_clock_source(self) -> str:
        if self.kernel_clock_mhz:
            return "kernel clock64/globaltimer"
        return "nvml" if self.conditions.sm_clock_mhz else ""

    @property
    def power_w(self) -> float | None:
        return self.conditions.power_w

    @property
    def energy_j_per_launch(self) -> float | None:
        c = self.conditions
        launches = self.samples * self.launches_per_sample
        return c.energy_j / launches if c.energy_j and launches else None

    @property
    def throttle(self) -> str:
        return self.conditions.throttle

    @property
    def throttled(self) -> bool:
        return self.conditions.throttled

    def fields(self) -> dict:
        """Flat columns for a result row."""
        return {
            "time_ms": self.median_ms, "time_ms_min": self.min_ms, "time_ms_max": self.max_ms,
            "noise_pct": 100 * self.noise, "spread_pct": 100 * self.rel_spread,
            "samples": self.samples, "launches_per_sample": self.launches_per_sample,
            "converged": self.converged, "timing_mode": self.mode,
            "regime": self.regime, "regime_detail": self.regime_detail,
            "sample_ms": self.median_ms * self.launches_per_sample,   # a sustained block, or a burst sample
            "sm_clock_mhz": self.sm_clock_mhz, "sm_clock_source": self.sm_clock_source,
            "energy_j_per_launch": self.energy_j_per_launch,
            **self.conditions.fields(),
        }


REGIME_HELP = ("sustained (default): per round, each contender as one block of >= 200 ms of "
               "back-to-back launches, after 1 s of discarded settle launches; burst: a few short "
               "samples per contender and round, the GPU idle between blocks")


def regime_option(text: str) -> str:
    """argparse type of --regime: checked as the command line is read, before a GPU is looked for."""
    if text not in REGIMES:
        raise argparse.ArgumentTypeError(f"bad value {text!r}; accepted: {', '.join(REGIMES)}")
    return text


def in_regime(policy: Policy, regime: str | None, cold: bool = False) -> Policy:
    """`policy` for a comparison a user asked for: `regime` ('sustained' by default, 'burst' when
    the L2 is flushed before each sample, which only burst timing can do). Sustained runs at
    least 5 rounds (a quick policy's fewer rounds are raised to 5)."""
    from dataclasses import replace

    regime = regime or ("burst" if cold else "sustained")
    if regime not in REGIMES:
        raise UserError(f"--regime {regime!r}; accepted: {', '.join(REGIMES)}")
    rounds = max(policy.rounds, 5) if regime == "sustained" else policy.rounds
    return replace(policy, regime=regime, mode="cold" if cold else policy.mode, rounds=rounds)


def warm_up(launch, policy: Policy, timer) -> float:
    """Run launches for about `warmup_ms` (at least two); returns the estimated ms per launch."""
    timer.run(launch, 1, 1, False)              # module load, JIT, first-touch: not counted
    est = timer.run(launch, 1, 1, False)[0]
    spent = est
    while spent < policy.warmup_ms:
        n = max(1, min(1000, int((policy.warmup_ms - spent) / max(est, 1e-3))))
        took = timer.run(launch, 1, n, False)[0]
        est, spent = took, spent + took * n
    return est


def launches_per_sample(policy: Policy, est_ms: float) -> int:
    if policy.mode == "cold":
        return 1
    return max(1, math.ceil(policy.min_sample_ms / max(est_ms, 1e-4)))


def measure(launch: Callable[[], object], policy: Policy = DEFAULT, *,
            clock: Callable[[], float | None] | None = None, timer=None,
            sampler: Sampler | None = None, cuda_device: int = 0) -> Measurement:
    """Time `launch()` (which enqueues GPU work) under `policy`.

    `clock`, if given, is called after the timed samples and returns the SM clock the kernel
    itself measured (MHz) during them. The NVML sampler runs only while samples are timed.
    """
    timer = timer or EventTimer()
    est = warm_up(launch, policy, timer)
    per = launches_per_sample(policy, est)
    sampler = sampler or Sampler(cuda_device)
    samples: list[float] = []
    if hasattr(clock, "reset"):
        clock.reset()                 # the kernel's clock over the timed samples only
    t0 = time.perf_counter()
    converged = False
    sampler.start()
    try:
        while True:
            # several samples per sync keep the GPU busy; chunks grow with the sample count so
            # the stopping rule is checked often early on
            left_s = policy.budget_s - (time.perf_counter() - t0)
            fit = int(left_s * 1e3 / max(est * per, 1e-3)) or 1
            if len(samples) < policy.min_samples:
                chunk = policy.min_samples - len(samples)
            else:
                chunk = max(1, min(policy.max_samples - len(samples), fit, 25, len(samples) // 2))
            samples += timer.run(launch, chunk, per, policy.mode == "cold")
            if len(samples) >= policy.min_samples and stats.rel_stderr(samples) <= policy.rel_error:
                converged = True
                break
            if len(samples) >= policy.max_samples or time.perf_counter() - t0 >= policy.budget_s:
                break
    finally:
        sampler.stop()
    kclock = clock() if clock else None
    return Measurement(samples, policy.mode, per, converged, sampler.conditions(), kclock)
