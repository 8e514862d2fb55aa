"""Two kernels that differ only in their accumulator, compared the way every benchmark does it.

`points` are launchable objects of the instruction benchmarks (mma.sync, wgmma): calling one
launches it; each has `.clock` (a KernelClock), `.flops` per launch, `.check()` (raises when the
output is wrong) and `.fields(measurement)` (row columns). They must do equal work (the same
launch shape and trip count), so a time ratio is a rate ratio.
"""

from __future__ import annotations

from mmabench.measure.interleave import interleaved
from mmabench.measure.loop import Policy, sustained

POWER_S = 0.5    # seconds each twin runs alone for its power and energy per FLOP

RATE_KEYS = ("tflops", "flop_per_clk_per_sm", "sm_clock_mhz", "throttle", "throttled", "samples",
             "noise_pct", "registers")


def compare_twins(points: dict, policy: Policy, *, power_s: float = POWER_S,
                  keys=RATE_KEYS, timer=None) -> dict:
    """Row columns of an f16-vs-f32 comparison: the rate in interleaved rounds (ratio f16/f32
    with its range), then each twin alone for `power_s` (one energy-counter region apiece) for
    power, energy per FLOP and the clock it settles at; both outputs checked afterwards."""
    result = interleaved({"f32": points["f32"], "f16": points["f16"]}, policy,
                         clocks={k: p.clock for k, p in points.items()}, timer=timer)
    steady = {k: sustained(p, power_s, clock=p.clock, timer=timer) for k, p in points.items()}
    for p in points.values():
        p.check()
    ratio = result.ratio("f16", "f32")
    timed = result.measurements["f16"]
    row = {**ratio.fields("ratio_f16_over_f32"), "comparison": ratio.describe(),
           "regime": timed.regime, "regime_detail": timed.regime_detail}
    for acc, p in points.items():
        f = p.fields(result.measurements[acc])
        row.update({f"{acc}_{k}": f.get(k) for k in keys if k in f})
        s = steady[acc]
        sf = p.fields(s)
        energy = s.energy_j_per_launch
        row.update({f"{acc}_power_w": s.power_w, f"{acc}_power_source": s.conditions.power_source,
                    f"{acc}_energy_j_per_launch": energy,
                    f"{acc}_pj_per_flop": energy / p.flops * 1e12 if energy else None,
                    f"{acc}_sustained_sm_clock_mhz": s.sm_clock_mhz,
                    f"{acc}_sustained_flop_per_clk_per_sm": sf.get("flop_per_clk_per_sm"),
                    f"{acc}_sustained_throttle": s.throttle})
    return row
