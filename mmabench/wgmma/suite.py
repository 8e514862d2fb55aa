"""The `wgmma` benchmark: for each form, the exact checks and latency, then a sweep of
warpgroups per SM x pipeline shape (accumulators, wgmma per commit group), then the f16- and
f32-accumulator twins compared interleaved at the same launch shape (rate, clock, power and
energy per FLOP side by side).

Every point becomes a row with the run's context; the saturating point of each form is flagged
(a best-of-sweep figure, labelled as such). A GPU without wgmma (anything but sm_90) gets one
row per form with status 'unsupported', not an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmabench import measure, record, hardware
from mmabench.reporting import tables
from mmabench.reporting.progress import Progress
from mmabench.wgmma.bench import (POINT_POLICY, Infeasible, MeasurementError, Point, build, measure_latency, measure_throughput, verify_exact)
from mmabench.wgmma.catalogue import DATASHEET_SOURCE, WgmmaForm
from mmabench.wgmma.render import LATENCY, pipeline

UNSUPPORTED = "not supported on this GPU (wgmma needs sm_90a)"


@dataclass(frozen=True)
class Sweep:
    warpgroups: tuple[int, ...]       # per SM (one block per SM)
    ilps: tuple[int, ...]             # accumulators per warpgroup (capped by registers)
    depths: tuple[int, ...]           # wgmma per commit group
    pending: int = 1                  # groups left in flight by each wait_group
    policy: measure.Policy = POINT_POLICY
    compare_policy: measure.Policy | None = None   # f16 vs f32 rounds (None: COMPARE_POLICY)

    def pipelines(self, form: WgmmaForm):
        ilps = sorted({min(i, form.max_ilp()) for i in self.ilps})
        return [pipeline(i, d, self.pending) for i in ilps for d in self.depths]


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
# The f16 vs f32 comparison: 6 interleaved rounds of 5 samples (~2 ms each) for the rate; power
# and energy come from a separate POWER_S block per accumulator (measure.sustained).
COMPARE_POLICY = measure.Policy(warmup_ms=20.0, min_samples=5, max_samples=400, rel_error=0.002,
                                budget_s=1.0, rounds=6, samples_per_round=5)


def supported(arch: str) -> bool:
    """wgmma runs on compute capability 9.0 (built for sm_90a); nothing else has it."""
    return arch == "sm_90"


def form_fields(form: WgmmaForm) -> dict:
    return {"form": form.name, "instruction_form": form.base_name, "shape": form.shape,
            "n": form.n, "ab_type": form.ab_type, "acc": form.acc, "a_src": form.a_src,
            "swizzle": form.swizzle, "instruction": form.instruction, "sass_opcode": form.sass,
            "flops_per_instruction": form.flops, "acc_regs_per_thread": form.c_regs}


def unsupported_rows(forms: list[WgmmaForm], arch: str) -> list[dict]:
    return [{**form_fields(f), "kind": "-", "status": "unsupported",
             "error": f"{UNSUPPORTED}; this GPU is {arch}"} for f in forms]


def run(forms: list[WgmmaForm], sweep: Sweep, seed: int | None = None, results_root=None,
        compare: bool = True) -> tuple[record.RunFolder, list[dict]]:
    """Measure `forms` on the current GPU; returns the run folder and its rows."""
    hardware.require_gpu()
    ctx = {**record.gpu_context(), **record.software_context(),
           "datasheet_rate_source": DATASHEET_SOURCE}
    folder = record.RunFolder("wgmma", ctx["gpu_name"], results_root)
    folder.save_context(ctx)

    def emit(row: dict) -> None:
        folder.add({**row, **ctx, "timestamp": record.timestamp()})

    arch = hardware.device_arch()
    if not supported(arch):
        for row in unsupported_rows(forms, arch):
            emit(row)
        return folder, folder.rows

    folder.save_gpu_state("before")
    rng = np.random.default_rng(seed)
    sms = ctx["sm_count"]
    total = sum(1 + len(sweep.pipelines(f)) * len(sweep.warpgroups) for f in forms)
    progress = Progress(total, "wgmma")

    for form in forms:
        base = form_fields(form)
        try:
            lat = build(form, LATENCY)
            verify_exact(lat, rng)
            folder.save_text(f"ptx/{form.name}.lat.ptx", lat.ptx)
            folder.save_text(f"sass/{form.name}.lat.sass", lat.sass)
            emit({**base, "kind": "latency", "status": "ok", "warpgroups_per_sm": None,
                  "ilp": 1, "depth": 1, "pending": 0, "sass_per_trip": lat.per_trip,
                  **measure_latency(lat, rng)})
        except MeasurementError as exc:
            emit({**base, "kind": "latency", "status": "error", "error": str(exc)})
        progress.step(f"{form.name} latency")

        for pipe in sweep.pipelines(form):
            try:
                built = build(form, pipe, throughput=True)
                verify_exact(built, rng)
                folder.save_text(f"ptx/{form.name}.{pipe.label}.ptx", built.ptx)
                folder.save_text(f"sass/{form.name}.{pipe.label}.sass", built.sass)
            except MeasurementError as exc:
                for wg in sweep.warpgroups:
                    emit({**base, "kind": "throughput", "status": "error", "error": str(exc),
                          "warpgroups_per_sm": wg, "ilp": pipe.ilp, "depth": pipe.depth,
                          "pending": pipe.pending})
                    progress.step(f"{form.name} {pipe.label} wg{wg}")
                continue
            for wg in sweep.warpgroups:
                point = {"warpgroups_per_sm": wg, "ilp": pipe.ilp, "depth": pipe.depth,
                         "pending": pipe.pending}
                try:
                    m = measure_throughput(built, rng, wg, sms, sweep.policy)
                    emit({**base, "kind": "throughput", "status": "ok",
                          "sass_per_trip": built.per_trip, **m})
                except MeasurementError as exc:
                    status = "skipped" if isinstance(exc, Infeasible) else "error"
                    emit({**base, "kind": "throughput", "status": status, "error": str(exc),
                          **point})
                progress.step(f"{form.name} {pipe.label} wg{wg}")

    record.mark_saturating(folder.rows)
    folder.flush()
    if compare:
        for row in compare_accumulators(forms, folder.rows, rng, sms,
                                        sweep.compare_policy or COMPARE_POLICY):
            emit(row)
    folder.save_gpu_state("after")
    return folder, folder.rows


def accumulator_pairs(forms: list[WgmmaForm]) -> list[tuple[WgmmaForm, WgmmaForm]]:
    """(f16-acc form, f32-acc twin) for every form that has both."""
    have = set(forms)
    return [(f, f.twin) for f in forms if f.acc == "f16" and f.twin in have]


def compare_accumulators(forms, rows, rng, sms, policy: measure.Policy = COMPARE_POLICY) -> list[dict]:
    """Interleaved f16 vs f32 accumulation at the f32 twin's saturating launch shape (the f16
    accumulators take half the registers, so that shape always fits them too)."""
    sat = {r["form"]: r for r in rows if r.get("saturating")}
    lat = {r["form"]: r.get("latency_cycles") for r in rows
           if r.get("kind") == "latency" and r.get("status") == "ok"}
    out = []
    for f16, f32 in accumulator_pairs(forms):
        if f32.name not in sat:
            continue
        s = sat[f32.name]
        wg, pipe = int(s["warpgroups_per_sm"]), pipeline(int(s["ilp"]), int(s["depth"]),
                                                         int(s["pending"]))
        base = {"form": f16.name.replace(".acc_f16", ""), "kind": "comparison",
                "shape": f16.shape, "n": f16.n, "ab_type": f16.ab_type, "acc": "f16 vs f32",
                "a_src": f16.a_src, "swizzle": f16.swizzle, "warpgroups_per_sm": wg,
                "ilp": pipe.ilp, "depth": pipe.depth, "pending": pipe.pending,
                "f16_latency_cycles": lat.get(f16.name), "f32_latency_cycles": lat.get(f32.name)}
        try:
            points = {}
            for f in (f32, f16):
                b = build(f, pipe, throughput=True)
                verify_exact(b, rng)
                # the same trip count: equal work, so a time ratio is a rate ratio
                points[f.acc] = Point(b, rng, wg, sms, iters=points["f32"].iters if points else None)
            row = {**base, "status": "ok", **measure.compare_twins(
                points, policy, keys=measure.twins.RATE_KEYS + ("pct_of_datasheet_per_clk",))}
        except MeasurementError as exc:
            out.append({**base, "status": "error", "error": str(exc)})
            continue
        out.append(row)
    return out


def summary(rows: list[dict], markdown: bool = False) -> str:
    unsupported = [r for r in rows if r.get("status") == "unsupported"]
    if unsupported and len(unsupported) == len(rows):
        return (f"{len(rows)} wgmma forms: {UNSUPPORTED}. Offline: python -m mmabench wgmma "
                "--offline (assembles for sm_90a and checks the SASS, no GPU needed)")
    lat = {r["form"]: r for r in rows if r.get("kind") == "latency" and r.get("status") == "ok"}
    sat = {r["form"]: r for r in rows if tables.truthy(r.get("saturating"))}
    errors = [r for r in rows if r.get("status") == "error"]
    forms = list(dict.fromkeys(r["form"] for r in rows if r.get("kind") not in ("comparison",)))
    body = []
    for name in forms:
        l, s = lat.get(name, {}), sat.get(name, {})
        config = (f"{int(s['warpgroups_per_sm'])} wg x {int(s['ilp'])} acc x {int(s['depth'])}/group"
                  if s else "-")
        body.append([name, tables.fmt(l.get("latency_cycles")), tables.fmt(s.get("tflops")),
                     tables.fmt(s.get("flop_per_clk_per_sm"), 0),
                     tables.fmt(s.get("pct_of_datasheet_per_clk")),
                     tables.conditions(s) if s else "-", tables.fmt(s.get("pj_per_flop"), 3),
                     tables.fmt(s.get("registers"), 0), config])
    out = ["best point of the sweep per form (a best-of-N figure); % of the datasheet dense rate "
           "per clock (4,096 FLOP/clk/SM f16/bf16, 8,192 FP8) at the clock measured in the kernel:",
           tables.table(["form", "latency (cyc)", "TFLOP/s", "FLOP/clk/SM", "% of datasheet",
                         "SM clock, power", "pJ/FLOP", "regs", "saturating config"], body, markdown)]
    pairs = []
    for r in rows:
        if r.get("kind") != "comparison" or r.get("status") != "ok":
            continue
        config = f"{int(r['warpgroups_per_sm'])} wg x {int(r['ilp'])} x {int(r['depth'])}"
        pairs.append([r["form"], config,
                      f"{tables.fmt(r.get('f16_flop_per_clk_per_sm'), 0)} / "
                      f"{tables.fmt(r.get('f32_flop_per_clk_per_sm'), 0)}",
                      r.get("comparison", "-"),
                      f"{tables.conditions(r, 'f16_')} / {tables.conditions(r, 'f32_')}",
                      tables.pair(r, "pj_per_flop", 3), tables.pair(r, "registers", 0),
                      tables.pair(r, "latency_cycles", 1)])
    if pairs:
        out += ["", "f16 vs f32 accumulation, interleaved rounds at the same launch shape "
                "(time ratio f32/f16: median and range over rounds):",
                tables.table(["instruction", "shape", "FLOP/clk/SM f16/f32", "f16 speed-up",
                              "clock, power f16 / f32", "pJ/FLOP f16/f32", "regs f16/f32",
                              "latency f16/f32"], pairs, markdown)]
    if errors:
        out.append("")
        out += [f"error: {r['form']} {r['kind']} wg{r.get('warpgroups_per_sm')} "
                f"ilp{r.get('ilp')} d{r.get('depth')}: {r['error']}" for r in errors]
    return "\n".join(out)
