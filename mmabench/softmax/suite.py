"""The `softmax` benchmark: for each form, latency, then a sweep of warps x ILP x blocks per SM,
then each f16x2 form compared with its f32 twin interleaved at the same launch shape (equal
trip counts: equal instructions, so the ratio is per instruction; per element, double it);
the run itself is the instruction families' one (mmabench.instructions.suite).

The headline is elements per clock per SM at the SM clock measured in the kernel, beside the
SASS ops per clock per SM of the opcodes that carry the instruction.
"""

from __future__ import annotations

from mmabench import measure, record
from mmabench.instructions import suite
from mmabench.instructions.suite import best_points, comparison_cell, ok_comparisons, warp_config
from mmabench.instructions.sweep import Shape, Sweep
from mmabench.softmax import bench
from mmabench.softmax.catalogue import SoftmaxForm
from mmabench.reporting import tables

# Cheap ALU/MUFU ops with latencies of 4-20 cycles: 8-16 warps x 4-8 chains per SM fill every
# sub-partition's pipes (32-64 independent chains per scheduler).
DEFAULT = Sweep(warps=(8, 16), ilps=(4, 8), blocks_per_sm=(1, 2))
FULL = Sweep(warps=(4, 8, 16, 32), ilps=(1, 2, 4, 8, 16), blocks_per_sm=(1, 2, 4),
             policy=measure.Policy(warmup_ms=4.0, min_samples=10, max_samples=200,
                                   rel_error=0.002, budget_s=1.0, rounds=9, samples_per_round=3))
QUICK = Sweep(warps=(16,), ilps=(8,), blocks_per_sm=(2,),
              policy=measure.Policy(warmup_ms=2.0, min_samples=3, max_samples=20, rel_error=0.01,
                                    budget_s=0.1, rounds=3, samples_per_round=2))

RATE_KEYS = ("gelements_per_s", "elements_per_clk_per_sm", "sass_ops_per_clk_per_sm",
             "sm_clock_mhz", "throttle", "throttled", "samples", "noise_pct", "registers")


class Softmax(suite.Family):
    name = "softmax"
    latency_kernel = 1       # ILP 1, one warp
    latency_fields = {"warps_per_block": 1, "ilp": 1, "blocks_per_sm": None, "grid_blocks": 1}
    compare_keys = RATE_KEYS
    verify_exact = staticmethod(bench.verify_exact)
    measure_latency = staticmethod(bench.measure_latency)

    def form_fields(self, form: SoftmaxForm, arch: str) -> dict:
        return {"form": form.name, "op": form.op, "type": form.type,
                "instruction": form.instruction, "step": " ".join(form.step),
                "elements_per_instruction": form.elements, "flops_per_instruction": form.flops}

    def build(self, form: SoftmaxForm, ilp: int, throughput: bool) -> bench.Built:
        return bench.build(form, ilp)

    def launch(self, built, rng, shape: Shape, sms: int, iters=None) -> bench.Point:
        return bench.Point(built, rng, shape.warps, shape.blocks_per_sm, sms, iters=iters)

    def shape_of(self, row: dict) -> Shape:
        return Shape(int(row["warps_per_block"]), int(row["ilp"]), int(row["blocks_per_sm"]))

    def comparison_fields(self, f16: SoftmaxForm, f32: SoftmaxForm, rows: list[dict]) -> dict:
        return {"form": f"{f16.name} vs {f32.name}", "op": f16.op}


def run(forms: list[SoftmaxForm], sweep: Sweep, seed: int | None = None, results_root=None,
        regime: str | None = None) -> tuple[record.RunFolder, list[dict]]:
    """Measure `forms` on the current GPU; returns the run folder and its rows."""
    return suite.run(Softmax(), forms, sweep, seed, results_root, regime=regime)


def summary(rows: list[dict], markdown: bool = False) -> str:
    """Per form: latency, the saturating point (best of the sweep) in elements and SASS ops per
    clock per SM, and the SASS each instruction became; then f16x2 vs f32 interleaved."""
    forms, lat, sat, errors = best_points(rows)
    body, sass = [], []
    for name in forms:
        l, s = lat.get(name, {}), sat.get(name, {})
        config = (f"{int(s['warps_per_block'])}w x {int(s['ilp'])} ILP x {int(s['blocks_per_sm'])} blk/SM"
                  if s else "-")
        body.append([name, tables.fmt(l.get("latency_cycles")),
                     tables.fmt(s.get("elements_per_clk_per_sm")),
                     tables.fmt(s.get("sass_ops_per_clk_per_sm")),
                     tables.fmt(s.get("gelements_per_s"), 0),
                     tables.clock_power(s) if s else "-", config])
        seen = s or l
        if seen:
            sass.append([name, seen.get("instruction", "-"), seen.get("sass_per_instruction") or "-",
                         seen.get("others_per_instruction") or "-"])
    out = [tables.note("best point of the sweep per form (a best-of-N figure), per clock per SM "
                       "at the SM clock measured in the kernel:"),
           tables.table(["form", "latency (cyc)", "elem/clk/SM", "SASS ops/clk/SM", "Gelem/s",
                         "MHz/W", "saturating config"], body, markdown)]
    if sass:
        out += ["", "what each instruction became in the SASS that ran (per PTX instruction):",
                tables.table(["form", "PTX", "SASS", "other ops in the loop"], sass, markdown)]
    pairs = []
    for r in ok_comparisons(rows):
        pairs.append([r["form"], warp_config(r), tables.pair(r, "elements_per_clk_per_sm"),
                      comparison_cell(r), tables.clock_power(r, "f16_"),
                      tables.clock_power(r, "f32_")])
    if pairs:
        out += ["", tables.note("f16x2 vs f32, interleaved rounds at the same launch shape and "
                                "trip count (ratio of instruction rates; an f16x2 instruction "
                                "makes 2 elements):"),
                tables.table(["forms", "shape", "elem/clk/SM f16/f32", "instr f16/f32",
                              "MHz/W f16", "MHz/W f32"], pairs, markdown)]
    out += suite.closing_notes(rows, bool(pairs), errors, suite.warp_shape_label)
    return "\n".join(out)
