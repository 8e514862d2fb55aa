"""Two kernels that differ only in their accumulator, compared the way every benchmark does it.

`points` are launchable objects of the instruction benchmarks (mma.sync, wgmma): calling one
launches it; each has `.clock` (a KernelClock), `.flops` per launch, `.check()` (raises when the
output is wrong) and `.fields(measurement)` (row columns). They must do equal work (the same
launch shape and trip count), so a time ratio is a rate ratio.
"""

from __future__ import annotations

from mmabench.measure.interleave import interleaved
from mmabench.measure.loop import Policy

RATE_KEYS = ("tflops", "flop_per_clk_per_sm", "sm_clock_mhz", "throttle", "throttled", "samples",
             "noise_pct", "registers")


def compare_twins(points: dict, policy: Policy, *, keys=RATE_KEYS, timer=None) -> dict:
    """Row columns of an f16-vs-f32 comparison in `policy.regime`: the rate in interleaved
    rounds (ratio f16/f32 with its range), and each twin's clock, power, temperature and energy
    per FLOP read during its own blocks (so every figure of the row comes from one regime);
    both outputs checked afterwards."""
    result = interleaved({"f32": points["f32"], "f16": points["f16"]}, policy,
                         clocks={k: p.clock for k, p in points.items()}, timer=timer)
    for p in points.values():
        p.check()
    ratio = result.ratio("f16", "f32")
    timed = result.measurements["f16"]
    row = {**ratio.fields("ratio_f16_over_f32"), "comparison": ratio.describe(),
           "regime": timed.regime, "regime_detail": timed.regime_detail}
    for acc, p in points.items():
        m = result.measurements[acc]
        f = p.fields(m)
        row.update({f"{acc}_{k}": f.get(k) for k in keys if k in f})
        c = m.conditions
        energy = c.power_w * m.median_ms * 1e-3 if c.power_w else None    # joules per launch
        row.update({f"{acc}_power_w": c.power_w, f"{acc}_power_source": c.power_source,
                    f"{acc}_power_above_limit": c.power_above_limit,
                    f"{acc}_temperature_c": c.temperature_c,
                    f"{acc}_energy_j_per_launch": energy,
                    f"{acc}_pj_per_flop": energy / p.flops * 1e12 if energy else None})
    return row
