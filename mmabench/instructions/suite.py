"""The measuring run every instruction family shares.

For each form: the latency chain, then every throughput launch shape of the sweep (one build per
kernel, checked exactly before it is timed), each a row with the run's context; then the
saturating point of each form is flagged (a best-of-sweep figure, labelled as such) and each
f16-accumulator form is compared with its f32 twin in interleaved rounds at the twin's
saturating shape: equal work, fresh random data, so the ratio is like for like. Rows go to disk
as they are measured. A form the GPU does not have gets an 'unsupported' row, not an error.

A family plugs in by subclassing `Family` (what a launch shape is, how to build, check and
launch its kernel, the columns it adds) and giving a sweep with `points(form)` and `policy`.
"""

from __future__ import annotations

from typing import Hashable, Protocol

import numpy as np

from mmabench import hardware, measure, record
from mmabench.compiler import driver_jit
from mmabench.compiler.loader import Built
from mmabench.core.errors import Infeasible, MeasurementError
from mmabench.core.seed import chosen
from mmabench.instructions import bench
from mmabench.instructions.form import accumulator_pairs
from mmabench.measure.twins import RATE_KEYS
from mmabench.reporting import tables
from mmabench.reporting.progress import Progress


class Shape(Protocol):
    """One throughput launch of a sweep."""
    kernel: Hashable     # what the family builds for it (ILP, pipeline): shapes share builds
    fields: dict         # the row columns that name it
    label: str           # for the progress line


class Family:
    """What the run needs from an instruction family."""
    name = ""                    # run folder and progress label: 'mma'
    latency_kernel = None        # what `build` takes for the latency chain
    latency_fields: dict = {}    # row columns of the latency launch
    compare_keys = RATE_KEYS     # per-twin columns of a comparison row

    def unsupported(self, form, arch: str) -> str:
        return f"not supported on this GPU ({form.name} needs sm_{form.min_sm}+); this GPU is {arch}"

    def context(self, ctx: dict) -> dict:
        """Columns the family adds to the run's context."""
        return {}

    def form_fields(self, form, arch: str) -> dict:
        raise NotImplementedError

    def build(self, form, kernel, throughput: bool) -> Built:
        raise NotImplementedError

    def verify_exact(self, built: Built, rng: np.random.Generator) -> None:
        """MeasurementError unless the kernel's result on exactly representable data is exact."""
        raise NotImplementedError

    def measure_latency(self, built: Built, rng: np.random.Generator) -> dict:
        raise NotImplementedError

    def launch(self, built: Built, rng, shape: Shape, sms: int,
               iters: int | None = None) -> bench.Point:
        """A throughput launch ready to time and check (`iters` fixed: equal work for twins);
        Infeasible when the shape does not fit."""
        raise NotImplementedError

    def throughput_fields(self, form, row: dict, ctx: dict) -> dict:
        """Columns added to a measured throughput row (peak figures, ...)."""
        return {}

    def shape_of(self, row: dict) -> Shape:
        """The launch shape a row was measured at."""
        raise NotImplementedError

    def comparison_fields(self, f16, f32, rows: list[dict]) -> dict:
        """Columns of the f16-vs-f32 row besides the launch shape and the measured ones."""
        return {"shape": f16.shape, "ab_type": f16.ab_type}

    def compare_policy(self, sweep) -> measure.Policy:
        return sweep.policy


def run(family: Family, forms: list, sweep, seed: int | None = None, results_root=None,
        compare: bool = True, regime: str | None = None) -> tuple[record.RunFolder, list[dict]]:
    """Measure `forms` on the current GPU; returns the run folder and its rows. The f16 vs f32
    comparison runs in `regime` (measure.in_regime: sustained unless burst or cold timing)."""
    base_policy = family.compare_policy(sweep)
    compare_policy = measure.in_regime(base_policy, regime, cold=base_policy.mode == "cold")
    hardware.require_gpu()
    seed = chosen(seed)   # said, and recorded in the context of every row
    ctx = {**record.gpu_context(), **record.software_context(), "seed": seed}
    ctx.update(family.context(ctx))
    folder = record.RunFolder(family.name, ctx["gpu_name"], results_root)
    folder.save_context(ctx)

    def emit(row: dict) -> None:
        folder.add({**row, **ctx, "timestamp": record.timestamp()})

    arch = hardware.device_arch()
    for row in unsupported_rows(family, forms, arch):
        emit(row)
    forms = [f for f in forms if f.runs_on(arch)]
    if not forms:
        return folder, folder.rows

    folder.save_gpu_state("before")
    rng = np.random.default_rng(seed)
    sms = ctx["sm_count"]
    plan = {form: sweep.points(form) for form in forms}
    precompile(family, plan)
    progress = Progress(sum(1 + len(shapes) for shapes in plan.values()), family.name)

    def build(form, kernel, throughput: bool) -> Built:
        built = family.build(form, kernel, throughput)
        family.verify_exact(built, rng)
        label = built.label if throughput else "lat"
        folder.save_text(f"ptx/{form.name}.{label}.ptx", built.ptx)
        folder.save_text(f"sass/{form.name}.{label}.sass", built.sass)
        return built

    for form in forms:
        base = family.form_fields(form, arch)
        try:
            lat = build(form, family.latency_kernel, throughput=False)
            emit({**base, "kind": "latency", "status": "ok", **family.latency_fields,
                  "sass_per_trip": lat.per_trip, **family.measure_latency(lat, rng)})
        except MeasurementError as exc:
            emit({**base, "kind": "latency", "status": "error", "error": str(exc)})
        progress.step(f"{form.name} latency")

        kernels: dict[Hashable, list[Shape]] = {}
        for shape in plan[form]:
            kernels.setdefault(shape.kernel, []).append(shape)
        for kernel, shapes in kernels.items():
            try:
                built = build(form, kernel, throughput=True)
            except MeasurementError as exc:
                for shape in shapes:
                    emit({**base, "kind": "throughput", "status": "error", "error": str(exc),
                          **shape.fields})
                    progress.step(f"{form.name} {shape.label}")
                continue
            for shape in shapes:
                try:
                    m = bench.measure_point(family.launch(built, rng, shape, sms), sweep.policy)
                    emit({**base, "kind": "throughput", "status": "ok",
                          "sass_per_trip": built.per_trip, **m,
                          **family.throughput_fields(form, m, ctx)})
                except MeasurementError as exc:
                    status = "skipped" if isinstance(exc, Infeasible) else "error"
                    emit({**base, "kind": "throughput", "status": status, "error": str(exc),
                          **shape.fields})
                progress.step(f"{form.name} {shape.label}")

    record.mark_saturating(folder.rows)
    folder.flush()
    if compare:
        for row in compare_accumulators(family, forms, folder.rows, rng, sms, compare_policy):
            emit(row)
    folder.save_gpu_state("after")
    return folder, folder.rows


def precompile(family: Family, plan: dict) -> None:
    """Every kernel of the run built at once (driver_jit.warm: the driver's JIT and nvdisasm in
    threads), so that the run's own builds, one at a time and in order, find them cached."""
    driver_jit.warm(lambda job: family.build(*job), builds_of(family, plan))


def builds_of(family: Family, plan: dict) -> list[tuple]:
    """(form, kernel, throughput) of every build a run of `plan` makes, each once."""
    jobs = {}
    for form, shapes in plan.items():
        jobs[(form.name, None, False)] = (form, family.latency_kernel, False)
        for shape in shapes:
            jobs[(form.name, shape.kernel, True)] = (form, shape.kernel, True)
    return list(jobs.values())


def unsupported_rows(family: Family, forms: list, arch: str) -> list[dict]:
    """A row for each form a GPU of `arch` does not have."""
    return [{**family.form_fields(f, arch), "kind": "-", "status": "unsupported",
             "error": family.unsupported(f, arch)} for f in forms if not f.runs_on(arch)]


def compare_accumulators(family: Family, forms: list, rows: list[dict], rng, sms: int,
                         policy: measure.Policy) -> list[dict]:
    """Interleaved f16 vs f32 accumulation at the f32 twin's saturating launch shape (the f16
    accumulators take half the registers, so that shape fits them too)."""
    sat = {r["form"]: r for r in rows if r.get("saturating")}
    out = []
    for f16, f32 in accumulator_pairs(forms):
        if f32.name not in sat:
            continue
        shape = family.shape_of(sat[f32.name])
        base = {"form": f16.name.replace(".acc_f16", ""), "kind": "comparison",
                **family.comparison_fields(f16, f32, rows), "acc": "f16 vs f32", **shape.fields}
        try:
            points = {}
            for f in (f32, f16):
                built = family.build(f, shape.kernel, throughput=True)
                family.verify_exact(built, rng)
                # the same trip count: equal work, so a time ratio is a rate ratio
                points[f.acc] = family.launch(built, rng, shape, sms,
                                              iters=points["f32"].iters if points else None)
            out.append({**base, "status": "ok",
                        **measure.compare_twins(points, policy, keys=family.compare_keys)})
        except MeasurementError as exc:
            out.append({**base, "status": "error", "error": str(exc)})
    return out


# ---------------------------------------------------------------- summaries

def comparison_cell(row: dict) -> str:
    """The f16/f32 ratio of a comparison row as the tables' compact cell; a row with only the
    described text (an older CSV) has it compacted the same way."""
    if tables.number(row.get("ratio_f16_over_f32")) is not None:
        return tables.ratio(*(row.get("ratio_f16_over_f32" + k) for k in ("", "_lo", "_hi")))
    return str(row.get("comparison") or "-").replace(", within noise", "~")


def best_points(rows: list[dict]) -> tuple[list[str], dict, dict, list[dict]]:
    """(form names in row order, latency row per form, saturating row per form, error rows)."""
    forms = list(dict.fromkeys(r["form"] for r in rows if r.get("kind") != "comparison"))
    lat = {r["form"]: r for r in rows if r.get("kind") == "latency" and r.get("status") == "ok"}
    sat = {r["form"]: r for r in rows if tables.truthy(r.get("saturating"))}
    errors = [r for r in rows if r.get("status") == "error"]
    return forms, lat, sat, errors


def closing_notes(rows: list[dict], compared: bool, errors: list[dict], shape_label) -> list[str]:
    """The lines every family's summary ends with: how it was timed and what the clock/power
    flags and ratio cells mean (when twins were compared), then one line per error row.
    `shape_label(row)`: the launch shape of an error row ('w8 ilp4 b2')."""
    out = list(tables.timing_note(rows)) if compared else []
    out.append(tables.clock_power_note(rows, ("", "f16_", "f32_")))
    if compared:
        out.append(tables.RATIO_NOTE)
    if errors:
        out.append("")
        out += [f"error: {r['form']} {r['kind']} {shape_label(r)}: {r['error']}" for r in errors]
    return out


def ok_comparisons(rows: list[dict]) -> list[dict]:
    """The f16/f32 comparison rows that measured (the summaries' comparison tables)."""
    return [r for r in rows if r.get("kind") == "comparison" and r.get("status") == "ok"]


def warp_config(r: dict) -> str:
    """'8w x 4 x 2': warps per block x chains per warp x blocks per SM of a per-warp family's row."""
    return f"{int(r['warps_per_block'])}w x {int(r['ilp'])} x {int(r['blocks_per_sm'])}"


def warp_shape_label(r: dict) -> str:
    """The launch shape of a per-warp family's row (mma.sync, softmax)."""
    return f"w{r.get('warps_per_block')} ilp{r.get('ilp')} b{r.get('blocks_per_sm')}"


def gpu_line(rows: list[dict], arch: str) -> str:
    """'NVIDIA H200 (sm_90, 132 SMs), driver 580.159.04, CUDA 13.0' from a run's rows."""
    ctx = rows[0] if rows else {}
    return (f"{ctx.get('gpu_name', '?')} ({arch}, {ctx.get('sm_count', '?')} SMs), "
            f"driver {ctx.get('driver_version', '?')}, CUDA {ctx.get('driver_cuda_version', '?')}")


def finish(folder, rows: list[dict], arch: str, summary_text: str) -> int:
    """Print a family run's GPU, its summary and where its rows went; exit code 1 if a row is an
    error."""
    print(f"\n{gpu_line(rows, arch)}")
    print(summary_text)
    print(f"\nresults: {folder.path}")
    return 0 if all(r.get("status") != "error" for r in rows) else 1
