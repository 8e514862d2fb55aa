"""Nsight Compute evidence for the Triton puzzle: tensor-pipe use and stall reasons of the Triton
GEMMs of `python -m mmabench gemm` (both layouts of B, the four tile configurations, both
accumulators), one profiled launch each.

    python scripts/triton_ncu.py [--out DIR] [--size 8192] [--clock-control none|base]

ncu locks the SM clock to base by default; this runs with `--clock-control none` unless told
otherwise (the clocks a user's run sees), and writes it into every row. Output: DIR/ncu-raw.csv
(every metric ncu gave, one row per kernel), DIR/triton-ncu.csv (the condensed columns below),
and the condensed table on stdout. DIR defaults to $MMABENCH_RESULTS/triton-ncu (as
scripts/regenerate.py runs it). Needs a GPU, Triton, torch and ncu on PATH.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

SECTIONS = ("SpeedOfLight", "ComputeWorkloadAnalysis", "WarpStateStats", "SchedulerStats", "LaunchStats")
KERNEL = "regex:_gemm_kernel"
STALL = re.compile(r"smsp__average_warps?_issue_stalled_(\w+?)_per_issue_active\.ratio")


def cases():
    from mmabench.gemm import triton_gemm

    return [(layout, config, acc) for layout in triton_gemm.LAYOUTS for config in triton_gemm.CONFIGS
            for acc in ("f32", "f16")]


def child(size: int) -> None:
    """Launch every Triton GEMM once, in `cases()` order (ncu profiles each launch)."""
    import torch

    from mmabench.gemm import triton_gemm

    torch.manual_seed(0)
    a = torch.randn(size, size, device="cuda", dtype=torch.float16)
    b_nk = torch.randn(size, size, device="cuda", dtype=torch.float16)   # as the gemm run's inputs
    b = {"nt": b_nk, "nn": b_nk.t().contiguous()}
    c = torch.empty(size, size, device="cuda", dtype=torch.float16)
    for layout, config, acc in cases():
        triton_gemm.TritonGemm(acc, layout, config, a, b[layout], c)   # compiles and launches once
        torch.cuda.synchronize()


def gmma_metrics(ncu: str) -> list[str]:
    """Hopper's tensor-pipe (GMMA) utilisation metrics this ncu knows, as % of peak."""
    proc = subprocess.run([ncu, "--query-metrics", "--chip", "gh100"], capture_output=True, text=True)
    names = sorted({m for m in re.findall(r"^(\S*pipe_tensor\S*gmma\S*)\s", proc.stdout, re.M)})
    return [f"{n}.avg.pct_of_peak_sustained_active" for n in names if n.endswith("cycles_active")]


def profile(ncu: str, size: int, clock: str, extra: list[str]) -> str:
    cmd = [ncu, "--clock-control", clock, "--kernel-name", KERNEL, "--csv", "--page", "raw",
           *[a for s in SECTIONS for a in ("--section", s)]]
    if extra:
        cmd += ["--metrics", ",".join(extra)]
    cmd += [sys.executable, __file__, "--child", "--size", str(size)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"ncu failed ({proc.returncode}): {proc.stderr.strip()[-600:]}")
    return proc.stdout


def _table(text: str) -> list[dict]:
    start = text.find('"ID"')
    if start < 0:
        raise RuntimeError("ncu printed no raw metrics table")
    return list(csv.DictReader(io.StringIO(text[start:])))


def parse_raw(text: str) -> list[dict]:
    """ncu's --page raw --csv: a header row, a units row, then one row per profiled kernel."""
    return [r for r in _table(text) if r.get("ID", "").strip().isdigit()]


def parse_units(text: str) -> dict[str, str]:
    """The units row of the same table: metric -> unit ('nsecond', 'hz', '%', ...)."""
    rows = [r for r in _table(text) if not r.get("ID", "").strip()]
    return {k: (v or "").strip() for k, v in rows[0].items()} if rows else {}


# ncu's units for the two metrics converted here, to microseconds and MHz
_TIME_US = {"ns": 1e-3, "nsecond": 1e-3, "us": 1.0, "usecond": 1.0, "ms": 1e3, "msecond": 1e3,
            "s": 1e6, "second": 1e6}
_FREQ_MHZ = {"hz": 1e-6, "cycle/second": 1e-6, "khz": 1e-3, "mhz": 1.0, "ghz": 1e3}


def _scaled(value, unit: str, table: dict[str, float], what: str) -> float | None:
    number = _number(value)
    if number is None:
        return None
    factor = table.get(unit.lower())
    if factor is None:
        raise RuntimeError(f"ncu gave {what} in {unit!r}; this script reads {', '.join(table)}")
    return number * factor


def condensed(raw: dict, case, clock: str, units: dict[str, str] | None = None) -> dict:
    layout, config, acc = case
    units = units or {}
    number = lambda key: _number(raw.get(key))
    stalls = {m.group(1): _number(v) for k, v in raw.items() if (m := STALL.fullmatch(k))}
    top = sorted(((v, k) for k, v in stalls.items() if v is not None), reverse=True)[:4]
    return {"kernel": f"triton-{layout} {config.name}", "acc": acc, "clock_control": clock,
            "duration_us": _scaled(raw.get("gpu__time_duration.sum"),
                                   units.get("gpu__time_duration.sum", "ns"), _TIME_US, "the duration"),
            "sm_clock_mhz": _scaled(raw.get("gpc__cycles_elapsed.avg.per_second"),
                                    units.get("gpc__cycles_elapsed.avg.per_second", "hz"), _FREQ_MHZ,
                                    "the clock"),
            "sm_throughput_pct": number("sm__throughput.avg.pct_of_peak_sustained_elapsed"),
            "issue_active_pct": number("smsp__issue_active.avg.pct_of_peak_sustained_active"),
            # the tensor pipe busy (any tensor op: Hopper's HGMMA counts here), % of peak
            "tensor_pipe_active_pct": number("sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_active"),
            "gmma_inst_executed_pct": number("sm__inst_executed_pipe_tensor_op_gmma.avg.pct_of_peak_sustained_active"),
            "registers": number("launch__registers_per_thread"),
            "top_stalls": ", ".join(f"{k} {v:.2f}" for v, k in top),
            **{f"stall_{k}": v for k, v in sorted(stalls.items())}}


def _number(value) -> float | None:
    try:
        return float(str(value).replace(",", ""))
    except (TypeError, ValueError):
        return None


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path)
    p.add_argument("--size", type=int, default=8192)
    p.add_argument("--clock-control", default="none", choices=("none", "base"))
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.size)
        return 0
    import os

    ncu = shutil.which("ncu")
    if args.out is None and os.environ.get("MMABENCH_RESULTS"):
        args.out = Path(os.environ["MMABENCH_RESULTS"]) / "triton-ncu"
    if ncu is None or args.out is None:
        print("needs ncu on PATH and --out DIR (or MMABENCH_RESULTS)")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    extra = gmma_metrics(ncu)
    try:
        text = profile(ncu, args.size, args.clock_control, extra)
    except RuntimeError as exc:   # a metric this ncu refuses: the sections alone still answer
        print(f"with {extra}: {exc}; again without them")
        try:
            text = profile(ncu, args.size, args.clock_control, [])
        except RuntimeError as again:   # no counters (permission), no GPU, ...: one line
            print(f"triton_ncu: {again}")
            return 1
    (args.out / "ncu-raw.csv").write_text(text[text.find('"ID"'):] if '"ID"' in text else text)
    raws = parse_raw(text)
    order = cases()
    if len(raws) != len(order):
        print(f"ncu profiled {len(raws)} kernels, expected {len(order)}")
        return 1
    units = parse_units(text)
    rows = [condensed(r, case, args.clock_control, units) for r, case in zip(raws, order)]
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(args.out / "triton-ncu.csv", "w", newline="") as f:
        w = csv.DictWriter(f, keys)
        w.writeheader()
        w.writerows(rows)
    for r in rows:
        print(f"{r['kernel']:28s} {r['acc']}  {r['duration_us'] or 0:8.1f} us  {r['sm_clock_mhz'] or 0:6.0f} MHz"
              f"  SM {r['sm_throughput_pct'] or 0:5.1f}%  issue {r['issue_active_pct'] or 0:5.1f}%"
              f"  tensor pipe {r['tensor_pipe_active_pct'] or 0:5.1f}%  regs {r['registers'] or 0:.0f}  stalls: {r['top_stalls']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
