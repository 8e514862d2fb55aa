"""Interleaved comparisons: several contenders timed in alternating order on the same inputs.

Timing A fully, then B, lets the clock, the temperature and the neighbours drift between them:
a drift of a few percent is as large as the differences under study. Here every round times a
short block of samples of each contender, in an order that rotates and reverses from round to
round; the ratio against the baseline is taken *within* each round, and its median and range
over the rounds are reported. A range that includes 1.0 is "within noise".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from mmabench.measure import stats
from mmabench.measure.conditions import Sampler
from mmabench.measure.loop import DEFAULT, EventTimer, Measurement, Policy, launches_per_sample, warm_up


@dataclass
class Ratio:
    """time(baseline) / time(contender), per round: > 1 means the contender is faster."""
    rounds: list[float]

    @property
    def median(self) -> float:
        return stats.median(self.rounds)

    @property
    def lo(self) -> float:
        return min(self.rounds) if self.rounds else float("nan")

    @property
    def hi(self) -> float:
        return max(self.rounds) if self.rounds else float("nan")

    @property
    def within_noise(self) -> bool:
        return stats.within_noise(self.lo, self.hi)

    def describe(self) -> str:
        return stats.describe_ratio(self.median, self.lo, self.hi)

    def fields(self, prefix: str) -> dict:
        return {f"{prefix}": self.median, f"{prefix}_lo": self.lo, f"{prefix}_hi": self.hi,
                f"{prefix}_rounds": len(self.rounds), f"{prefix}_within_noise": self.within_noise}


def orders(names: list[str], rounds: int) -> list[list[str]]:
    """Rounds go in pairs: a rotation of the contenders, then the same rotation reversed; the
    next pair rotates by one. Each contender is first, last, before and after each other one
    about equally often, so a steady drift cancels out of the median ratio."""
    n = len(names)
    out = []
    for r in range(rounds):
        shift = (r // 2) % n
        order = names[shift:] + names[:shift]
        out.append(order if r % 2 == 0 else order[::-1])
    return out


@dataclass
class Interleaved:
    """What an interleaved run measured: each contender's Measurement (all its samples, its own
    NVML conditions) and its median time in each round, from which any ratio is taken."""
    measurements: dict[str, Measurement]
    by_round: dict[str, list[float]]

    def ratio(self, contender: str, baseline: str) -> Ratio:
        """time(baseline) / time(contender), round by round."""
        return Ratio([b / x for b, x in zip(self.by_round[baseline], self.by_round[contender])
                      if x > 0])


def interleaved(contenders: dict[str, Callable[[], object]], policy: Policy = DEFAULT, *,
                timer=None, cuda_device: int = 0,
                clocks: dict[str, Callable[[], float | None]] | None = None,
                ) -> Interleaved:
    """Time every contender in `policy.rounds` interleaved rounds, in `policy.regime`; the result
    gives each one's Measurement (its own blocks, its own NVML conditions) and any ratio with
    `.ratio(contender, baseline)`."""
    timer = timer or EventTimer()
    names = list(contenders)
    est = {name: warm_up(contenders[name], policy, timer) for name in names}
    if policy.regime == "sustained":
        # one block of >= block_ms per contender and round: a single event pair around it, so
        # the block's launches run back to back, and an energy-counter region long enough to
        # belong to this contender alone
        for name in names:    # settle: the clock and power reach this load; not timed
            settle = max(1, math.ceil(policy.settle_ms / len(names) / max(est[name], 1e-3)))
            est[name] = timer.run(contenders[name], 1, settle, False)[0]   # ms/launch under load
        # 10% above block_ms: under load the clock can still fall a little in the rounds
        per = {n: max(1, math.ceil(11 * policy.block_ms / (10 * max(est[n], 1e-3)))) for n in names}
        samples_per_block = 1
    else:
        per = {n: launches_per_sample(policy, est[n]) for n in names}
        samples_per_block = policy.samples_per_round
    samplers = {n: Sampler(cuda_device) for n in names}
    samples: dict[str, list[float]] = {n: [] for n in names}
    by_round: dict[str, list[float]] = {n: [] for n in names}
    for name in names:
        if hasattr((clocks or {}).get(name), "reset"):
            clocks[name].reset()
    for order in orders(names, policy.rounds):
        for name in order:
            if policy.regime == "burst":
                timer.run(contenders[name], 1, 1, False)     # switch-over launch, not counted
            samplers[name].start()
            got = timer.run(contenders[name], samples_per_block, per[name], policy.mode == "cold")
            samplers[name].stop()
            samples[name] += got
            by_round[name].append(stats.median(got))
            if policy.regime == "sustained" and got[0] * per[name] < policy.block_ms:
                # faster than in its settle launches: the next blocks get more launches
                per[name] = math.ceil(11 * policy.block_ms / (10 * max(got[0], 1e-3)))
    measurements = {
        n: Measurement(samples[n], policy.mode, per[n],
                       stats.rel_stderr(samples[n]) <= policy.rel_error, samplers[n].conditions(),
                       (clocks or {}).get(n, lambda: None)(), policy.regime, regime_detail(policy))
        for n in names}
    return Interleaved(measurements, by_round)


def regime_detail(policy: Policy) -> str:
    """How a comparison's blocks were timed, in words, for its rows and tables (each row's own
    launches per block and block length are in launches_per_sample and sample_ms)."""
    rounds = f"{policy.rounds} rounds in rotating order"
    if policy.regime == "sustained":
        return (f"sustained: per round, each contender as one block of >= {policy.block_ms:.0f} ms "
                f"of back-to-back launches; {rounds}; after {policy.settle_ms:.0f} ms of "
                "discarded settle launches")
    flush = "; L2 flushed before each sample" if policy.mode == "cold" else ""
    return (f"burst: per round, each contender as {policy.samples_per_round} samples of "
            f"launches_per_sample launches; {rounds}; the GPU idles between blocks while the "
            f"host switches contender{flush}")
