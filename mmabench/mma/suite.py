"""The `mma` benchmark: for each form, latency, then a sweep of warps x ILP x blocks per SM.

Every point becomes a row (with the run's context); the saturating point of each form is the
row with the highest TFLOP/s, flagged `saturating`. Rows go to disk as they are measured.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .. import gpu, gpus, record, report
from ..progress import Progress
from .bench import Infeasible, MeasurementError, build, measure_latency, measure_throughput, verify_exact
from .catalogue import MmaForm


@dataclass(frozen=True)
class Sweep:
    warps: tuple[int, ...]
    ilps: tuple[int, ...]
    blocks_per_sm: tuple[int, ...]
    repeats: int

    def points(self):
        return list(itertools.product(self.ilps, self.warps, self.blocks_per_sm))


FULL = Sweep(warps=(1, 2, 4, 8), ilps=(1, 2, 4, 8), blocks_per_sm=(1, 2, 4), repeats=5)
QUICK = Sweep(warps=(4,), ilps=(4, 8), blocks_per_sm=(1, 2, 4), repeats=3)


def _form_fields(form: MmaForm) -> dict:
    return {"form": form.name, "shape": form.shape, "ab_type": form.ab_type, "acc": form.acc,
            "instruction": form.instruction, "sass_opcode": form.sass,
            "flops_per_instruction": form.flops}


def _peak_fields(datasheet: dict | None, form: MmaForm, clock_mhz: float, tflops: float) -> dict:
    peak = gpus.peak_tflops(datasheet, form.ab_type, form.acc)
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
    gpu.require_gpu()
    ctx = {**record.gpu_context(), **record.software_context()}
    datasheet = gpus.lookup(ctx["gpu_name"], ctx["sm_count"])
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
        base = _form_fields(form)
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
                m = measure_throughput(built[ilp], rng, warps, blocks, sms, sweep.repeats)
                emit({**base, "kind": "throughput", "status": "ok",
                      "sass_per_trip": built[ilp].per_trip, **m,
                      **_peak_fields(datasheet, form, m["sm_clock_mhz"], m["tflops"])})
            except MeasurementError as exc:
                status = "skipped" if isinstance(exc, Infeasible) else "error"
                emit({**base, "kind": "throughput", "status": status, "error": str(exc), **point})
            progress.step(f"{form.name} w{warps} ilp{ilp} b{blocks}")

    _mark_saturating(folder.rows)
    folder.flush()
    folder.save_gpu_state("after")
    return folder, folder.rows


def _mark_saturating(rows: list[dict]) -> None:
    best: dict[str, dict] = {}
    for row in rows:
        if row.get("kind") == "throughput" and row.get("status") == "ok":
            row["saturating"] = False
            if row["form"] not in best or row["tflops"] > best[row["form"]]["tflops"]:
                best[row["form"]] = row
    for row in best.values():
        row["saturating"] = True


def summary(rows: list[dict], markdown: bool = False) -> str:
    """Per form: latency and the saturating point; then f16 vs f32 accumulation side by side."""
    lat = {r["form"]: r for r in rows if r.get("kind") == "latency" and r.get("status") == "ok"}
    sat = {r["form"]: r for r in rows if r.get("saturating")}
    errors = [r for r in rows if r.get("status") == "error"]
    forms = list(dict.fromkeys(r["form"] for r in rows))
    body = []
    for name in forms:
        l, s = lat.get(name, {}), sat.get(name, {})
        config = (f"{int(s['warps_per_block'])}w x {int(s['ilp'])} ILP x {int(s['blocks_per_sm'])} blk/SM"
                  if s else "-")
        body.append([name, report.fmt(l.get("latency_cycles")), report.fmt(s.get("tflops")),
                     report.fmt(s.get("flop_per_clk_per_sm"), 0),
                     report.fmt(s.get("pct_of_peak")), report.fmt(s.get("sm_clock_mhz"), 0),
                     config])
    out = [report.table(["form", "latency (cyc)", "TFLOP/s", "FLOP/clk/SM", "% of peak",
                         "SM MHz", "saturating config"], body, markdown)]

    pairs = []
    for name in forms:
        if ".acc_f16" not in name:
            continue
        twin = name.replace(".acc_f16", ".acc_f32")
        if name in sat and twin in sat:
            f16, f32 = sat[name], sat[twin]
            pairs.append([name.replace(".acc_f16", ""), report.fmt(f16["tflops"]),
                          report.fmt(f32["tflops"]), f"{f16['tflops'] / f32['tflops']:.2f}x",
                          report.fmt(lat.get(name, {}).get("latency_cycles")),
                          report.fmt(lat.get(twin, {}).get("latency_cycles"))])
    if pairs:
        out.append("")
        out.append(report.table(["instruction", "f16 acc TFLOP/s", "f32 acc TFLOP/s",
                                 "f16/f32", "f16 acc lat", "f32 acc lat"], pairs, markdown))
    if errors:
        out.append("")
        out += [f"error: {r['form']} {r['kind']} "
                f"w{r.get('warps_per_block')} ilp{r.get('ilp')} b{r.get('blocks_per_sm')}: "
                f"{r['error']}" for r in errors]
    return "\n".join(out)
