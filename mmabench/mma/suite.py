"""The `mma` benchmark: for each form, latency, then a sweep of warps x ILP x blocks per SM,
then the f16- and f32-accumulator twins compared interleaved at the same launch shape; the run
itself is the instruction families' one (mmabench.instructions.suite).

Throughput rows carry the % of the GPU's datasheet peak at the SM clock measured in the run.
"""

from __future__ import annotations

from mmabench import hardware, measure, record
from mmabench.instructions import suite
from mmabench.instructions.sweep import Shape, Sweep  # noqa: F401  (shared with softmax)
from mmabench.instructions.suite import best_points, comparison_cell, ok_comparisons, warp_config
from mmabench.mma import bench
from mmabench.mma.catalogue import MmaForm
from mmabench.reporting import tables


# The default finds the same peak as the exhaustive sweep on H100 (within 0.01 %, shipped
# data/results/h100-sxm5/mma): 4-8 warps x 4-8 chains saturate the tensor pipes of every
# sub-partition. --full keeps the exhaustive sweep, --quick the smallest useful one.
DEFAULT = Sweep(warps=(4, 8), ilps=(4, 8), blocks_per_sm=(1, 2))
FULL = Sweep(warps=(1, 2, 4, 8), ilps=(1, 2, 4, 8), blocks_per_sm=(1, 2, 4),
             policy=measure.Policy(warmup_ms=4.0, min_samples=10, max_samples=200,
                                   rel_error=0.002, budget_s=1.0, rounds=9, samples_per_round=3))
QUICK = Sweep(warps=(4,), ilps=(4, 8), blocks_per_sm=(1, 2),
              policy=measure.Policy(warmup_ms=2.0, min_samples=3, max_samples=20, rel_error=0.01,
                                    budget_s=0.1, rounds=3, samples_per_round=2))


def _peak_fields(datasheet: dict | None, form: MmaForm, clock_mhz: float, tflops: float) -> dict:
    peak = hardware.peak_tflops(datasheet, form.ab_type, form.acc)
    if peak is None or not datasheet:
        return {"datasheet_peak_tflops": None, "datasheet_boost_mhz": None,
                "peak_at_measured_clock_tflops": None, "pct_of_peak": None}
    boost = float(datasheet["boost_mhz"])
    at_clock = peak * clock_mhz / boost
    return {"datasheet_peak_tflops": peak, "datasheet_boost_mhz": boost,
            "peak_at_measured_clock_tflops": at_clock, "pct_of_peak": 100 * tflops / at_clock}


class Mma(suite.Family):
    name = "mma"
    latency_kernel = 1       # ILP 1, one warp
    latency_fields = {"warps_per_block": 1, "ilp": 1, "blocks_per_sm": None, "grid_blocks": 1}
    verify_exact = staticmethod(bench.verify_exact)
    measure_latency = staticmethod(bench.measure_latency)

    def context(self, ctx: dict) -> dict:
        datasheet = hardware.datasheet_row(ctx["gpu_name"], ctx["sm_count"])
        return {"datasheet_row": datasheet["key"] if datasheet else ""}

    def form_fields(self, form: MmaForm, arch: str) -> dict:
        low = form.sass_for(arch)
        return {"form": form.name, "shape": form.shape, "ab_type": form.ab_type, "acc": form.acc,
                "instruction": form.instruction, "sass_opcode": low.opcode,
                "sass_per_instruction": low.per_mma, "native": low.native,
                "flops_per_instruction": form.flops}

    def build(self, form: MmaForm, ilp: int, throughput: bool) -> bench.Built:
        return bench.build(form, ilp)

    def launch(self, built, rng, shape: Shape, sms: int, iters=None) -> bench.Point:
        return bench.Point(built, rng, shape.warps, shape.blocks_per_sm, sms, iters=iters)

    def throughput_fields(self, form: MmaForm, row: dict, ctx: dict) -> dict:
        datasheet = hardware.datasheet_row(ctx["gpu_name"], ctx["sm_count"])
        return {"check_rule": bench.check_rule(form)[1],
                **_peak_fields(datasheet, form, row["sm_clock_mhz"], row["tflops"])}

    def shape_of(self, row: dict) -> Shape:
        return Shape(int(row["warps_per_block"]), int(row["ilp"]), int(row["blocks_per_sm"]))


def run(forms: list[MmaForm], sweep: Sweep, seed: int | None = None,
        results_root=None, regime: str | None = None) -> tuple[record.RunFolder, list[dict]]:
    """Measure `forms` on the current GPU; returns the run folder and its rows."""
    return suite.run(Mma(), forms, sweep, seed, results_root, regime=regime)


def summary(rows: list[dict], markdown: bool = False) -> str:
    """Per form: latency and the saturating point (best of the sweep); then f16 vs f32
    accumulation compared interleaved at the same launch shape."""
    forms, lat, sat, errors = best_points(rows)
    body = []
    for name in forms:
        l, s = lat.get(name, {}), sat.get(name, {})
        config = (f"{int(s['warps_per_block'])}w x {int(s['ilp'])} ILP x {int(s['blocks_per_sm'])} blk/SM"
                  if s else "-")
        noise = (f"{tables.fmt(s.get('noise_pct'), 2)}% n={tables.fmt(tables.number(s.get('samples')), 0)}"
                 if s else "-")
        body.append([name, tables.fmt(l.get("latency_cycles")), tables.fmt(s.get("tflops")),
                     tables.fmt(s.get("flop_per_clk_per_sm"), 0),
                     tables.fmt(s.get("pct_of_peak")), tables.clock_power(s) if s else "-",
                     noise, config])
    out = ["best point of the sweep per form (a best-of-N figure):",
           tables.table(["form", "latency (cyc)", "TFLOP/s", "FLOP/clk/SM", "% of peak",
                         "MHz/W", "noise", "saturating config"], body, markdown)]

    pairs = []
    for r in ok_comparisons(rows):
        pairs.append([r["form"], warp_config(r), tables.pair(r, "tflops"),
                      comparison_cell(r),
                      tables.clock_power(r, "f16_"), tables.clock_power(r, "f32_"),
                      tables.pair(r, "pj_per_flop", 3),
                      f"{tables.fmt(lat.get(r['form'] + '.acc_f16', {}).get('latency_cycles'))} / "
                      f"{tables.fmt(lat.get(r['form'] + '.acc_f32', {}).get('latency_cycles'))}"])
    if pairs:
        out.append("")
        out.append("f16 vs f32 accumulation, interleaved rounds at the same launch shape "
                   "(ratio of rates: median and range over rounds):")
        out.append(tables.table(["instruction", "shape", "TFLOP/s f16/f32", "f16/f32",
                                 "MHz/W f16", "MHz/W f32", "pJ/FLOP f16/f32", "lat f16/f32"],
                                pairs, markdown))
    out += suite.closing_notes(rows, bool(pairs), errors, suite.warp_shape_label)
    return "\n".join(out)
