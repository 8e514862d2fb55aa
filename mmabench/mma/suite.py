"""The `mma` benchmark: for each form, latency, then a sweep of warps x ILP x blocks per SM,
then the f16- and f32-accumulator twins compared interleaved at the same launch shape.

Every point becomes a row (with the run's context); the saturating point of each form is the
row with the highest TFLOP/s, flagged `saturating` (a best-of-sweep figure, labelled as such).
The comparison rows (kind 'comparison') time both accumulators in alternating rounds at the f32
twin's saturating shape: same warps, ILP and blocks, fresh random data, so the ratio is like
for like. Rows go to disk as they are measured.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from mmabench import measure, record, hardware
from mmabench.reporting import tables
from mmabench.reporting.progress import Progress
from mmabench.mma.bench import (POINT_POLICY, Infeasible, MeasurementError, Point, build, measure_latency, measure_throughput, verify_exact)
from mmabench.mma.catalogue import MmaForm


@dataclass(frozen=True)
class Sweep:
    warps: tuple[int, ...]
    ilps: tuple[int, ...]
    blocks_per_sm: tuple[int, ...]
    policy: measure.Policy = POINT_POLICY

    def points(self):
        return list(itertools.product(self.ilps, self.warps, self.blocks_per_sm))


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


def _form_fields(form: MmaForm, arch: str) -> dict:
    low = form.sass_for(arch)
    return {"form": form.name, "shape": form.shape, "ab_type": form.ab_type, "acc": form.acc,
            "instruction": form.instruction, "sass_opcode": low.opcode,
            "sass_per_instruction": low.per_mma, "native": low.native,
            "flops_per_instruction": form.flops}


def _peak_fields(datasheet: dict | None, form: MmaForm, clock_mhz: float, tflops: float) -> dict:
    peak = hardware.peak_tflops(datasheet, form.ab_type, form.acc)
    if peak is None or not datasheet:
        return {"datasheet_peak_tflops": None, "datasheet_boost_mhz": None,
                "peak_at_measured_clock_tflops": None, "pct_of_peak": None}
    boost = float(datasheet["boost_mhz"])
    at_clock = peak * clock_mhz / boost
    return {"datasheet_peak_tflops": peak, "datasheet_boost_mhz": boost,
            "peak_at_measured_clock_tflops": at_clock, "pct_of_peak": 100 * tflops / at_clock}


def run(forms: list[MmaForm], sweep: Sweep, seed: int | None = None,
        results_root=None) -> tuple[record.RunFolder, list[dict]]:
    """Measure `forms` on the current GPU; returns the run folder and its rows."""
    hardware.require_gpu()
    ctx = {**record.gpu_context(), **record.software_context()}
    datasheet = hardware.datasheet_row(ctx["gpu_name"], ctx["sm_count"])
    ctx["datasheet_row"] = datasheet["key"] if datasheet else ""
    folder = record.RunFolder("mma", ctx["gpu_name"], results_root)
    folder.save_context(ctx)
    folder.save_gpu_state("before")
    rng = np.random.default_rng(seed)
    sms = ctx["sm_count"]
    points = sweep.points()
    progress = Progress(len(forms) * (1 + len(points)), "mma")

    def emit(row: dict) -> None:
        folder.add({**row, **ctx, "timestamp": record.timestamp()})

    for form in forms:
        base = _form_fields(form, hardware.device_arch())
        try:
            lat = build(form, ilp=1)
            verify_exact(lat, rng)
            folder.save_text(f"ptx/{form.name}.ilp1.ptx", lat.ptx)
            folder.save_text(f"sass/{form.name}.ilp1.sass", lat.sass)
            emit({**base, "kind": "latency", "status": "ok", "warps_per_block": 1, "ilp": 1,
                  "blocks_per_sm": None, "grid_blocks": 1,
                  "sass_per_trip": lat.per_trip, **measure_latency(lat, rng)})
        except MeasurementError as exc:
            emit({**base, "kind": "latency", "status": "error", "error": str(exc)})
        progress.step(f"{form.name} latency")

        built = {}
        for ilp, warps, blocks in points:
            point = {"warps_per_block": warps, "ilp": ilp, "blocks_per_sm": blocks}
            try:
                if ilp not in built:
                    built[ilp] = build(form, ilp)
                    verify_exact(built[ilp], rng)
                    folder.save_text(f"ptx/{form.name}.ilp{ilp}.ptx", built[ilp].ptx)
                    folder.save_text(f"sass/{form.name}.ilp{ilp}.sass", built[ilp].sass)
                m = measure_throughput(built[ilp], rng, warps, blocks, sms, sweep.policy)
                emit({**base, "kind": "throughput", "status": "ok",
                      "sass_per_trip": built[ilp].per_trip, **m,
                      **_peak_fields(datasheet, form, m["sm_clock_mhz"], m["tflops"])})
            except MeasurementError as exc:
                status = "skipped" if isinstance(exc, Infeasible) else "error"
                emit({**base, "kind": "throughput", "status": status, "error": str(exc), **point})
            progress.step(f"{form.name} w{warps} ilp{ilp} b{blocks}")

    record.mark_saturating(folder.rows)
    folder.flush()
    for row in compare_accumulators(forms, folder.rows, rng, sms, sweep.policy, datasheet):
        emit(row)
    folder.save_gpu_state("after")
    return folder, folder.rows


def accumulator_pairs(forms: list[MmaForm]) -> list[tuple[MmaForm, MmaForm]]:
    """(f16-acc form, f32-acc twin) for every instruction that has both."""
    by_name = {f.name: f for f in forms}
    return [(f, by_name[f.name.replace(".acc_f16", ".acc_f32")]) for f in forms
            if f.acc == "f16" and f.name.replace(".acc_f16", ".acc_f32") in by_name]


def compare_accumulators(forms, rows, rng, sms, policy, datasheet=None) -> list[dict]:
    """Interleaved f16 vs f32 accumulation at the f32 twin's saturating launch shape."""
    sat = {r["form"]: r for r in rows if r.get("saturating")}
    out = []
    for f16, f32 in accumulator_pairs(forms):
        if f32.name not in sat:
            continue
        s = sat[f32.name]
        warps, ilp, blocks = int(s["warps_per_block"]), int(s["ilp"]), int(s["blocks_per_sm"])
        base = {"form": f16.name.replace(".acc_f16", ""), "kind": "comparison",
                "shape": f16.shape, "ab_type": f16.ab_type, "acc": "f16 vs f32",
                "warps_per_block": warps, "ilp": ilp, "blocks_per_sm": blocks}
        try:
            # the same launch shape and trip count: equal work, so a time ratio is a rate ratio
            p32 = Point(build(f32, ilp), rng, warps, blocks, sms)
            points = {"f32": p32, "f16": Point(build(f16, ilp), rng, warps, blocks, sms,
                                               iters=p32.iters)}
            for p in points.values():
                verify_exact(p.built, rng)
            row = {**base, "status": "ok", **measure.compare_twins(points, policy)}
        except MeasurementError as exc:
            out.append({**base, "status": "error", "error": str(exc)})
            continue
        out.append(row)
    return out


def summary(rows: list[dict], markdown: bool = False) -> str:
    """Per form: latency and the saturating point (best of the sweep); then f16 vs f32
    accumulation compared interleaved at the same launch shape."""
    lat = {r["form"]: r for r in rows if r.get("kind") == "latency" and r.get("status") == "ok"}
    sat = {r["form"]: r for r in rows if tables.truthy(r.get("saturating"))}
    errors = [r for r in rows if r.get("status") == "error"]
    forms = list(dict.fromkeys(r["form"] for r in rows if r.get("kind") != "comparison"))
    body = []
    for name in forms:
        l, s = lat.get(name, {}), sat.get(name, {})
        config = (f"{int(s['warps_per_block'])}w x {int(s['ilp'])} ILP x {int(s['blocks_per_sm'])} blk/SM"
                  if s else "-")
        noise = (f"{tables.fmt(s.get('noise_pct'), 2)}% n={tables.fmt(s.get('samples'))}"
                 if s else "-")
        body.append([name, tables.fmt(l.get("latency_cycles")), tables.fmt(s.get("tflops")),
                     tables.fmt(s.get("flop_per_clk_per_sm"), 0),
                     tables.fmt(s.get("pct_of_peak")), tables.conditions(s) if s else "-",
                     noise, config])
    out = ["best point of the sweep per form (a best-of-N figure):",
           tables.table(["form", "latency (cyc)", "TFLOP/s", "FLOP/clk/SM", "% of peak",
                         "SM clock, power", "noise", "saturating config"], body, markdown)]

    pairs = []
    for r in rows:
        if r.get("kind") != "comparison":
            continue
        if r.get("status") != "ok":
            continue
        config = f"{int(r['warps_per_block'])}w x {int(r['ilp'])} x {int(r['blocks_per_sm'])}"
        pairs.append([r["form"], config, tables.fmt(r.get("f16_tflops")),
                      tables.fmt(r.get("f32_tflops")), r.get("comparison", "-"),
                      tables.pair(r, "sm_clock_mhz", 0), tables.pair(r, "power_w", 0),
                      tables.pair(r, "pj_per_flop", 3),
                      tables.fmt(lat.get(r["form"] + ".acc_f16", {}).get("latency_cycles")),
                      tables.fmt(lat.get(r["form"] + ".acc_f32", {}).get("latency_cycles"))])
    if pairs:
        out.append("")
        out.append("f16 vs f32 accumulation, interleaved rounds at the same launch shape "
                   "(ratio of rates: median and range over rounds):")
        out.append(tables.table(["instruction", "shape", "f16 acc TFLOP/s", "f32 acc TFLOP/s",
                                 "f16/f32", "MHz f16/f32", "W f16/f32", "pJ/FLOP f16/f32", "f16 acc lat",
                                 "f32 acc lat"], pairs, markdown))
    if errors:
        out.append("")
        out += [f"error: {r['form']} {r['kind']} "
                f"w{r.get('warps_per_block')} ilp{r.get('ilp')} b{r.get('blocks_per_sm')}: "
                f"{r['error']}" for r in errors]
    return "\n".join(out)
