#!/usr/bin/env python3
"""nvbench's Python binding (cuda-bench) against mmabench.measure, on two mmabench workloads.

Issue 8 asks whether `cuda-bench` serves better than our own measurement layer. This times the
same launches with both tools and prints one table:

  workloads  mma        one mma.sync throughput point (m16n8k16.f16.acc_f32, ILP 4, 8 warps,
                        1 block per SM, all SMs; the trip count is calibrated once to ~2 ms and
                        reused by every repetition, so every run does the same work)
             attention  the fused attention kernel, f32/f32 delayed, d=128, N=4096, full
  tools      nvbench    cuda.bench, default options: "cold" (L2 flushed, one launch per sample,
                        stdrel stopping: noise <= 0.5 % after >= 0.5 s) and "batch" (hot,
                        launches back to back for >= 0.5 s, one mean)
             measure    mmabench.measure.measure with Policy() (batch) and Policy(mode='cold')

cuda.bench runs its benchmarks once per process (`run_all_benchmarks` refuses a second call), so
every repetition runs in a fresh child process that builds both workloads, then times them with
both tools, the order alternating between repetitions. A child that dies inside nvbench is
re-run without it, so our side is always measured. Outputs are checked after the timings
(the mma chains against C + A.B, the attention output finite and unchanged bit for bit).

    python3 scripts/nvbench_vs_measure.py [--reps 3]

Writes $OUT/nvbench_vs_measure.json (table, every row, nvbench's raw summaries and logs) when
$OUT is set. Without a GPU it prints one line and exits 0.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

MMA_FORM = "m16n8k16.f16.acc_f32"
MMA_ILP, MMA_WARPS, MMA_BLOCKS_PER_SM = 4, 8, 1
ATT_DIM, ATT_SEQ = 128, 4096
WORKLOADS = ("mma", "attention")
PROG = "nvbench_vs_measure"


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:400]


def clean(x):
    """JSON-safe: NaN/inf -> None, tuples -> lists, unknown objects -> str."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if x is None or isinstance(x, (bool, int, str)):
        return x
    try:
        return clean(float(x))
    except (TypeError, ValueError):
        return str(x)


# ----------------------------------------------------------------------------------------------
# child: one repetition (both workloads, both tools) in a fresh process


class Workload:
    def __init__(self, name, launch, clock, check, info):
        self.name, self.launch, self.clock, self.check, self.info = name, launch, clock, check, info


def build_workloads(mma_iters: int | None) -> dict[str, Workload]:
    import cupy
    import numpy as np

    from mmabench.attention import bench, variants
    from mmabench.attention.build import load
    from mmabench.attention.launch import Launcher
    from mmabench.mma.bench import Point, build
    from mmabench.mma.catalogue import by_name

    dev = cupy.cuda.Device().id
    props = cupy.cuda.runtime.getDeviceProperties(dev)
    sms = int(props["multiProcessorCount"])

    form = by_name(MMA_FORM)
    point = Point(build(form, MMA_ILP), np.random.default_rng(0), MMA_WARPS, MMA_BLOCKS_PER_SM,
                  sms, iters=mma_iters or None)

    def check_mma():
        cupy.cuda.Device().synchronize()
        return {"max_abs_err": point.check()}   # raises MeasurementError when off

    mma = Workload("mma", point, point.kernel_clock_mhz, check_mma, {
        "form": form.name, "ilp": MMA_ILP, "warps": MMA_WARPS, "blocks_per_sm": MMA_BLOCKS_PER_SM,
        "sms": sms, "iters": point.iters, "flops": point.flops})

    v = variants.variant(ATT_DIM, "f32", "f32", "delayed")
    case = bench.cases([ATT_DIM], [ATT_SEQ], [False])[0]
    q, k, vv = bench.random_inputs(case.shape, np.random.default_rng(0))
    out = cupy.empty_like(q)
    launcher = Launcher(load(v), q, k, vv, out, False)
    launcher()
    cupy.cuda.Device().synchronize()
    first = out.copy()
    if not bool(cupy.isfinite(first).all()):
        raise RuntimeError("attention output has non-finite entries after the first launch")

    def check_att():
        cupy.cuda.Device().synchronize()
        same = bool((out.view(cupy.uint16) == first.view(cupy.uint16)).all())
        if not same:
            raise RuntimeError("attention output changed between launches (not bit-identical)")
        return {"bit_identical": True, "finite": True}

    flops = 4 * case.batch * case.heads * case.seq * case.seq * case.dim
    att = Workload("attention", launcher, None, check_att, {
        "variant": v.name, "shape": [case.batch, case.heads, case.seq, case.dim],
        "causal": False, "flops": flops})
    return {"mma": mma, "attention": att}


def run_ours(works: dict[str, Workload], rows: list, errors: list) -> None:
    from mmabench.measure import Policy, measure

    for name, w in works.items():
        for mode, policy in (("batch", Policy()), ("cold", Policy(mode="cold"))):
            try:
                t0 = time.perf_counter()
                m = measure(w.launch, policy, clock=w.clock)
                wall = time.perf_counter() - t0
            except Exception as exc:
                errors.append(f"measure {name} {mode}: {one_line(exc)}")
                continue
            c = m.conditions
            rows.append({
                "tool": "measure", "workload": name, "mode": mode,
                "median_ms": m.median_ms, "noise_pct": 100 * m.noise, "samples": m.samples,
                "launches_per_sample": m.launches_per_sample, "converged": m.converged,
                "wall_s": wall, "timed_region_s": c.wall_s,
                "sm_clock_mhz": m.sm_clock_mhz, "sm_clock_source": m.sm_clock_source,
                "sm_clock_mhz_nvml": c.sm_clock_mhz,
                "sm_clock_mhz_min": c.sm_clock_mhz_min, "sm_clock_mhz_max": c.sm_clock_mhz_max,
                "power_w": m.power_w, "power_source": c.power_source,
                "throttle": m.throttle, "throttled": m.throttled,
                "samples_ms": list(m.samples_ms), "fields": m.fields(),
            })


def _summaries(state: dict) -> dict[str, dict]:
    out = {}
    for s in state.get("summaries") or []:
        data = {}
        for d in s.get("data") or []:
            value = d.get("value")
            if d.get("type") in ("float64", "int64") and value is not None:
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    pass
            data[d.get("name")] = value
        out[s.get("tag")] = data
    return out


def _value(summ: dict, *tags):
    for tag in tags:
        if tag in summ and summ[tag].get("value") is not None:
            return summ[tag]["value"]
    return None


def _mhz(x):
    """nvbench gives clock rates in Hz; MHz here (a value that already looks like MHz is kept)."""
    if x is None:
        return None
    x = float(x)
    return x / 1e6 if x > 1e5 else x


def nvbench_rows(json_path: str, walls: dict) -> tuple[list, dict]:
    """Rows from nvbench's JSON (+ the sample and frequency files written by --jsonbin)."""
    with open(json_path, encoding="utf-8") as f:
        doc = json.load(f)
    samples, freqs = {}, {}
    try:
        from cuda.bench.results import BenchmarkResult
        res = BenchmarkResult.from_json(json_path)
        for bname in res:
            states = res[bname].states
            if states:
                st = states[0]
                samples[bname] = list(st.samples) if st.samples is not None else None
                freqs[bname] = list(st.frequencies) if st.frequencies is not None else None
    except Exception as exc:
        samples["_error"] = one_line(exc)
    rows, raw = [], {"samples_error": samples.pop("_error", None)}
    for b in doc.get("benchmarks") or []:
        bname = b.get("name")
        for state in b.get("states") or []:
            summ = _summaries(state)
            raw[bname] = {"state": state.get("name"), "is_skipped": state.get("is_skipped"),
                          "skip_reason": state.get("skip_reason"), "summaries": summ}
            cold_t = samples.get(bname)
            if _value(summ, "nv/cold/sample_size") is not None or cold_t:
                mean_s = _value(summ, "nv/cold/time/gpu/mean")
                if cold_t:
                    med_ms = 1e3 * statistics.median(cold_t)
                    mean = statistics.fmean(cold_t)
                    noise = 100 * statistics.stdev(cold_t) / mean if len(cold_t) > 1 and mean else None
                    n = len(cold_t)
                    source = "samples"
                else:
                    med = _value(summ, "nv/cold/time/gpu/median")
                    med_ms = 1e3 * float(med if med is not None else mean_s)
                    rel = _value(summ, "nv/cold/time/gpu/stdev/relative")
                    noise = 100 * float(rel) if rel is not None else None
                    n = _value(summ, "nv/cold/sample_size")
                    source = "summary median" if med is not None else "summary MEAN"
                f = [_mhz(x) for x in (freqs.get(bname) or []) if x]
                rel = _value(summ, "nv/cold/time/gpu/stdev/relative")
                rows.append({
                    "tool": "nvbench", "workload": bname, "mode": "cold",
                    "median_ms": med_ms, "noise_pct": noise, "samples": n,
                    "median_from": source,
                    "wall_s": _value(summ, "nv/cold/walltime"),
                    "sm_clock_mhz": _mhz(_value(summ, "nv/cold/sm_clock_rate/mean")),
                    "sm_clock_source": "nvbench timestamps kernel (per sample)",
                    "sm_clock_mhz_min": min(f) if f else None,
                    "sm_clock_mhz_max": max(f) if f else None,
                    "clock_scaling_pct": _value(summ, "nv/cold/sm_clock_rate/scaling/percent"),
                    "nvbench_noise_pct": 100 * float(rel) if rel is not None else None,
                    "nvbench_mean_ms": 1e3 * float(mean_s) if mean_s is not None else None,
                    "power_w": None, "throttle": None, "throttled": None,
                    "samples_ms": [1e3 * x for x in cold_t] if cold_t else None,
                    "freqs_mhz": f or None,
                })
            batch_mean = _value(summ, "nv/batch/time/gpu/mean")
            if batch_mean is not None:
                rows.append({
                    "tool": "nvbench", "workload": bname, "mode": "batch",
                    "median_ms": 1e3 * float(batch_mean), "median_from": "batch MEAN",
                    "noise_pct": None, "samples": _value(summ, "nv/batch/sample_size"),
                    "wall_s": _value(summ, "nv/batch/walltime"),
                    "sm_clock_mhz": None, "sm_clock_source": "",
                    "power_w": None, "throttle": None, "throttled": None,
                })
    for r in rows:
        r["bench_fn_wall_s"] = walls.get(r["workload"])
    return rows, raw


def run_nvbench(works: dict[str, Workload], outdir: str, dev: int, rows: list, errors: list,
                result: dict) -> None:
    try:
        import cupy

        import cuda.bench as nb
        nb.State  # noqa: B018 - loads the native module (cuInit, libnvidia-ml) here
        result["cuda_bench_version"] = getattr(nb, "__version__", None)
    except Exception as exc:
        errors.append(f"nvbench unavailable: {one_line(exc)}")
        return

    streams: dict[int, object] = {}
    handles = set()

    def nvbench_stream(launch):
        cs = launch.get_stream()
        try:
            h = int(cs.__cuda_stream__()[1])
        except Exception:
            h = int(cs.addressof())
        s = streams.get(h)
        if s is None:
            s = streams[h] = cupy.cuda.ExternalStream(h)
            handles.add((h, int(cs.addressof())))
        return s

    walls: dict[str, float] = {}

    def make(name, w):
        def bench_fn(state):
            t0 = time.perf_counter()

            def launcher(launch):
                with nvbench_stream(launch):
                    w.launch()
            state.exec(launcher)
            walls[name] = time.perf_counter() - t0
        bench_fn.__name__ = bench_fn.__qualname__ = name
        return bench_fn

    json_path = os.path.join(outdir, "nvbench.json")
    argv = [PROG, "--devices", str(dev), "--jsonbin", json_path]
    result["nvbench_argv"] = argv
    try:
        for name, w in works.items():
            nb.register(make(name, w))
        sys.stdout.flush()
        t0 = time.perf_counter()
        nb.run_all_benchmarks(argv)
        result["nvbench_total_wall_s"] = time.perf_counter() - t0
        sys.stdout.flush()
    except Exception as exc:
        errors.append(f"nvbench run failed: {one_line(exc)}")
        return
    finally:
        result["nvbench_streams"] = sorted(handles)
    try:
        got, raw = nvbench_rows(json_path, walls)
        rows.extend(got)
        result["nvbench_raw"] = raw
        if not got:
            errors.append("nvbench wrote no measurement rows (see its log)")
    except Exception as exc:
        errors.append(f"nvbench results unreadable: {one_line(exc)}")


def child(args) -> int:
    result = {"rep": args.rep, "order": args.order, "rows": [], "errors": [], "checks": {}}
    path = args.result

    def save():
        with open(path, "w", encoding="utf-8") as f:
            json.dump(clean(result), f)

    try:
        import cupy
        works = build_workloads(args.mma_iters)
        dev = cupy.cuda.Device().id
        props = cupy.cuda.runtime.getDeviceProperties(dev)
        name = props["name"]
        result["gpu"] = name.decode() if isinstance(name, bytes) else str(name)
        result["workloads"] = {n: w.info for n, w in works.items()}
        result["versions"] = {"python": sys.version.split()[0], "cupy": cupy.__version__}
    except Exception as exc:
        result["errors"].append(f"workloads could not be built: {one_line(exc)}")
        save()
        return 0
    save()
    stages = {"measure": lambda: run_ours(works, result["rows"], result["errors"]),
              "nvbench": lambda: run_nvbench(works, args.nvbench_dir, dev, result["rows"],
                                             result["errors"], result)}
    order = ["measure", "nvbench"] if args.order == "measure-first" else ["nvbench", "measure"]
    if args.no_nvbench:
        order = ["measure"]
    for stage in order:
        stages[stage]()
        save()
    for n, w in works.items():
        try:
            result["checks"][n] = w.check()
        except Exception as exc:
            result["checks"][n] = {"error": one_line(exc)}
            result["errors"].append(f"check {n}: {one_line(exc)}")
    save()
    return 0


# ----------------------------------------------------------------------------------------------
# parent: repetitions, table, JSON


def throttle_lines(log_text: str) -> dict[str, int]:
    """nvbench's log lines saying it discarded a sample because the clock fell below its
    threshold, counted per benchmark (attributed to the last benchmark named in the log)."""
    counts: dict[str, int] = {}
    current = "?"
    for line in log_text.splitlines():
        for w in WORKLOADS:
            if w in line and ("Run:" in line or "# " in line or "[" in line):
                current = w
        if "throttled below threshold" in line:
            counts[current] = counts.get(current, 0) + 1
    return counts


def run_child(rep: int, order: str, workdir: Path, mma_iters, no_nvbench: bool, timeout: float):
    ndir = workdir / f"rep{rep}{'-measure-only' if no_nvbench else ''}"
    ndir.mkdir(parents=True, exist_ok=True)
    result_path = ndir / "result.json"
    log_path = ndir / "child.log"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--rep", str(rep),
           "--order", order, "--result", str(result_path), "--nvbench-dir", str(ndir)]
    if mma_iters:
        cmd += ["--mma-iters", str(mma_iters)]
    if no_nvbench:
        cmd.append("--no-nvbench")
    note = None
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=str(REPO),
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)     # the child's own process group, started just above
            proc.wait()
            rc, note = None, f"child timed out after {timeout:.0f} s"
    if rc not in (0, None):
        note = f"child exited with {rc}" + (" (signal)" if rc < 0 else "")
    result = None
    if result_path.exists():
        try:
            result = json.loads(result_path.read_text(encoding="utf-8"))
        except ValueError:
            result = None
    log_text = log_path.read_text(encoding="utf-8", errors="replace")
    if note:
        tail = " | ".join(line.strip() for line in log_text.strip().splitlines()[-3:])
        note += f"; log tail: {tail[-300:]}"
    return result, note, log_text


def fmt(x, spec):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return format(x, spec)


def print_table(headers, rows) -> None:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    print("  ".join(str(h).ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))


def summarize(rows: list[dict]) -> list[dict]:
    """Per (tool, workload, mode): the median over repetitions and how far the repetitions
    spread, the typical noise and wall time, and what the tool said about the GPU's state."""
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault((r["tool"], r["workload"], r["mode"]), []).append(r)
    out = []
    for (tool, work, mode), rs in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
        meds = [r["median_ms"] for r in rs if r.get("median_ms") is not None]
        med = statistics.median(meds) if meds else None
        noises = [r["noise_pct"] for r in rs if r.get("noise_pct") is not None]
        walls = [r["wall_s"] for r in rs if r.get("wall_s") is not None]
        clocks = [r["sm_clock_mhz"] for r in rs if r.get("sm_clock_mhz")]
        powers = [r["power_w"] for r in rs if r.get("power_w")]
        samples = [r["samples"] for r in rs if r.get("samples") is not None]
        out.append({
            "tool": tool, "workload": work, "mode": mode, "reps": len(rs),
            "median_ms": med,
            "rep_spread_pct": 100 * (max(meds) - min(meds)) / med if med and len(meds) > 1 else None,
            "noise_pct": statistics.median(noises) if noises else None,
            "samples": statistics.median(samples) if samples else None,
            "wall_s": statistics.fmean(walls) if walls else None,
            "sm_clock_mhz": statistics.median(clocks) if clocks else None,
            "clock_source": next((r.get("sm_clock_source") for r in rs if r.get("sm_clock_source")), ""),
            "power_w": statistics.median(powers) if powers else None,
            "reports_clock": bool(clocks), "reports_power": bool(powers),
            "reports_throttle_reasons": any(r.get("throttle") is not None for r in rs),
            "throttled_any": any(bool(r.get("throttled")) for r in rs),
            "throttle": "+".join(sorted({t for r in rs for t in (r.get("throttle") or "").split("+") if t})),
            "nvbench_throttle_discards": sum(r.get("nvbench_throttle_discards") or 0 for r in rs)
            if tool == "nvbench" else None,
            "median_from": next((r.get("median_from") for r in rs if r.get("median_from")),
                                "median of samples"),
        })
    return out


def parent(args) -> int:
    try:
        from mmabench import hardware
        reason = hardware.unavailable_reason()
    except Exception as exc:
        reason = f"mmabench could not be imported ({one_line(exc)})"
    if reason:
        print(f"{PROG}: nothing measured: {reason}")
        return 0
    try:
        from importlib.metadata import version
        cb_version = version("cuda-bench")
    except Exception:
        cb_version = None

    out_dir = os.environ.get("OUT")
    workdir = Path(out_dir) / "nvbench_vs_measure" if out_dir else Path(tempfile.mkdtemp(prefix="nvbvm-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"{PROG}: {args.reps} repetitions, each a fresh process (cuda-bench "
          f"{cb_version or 'NOT installed'}); raw files in {workdir}", flush=True)

    t_start = time.perf_counter()
    all_rows, reps, notes, mma_iters = [], [], [], args.mma_iters
    for rep in range(1, args.reps + 1):
        def left():
            return args.total_budget - (time.perf_counter() - t_start)
        if left() < 30:
            notes.append(f"stopped before repetition {rep}: total budget {args.total_budget:.0f} s spent")
            break
        order = "measure-first" if rep % 2 else "nvbench-first"
        t0 = time.perf_counter()
        result, note, log_text = run_child(rep, order, workdir, mma_iters, False,
                                           min(args.child_timeout, left()))
        missing_ours = not result or not any(r["tool"] == "measure" for r in result.get("rows", []))
        if note:
            notes.append(f"rep {rep}: {note}")
        if missing_ours and note and left() >= 30:   # the child died (in nvbench?) first
            notes.append(f"rep {rep}: re-run without nvbench so that measure still runs")
            result2, note2, _ = run_child(rep, "measure-first", workdir, mma_iters, True,
                                          min(args.child_timeout, left()))
            if note2:
                notes.append(f"rep {rep} (measure only): {note2}")
            if result2:
                if result:
                    result2["rows"] = [r for r in result.get("rows", []) if r["tool"] == "nvbench"] \
                        + result2.get("rows", [])
                    result2["errors"] = result.get("errors", []) + result2.get("errors", [])
                result = result2
        if not result:
            continue
        discards = throttle_lines(log_text)
        for r in result.get("rows", []):
            r["rep"], r["order"] = rep, order
            if r["tool"] == "nvbench" and r["mode"] == "cold":   # its throttle check is cold-only
                r["nvbench_throttle_discards"] = discards.get(r["workload"], 0)
        result["child_wall_s"] = time.perf_counter() - t0
        result["nvbench_throttle_discards"] = discards
        for e in result.get("errors", []):
            notes.append(f"rep {rep}: {e}")
        if not mma_iters:
            mma_iters = (result.get("workloads") or {}).get("mma", {}).get("iters")
        all_rows += result.get("rows", [])
        reps.append(result)
        tools = sorted({r["tool"] for r in result.get("rows", [])})
        print(f"  rep {rep} ({order}): {len(result.get('rows', []))} rows from "
              f"{'+'.join(tools) or 'no tool'} in {result['child_wall_s']:.1f} s", flush=True)

    gpu_name = next((r.get("gpu") for r in reps if r.get("gpu")), "?")
    print(f"\nGPU: {gpu_name}; workloads: " + "; ".join(
        f"{n}: {json.dumps(i)}" for n, i in ((reps[0].get("workloads") or {}).items() if reps else [])))

    print("\nEvery run (ms per launch; noise = stdev/mean of the samples; wall = seconds the tool "
          "spent on this measurement):")
    print_table(
        ["rep", "tool", "workload", "mode", "median ms", "noise %", "samples", "wall s",
         "SM MHz", "clock min-max", "power W", "throttle"],
        [[r["rep"], r["tool"], r["workload"], r["mode"], fmt(r.get("median_ms"), ".4f"),
          fmt(r.get("noise_pct"), ".2f"), fmt(r.get("samples"), ".0f"), fmt(r.get("wall_s"), ".2f"),
          fmt(r.get("sm_clock_mhz"), ".0f"),
          f"{fmt(r.get('sm_clock_mhz_min'), '.0f')}-{fmt(r.get('sm_clock_mhz_max'), '.0f')}"
          if r.get("sm_clock_mhz_min") else "-",
          fmt(r.get("power_w"), ".0f"),
          (r.get("throttle") or "none") if r["tool"] == "measure"
          else ("n/a" if r["mode"] != "cold"
                else f"n/a ({r.get('nvbench_throttle_discards', 0)} discards)")]
         for r in sorted(all_rows, key=lambda r: (r["workload"], r["mode"], r["tool"], r["rep"]))])

    table = summarize(all_rows)
    print("\nSummary over repetitions (rep spread = (max-min)/median of the per-run medians):")
    print_table(
        ["tool", "workload", "mode", "reps", "median ms", "rep spread %", "noise %", "samples",
         "wall s", "SM MHz", "clock from", "power W", "clock?", "power?", "throttle reasons?"],
        [[t["tool"], t["workload"], t["mode"], t["reps"], fmt(t["median_ms"], ".4f"),
          fmt(t["rep_spread_pct"], ".2f"), fmt(t["noise_pct"], ".2f"), fmt(t["samples"], ".0f"),
          fmt(t["wall_s"], ".2f"), fmt(t["sm_clock_mhz"], ".0f"), t["clock_source"] or "-",
          fmt(t["power_w"], ".0f"), "yes" if t["reports_clock"] else "no",
          "yes" if t["reports_power"] else "no",
          ("yes: " + (t["throttle"] or "none")) if t["reports_throttle_reasons"]
          else ("no" if t["mode"] != "cold" else
                f"no ({t['nvbench_throttle_discards'] or 0} samples discarded below its clock threshold)")]
         for t in table])

    ratios = []
    by = {(t["tool"], t["workload"], t["mode"]): t for t in table}
    for w in WORKLOADS:
        for mode in ("cold", "batch"):
            a, b = by.get(("nvbench", w, mode)), by.get(("measure", w, mode))
            if a and b and a["median_ms"] and b["median_ms"]:
                ratios.append({"workload": w, "mode": mode,
                               "nvbench_over_measure": a["median_ms"] / b["median_ms"],
                               "wall_nvbench_s": a["wall_s"], "wall_measure_s": b["wall_s"]})
    if ratios:
        print("\nnvbench median / measure median (same workload, same mode):")
        for r in ratios:
            print(f"  {r['workload']:<9} {r['mode']:<5} {r['nvbench_over_measure']:.4f}   "
                  f"wall: nvbench {fmt(r['wall_nvbench_s'], '.2f')} s, measure "
                  f"{fmt(r['wall_measure_s'], '.2f')} s")
    totals = []
    for w in WORKLOADS:
        nv = [r["bench_fn_wall_s"] for r in all_rows if r["tool"] == "nvbench"
              and r["workload"] == w and r["mode"] == "cold" and r.get("bench_fn_wall_s")]
        ours = {}
        for r in all_rows:
            if r["tool"] == "measure" and r["workload"] == w and r.get("wall_s") is not None:
                ours[r["rep"]] = ours.get(r["rep"], 0.0) + r["wall_s"]
        if nv or ours:
            totals.append({"workload": w,
                           "nvbench_exec_s": statistics.fmean(nv) if nv else None,
                           "measure_batch_plus_cold_s": statistics.fmean(ours.values()) if ours else None})
    if totals:
        print("\nHost wall time per repetition, both modes together (nvbench: its state.exec, "
              "cold + batch with warm-ups; measure: batch + cold calls):")
        for t in totals:
            print(f"  {t['workload']:<9} nvbench {fmt(t['nvbench_exec_s'], '.2f')} s, "
                  f"measure {fmt(t['measure_batch_plus_cold_s'], '.2f')} s")
    checks = {f"rep{r.get('rep', i + 1)}": r.get("checks") for i, r in enumerate(reps)}
    print("\nOutput checks: " + json.dumps(checks))
    if notes:
        print("\nNotes:")
        for n in notes:
            print(f"  - {n}")
    if out_dir:
        payload = {"table": table, "ratios": ratios, "host_wall": totals, "rows": all_rows,
                   "reps": [{k: v for k, v in r.items() if k != "rows"} for r in reps],
                   "notes": notes, "cuda_bench_version": cb_version, "gpu": gpu_name,
                   "wall_s": time.perf_counter() - t_start}
        path = Path(out_dir) / "nvbench_vs_measure.json"
        path.write_text(json.dumps(clean(payload), indent=1), encoding="utf-8")
        print(f"\nwrote {path}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=3, help="repetitions (fresh process each)")
    p.add_argument("--child-timeout", type=float, default=200.0, help="seconds per repetition")
    p.add_argument("--total-budget", type=float, default=540.0,
                   help="seconds for the whole run: each repetition gets at most what is left")
    p.add_argument("--mma-iters", type=int, default=None, help="fixed trip count of the mma point")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--rep", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--order", default="measure-first", choices=["measure-first", "nvbench-first"],
                   help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    p.add_argument("--nvbench-dir", help=argparse.SUPPRESS)
    p.add_argument("--no-nvbench", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.reps < 1:
        print(f"{PROG}: --reps must be >= 1")
        return 0
    if args.child:
        return child(args)
    try:
        return parent(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted")
        return 0
    except Exception as exc:      # an experiment script: say what broke in one line
        print(f"{PROG}: failed: {one_line(exc)}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
