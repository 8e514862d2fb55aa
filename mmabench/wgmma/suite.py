"""The `wgmma` benchmark: for each form, the exact checks and latency, then a sweep of
warpgroups per SM x pipeline shape (accumulators, wgmma per commit group), then the f16- and
f32-accumulator twins compared interleaved at the same launch shape (rate, clock, power and
energy per FLOP side by side); the run itself is the instruction families' one
(mmabench.instructions.suite). A GPU without wgmma (anything but sm_90) gets one row per form
with status 'unsupported', not an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmabench import measure, record
from mmabench.instructions import suite
from mmabench.instructions.bench import POINT_POLICY
from mmabench.instructions.suite import best_points, comparison_cell, ok_comparisons
from mmabench.measure.twins import RATE_KEYS
from mmabench.reporting import tables
from mmabench.wgmma import bench
from mmabench.wgmma.catalogue import DATASHEET_SOURCE, WgmmaForm
from mmabench.wgmma.render import LATENCY, Pipeline, pipeline

UNSUPPORTED = "not supported on this GPU (wgmma needs sm_90a)"


@dataclass(frozen=True)
class Shape:
    """A throughput launch: one block per SM of `warpgroups` warpgroups running `pipe`."""
    warpgroups: int
    pipe: Pipeline

    @property
    def kernel(self) -> Pipeline:
        return self.pipe

    @property
    def fields(self) -> dict:
        return {"warpgroups_per_sm": self.warpgroups, "ilp": self.pipe.ilp,
                "depth": self.pipe.depth, "pending": self.pipe.pending}

    @property
    def label(self) -> str:
        return f"{self.pipe.label} wg{self.warpgroups}"


@dataclass(frozen=True)
class Sweep:
    warpgroups: tuple[int, ...]       # per SM (one block per SM)
    ilps: tuple[int, ...]             # accumulators per warpgroup (capped by registers)
    depths: tuple[int, ...]           # wgmma per commit group
    pending: int = 1                  # groups left in flight by each wait_group
    policy: measure.Policy = POINT_POLICY
    compare_policy: measure.Policy | None = None   # f16 vs f32 rounds (None: COMPARE_POLICY)

    def pipelines(self, form: WgmmaForm) -> list[Pipeline]:
        ilps = sorted({min(i, form.max_ilp()) for i in self.ilps})
        return [pipeline(i, d, self.pending) for i in ilps for d in self.depths]

    def points(self, form: WgmmaForm) -> list[Shape]:
        return [Shape(wg, pipe) for pipe in self.pipelines(form) for wg in self.warpgroups]


# The default keeps one pipeline shape per form (two accumulators where registers allow, four
# wgmma per commit group, one group in flight: a GEMM main loop's shape) and sweeps warpgroups
# per SM, so the 28 default forms finish in about a minute; --full sweeps the pipeline too.
DEFAULT = Sweep(warpgroups=(1, 2, 3), ilps=(2,), depths=(4,))
FULL = Sweep(warpgroups=(1, 2, 3, 4), ilps=(1, 2, 4), depths=(1, 2, 4, 8),
             policy=measure.Policy(warmup_ms=4.0, min_samples=10, max_samples=200,
                                   rel_error=0.002, budget_s=1.0, rounds=9, samples_per_round=3))
QUICK = Sweep(warpgroups=(2,), ilps=(2,), depths=(4,),
              policy=measure.Policy(warmup_ms=2.0, min_samples=3, max_samples=20, rel_error=0.01,
                                    budget_s=0.1, rounds=3, samples_per_round=2),
              compare_policy=measure.Policy(warmup_ms=5.0, min_samples=3, max_samples=100,
                                            rel_error=0.005, budget_s=0.5, rounds=3,
                                            samples_per_round=5))
# The f16 vs f32 comparison: 6 interleaved rounds, in the regime asked for (sustained: one block
# of >= 200 ms per twin and round; burst: 5 samples of ~2 ms); power and energy per FLOP come
# from each twin's own blocks.
COMPARE_POLICY = measure.Policy(warmup_ms=20.0, min_samples=5, max_samples=400, rel_error=0.002,
                                budget_s=1.0, rounds=6, samples_per_round=5)


class Wgmma(suite.Family):
    name = "wgmma"
    latency_kernel = LATENCY
    latency_fields = {"warpgroups_per_sm": None, "ilp": 1, "depth": 1, "pending": 0}
    compare_keys = RATE_KEYS + ("pct_of_datasheet_per_clk",)
    build = staticmethod(bench.build)
    verify_exact = staticmethod(bench.verify_exact)
    measure_latency = staticmethod(bench.measure_latency)

    def unsupported(self, form: WgmmaForm, arch: str) -> str:
        return f"{UNSUPPORTED}; this GPU is {arch}"

    def context(self, ctx: dict) -> dict:
        return {"datasheet_rate_source": DATASHEET_SOURCE}

    def form_fields(self, form: WgmmaForm, arch: str) -> dict:
        return {"form": form.name, "instruction_form": form.base_name, "shape": form.shape,
                "n": form.n, "ab_type": form.ab_type, "acc": form.acc, "a_src": form.a_src,
                "swizzle": form.swizzle, "instruction": form.instruction, "sass_opcode": form.sass,
                "flops_per_instruction": form.flops, "acc_regs_per_thread": form.c_regs}

    def launch(self, built, rng, shape: Shape, sms: int, iters=None) -> bench.Point:
        return bench.Point(built, rng, shape.warpgroups, sms, iters=iters)

    def shape_of(self, row: dict) -> Shape:
        return Shape(int(row["warpgroups_per_sm"]),
                     pipeline(int(row["ilp"]), int(row["depth"]), int(row["pending"])))

    def comparison_fields(self, f16: WgmmaForm, f32: WgmmaForm, rows: list[dict]) -> dict:
        lat = {r["form"]: r.get("latency_cycles") for r in rows
               if r.get("kind") == "latency" and r.get("status") == "ok"}
        return {"shape": f16.shape, "n": f16.n, "ab_type": f16.ab_type, "a_src": f16.a_src,
                "swizzle": f16.swizzle, "f16_latency_cycles": lat.get(f16.name),
                "f32_latency_cycles": lat.get(f32.name)}

    def compare_policy(self, sweep: Sweep) -> measure.Policy:
        return sweep.compare_policy or COMPARE_POLICY


def run(forms: list[WgmmaForm], sweep: Sweep, seed: int | None = None, results_root=None,
        compare: bool = True, regime: str | None = None) -> tuple[record.RunFolder, list[dict]]:
    """Measure `forms` on the current GPU; returns the run folder and its rows."""
    return suite.run(Wgmma(), forms, sweep, seed, results_root, compare, regime)


def summary(rows: list[dict], markdown: bool = False) -> str:
    unsupported = [r for r in rows if r.get("status") == "unsupported"]
    if unsupported and len(unsupported) == len(rows):
        return (f"{len(rows)} wgmma forms: {UNSUPPORTED}. Offline: python -m mmabench wgmma "
                "--offline (assembles for sm_90a and checks the SASS, no GPU needed)")
    forms, lat, sat, errors = best_points(rows)
    body = []
    for name in forms:
        l, s = lat.get(name, {}), sat.get(name, {})
        config = f"{int(s['warpgroups_per_sm'])}x{int(s['ilp'])}x{int(s['depth'])}" if s else "-"
        body.append([name, tables.fmt(l.get("latency_cycles")), tables.fmt(s.get("tflops")),
                     tables.fmt(s.get("flop_per_clk_per_sm"), 0),
                     tables.fmt(s.get("pct_of_datasheet_per_clk")),
                     tables.clock_power(s) if s else "-", tables.fmt(s.get("pj_per_flop"), 3),
                     tables.fmt(s.get("registers"), 0), config])
    out = [tables.note("best point of the sweep per form (a best-of-N figure); % of peak: of the "
                       "datasheet dense rate per clock (4,096 FLOP/clk/SM f16/bf16, 8,192 FP8) at the "
                       "clock measured in the kernel; config: warpgroups/SM x accumulators x "
                       "wgmma per group:"),
           tables.table(["form", "latency (cyc)", "TFLOP/s", "FLOP/clk/SM", "% of peak",
                         "MHz/W", "pJ/FLOP", "regs", "config"], body, markdown)]
    pairs = []
    for r in ok_comparisons(rows):
        config = f"{int(r['warpgroups_per_sm'])}x{int(r['ilp'])}x{int(r['depth'])}"
        pairs.append([r["form"], config, tables.pair(r, "flop_per_clk_per_sm", 0),
                      comparison_cell(r),
                      tables.clock_power(r, "f16_"), tables.clock_power(r, "f32_"),
                      tables.pair(r, "pj_per_flop", 3), tables.pair(r, "registers", 0)])
    if pairs:
        # latency is in the table above, one line per form
        out += ["", tables.note("f16 vs f32 accumulation, interleaved rounds at the same launch shape "
                                "(warpgroups/SM x accumulators x wgmma per group); speed-up: time "
                                "ratio f32/f16, median and range over rounds; pairs: f16 / f32:"),
                tables.table(["instruction", "shape", "FLOP/clk/SM", "f16 speed-up",
                              "MHz/W f16", "MHz/W f32", "pJ/FLOP", "regs"],
                             pairs, markdown)]
    out += suite.closing_notes(
        rows, bool(pairs), errors,
        lambda r: f"wg{r.get('warpgroups_per_sm')} ilp{r.get('ilp')} d{r.get('depth')}")
    return "\n".join(out)
