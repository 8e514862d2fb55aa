"""What the Nsight Compute scripts share: running ncu on a child process, and reading its raw CSV
(a header row, a units row, one row per profiled kernel) into the condensed columns the README
quotes. Used by triton_ncu.py and hopper_attention_ncu.py."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

STALL = re.compile(r"smsp__average_warps?_issue_stalled_(\w+?)_per_issue_active\.ratio")
# ncu's units for the two metrics converted here, to microseconds and MHz
_TIME_US = {"ns": 1e-3, "nsecond": 1e-3, "us": 1.0, "usecond": 1.0, "ms": 1e3, "msecond": 1e3,
            "s": 1e6, "second": 1e6}
_FREQ_MHZ = {"hz": 1e-6, "cycle/second": 1e-6, "khz": 1e-3, "mhz": 1.0, "ghz": 1e3}


def ncu_and_out(out: Path | None, folder: str) -> tuple[str, Path] | None:
    """ncu's path and the output folder (`out`, else $MMABENCH_RESULTS/<folder>, as
    scripts/regenerate.py runs the scripts), created; None, said in one line, without either."""
    ncu = shutil.which("ncu")
    if out is None and os.environ.get("MMABENCH_RESULTS"):
        out = Path(os.environ["MMABENCH_RESULTS"]) / folder
    if ncu is None or out is None:
        print("needs ncu on PATH and --out DIR (or MMABENCH_RESULTS)")
        return None
    out.mkdir(parents=True, exist_ok=True)
    return ncu, out


def gmma_metrics(ncu: str) -> list[str]:
    """Hopper's tensor-pipe (GMMA) utilisation metrics this ncu knows, as % of peak."""
    proc = subprocess.run([ncu, "--query-metrics", "--chip", "gh100"], capture_output=True, text=True)
    names = sorted({m for m in re.findall(r"^(\S*pipe_tensor\S*gmma\S*)\s", proc.stdout, re.M)})
    return [f"{n}.avg.pct_of_peak_sustained_active" for n in names if n.endswith("cycles_active")]


def profile(ncu: str, child: list[str], kernel: str, sections, clock: str, extra: list[str],
            export: str | None = None) -> str:
    """ncu's raw CSV page for every launch of kernels matching `kernel` in the `child` command."""
    cmd = [ncu, "--clock-control", clock, "--kernel-name", kernel, "--csv", "--page", "raw",
           *[a for s in sections for a in ("--section", s)]]
    if extra:
        cmd += ["--metrics", ",".join(extra)]
    if export:
        cmd += ["--export", export, "--force-overwrite"]
    proc = subprocess.run(cmd + child, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"ncu failed ({proc.returncode}): {proc.stderr.strip()[-600:]}")
    if not export:
        return proc.stdout
    # with --export the metrics go to the report, not necessarily to the console: read them back
    back = subprocess.run([ncu, "--import", f"{export}.ncu-rep", "--csv", "--page", "raw"],
                          capture_output=True, text=True)
    if back.returncode:
        raise RuntimeError(f"ncu --import failed ({back.returncode}): {back.stderr.strip()[-600:]}")
    return back.stdout


def profile_with_fallback(ncu: str, child, kernel, sections, clock, extra, export=None) -> str:
    """profile() with `extra`, else without it (a metric this ncu refuses: the sections alone
    still answer). Raises RuntimeError when ncu cannot profile at all."""
    try:
        return profile(ncu, child, kernel, sections, clock, extra, export)
    except RuntimeError as exc:
        if not extra:
            raise
        print(f"with {extra}: {exc}; again without them")
        return profile(ncu, child, kernel, sections, clock, [], export)


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


def number(value) -> float | None:
    try:
        return float(str(value).replace(",", ""))
    except (TypeError, ValueError):
        return None


def _scaled(value, unit: str, table: dict[str, float], what: str) -> float | None:
    value = number(value)
    if value is None:
        return None
    factor = table.get(unit.lower())
    if factor is None:
        raise RuntimeError(f"ncu gave {what} in {unit!r}; this script reads {', '.join(table)}")
    return value * factor


def common_fields(raw: dict, clock: str, units: dict[str, str] | None = None) -> dict:
    """Duration, clock, SM and issue use, tensor-pipe use, registers and stall reasons of one
    profiled kernel (its raw row)."""
    units = units or {}
    stalls = {m.group(1): number(v) for k, v in raw.items() if (m := STALL.fullmatch(k))}
    top = sorted(((v, k) for k, v in stalls.items() if v is not None), reverse=True)[:4]
    return {"clock_control": clock,
            "duration_us": _scaled(raw.get("gpu__time_duration.sum"),
                                   units.get("gpu__time_duration.sum", "ns"), _TIME_US, "the duration"),
            "sm_clock_mhz": _scaled(raw.get("gpc__cycles_elapsed.avg.per_second"),
                                    units.get("gpc__cycles_elapsed.avg.per_second", "hz"), _FREQ_MHZ,
                                    "the clock"),
            "sm_throughput_pct": number(raw.get("sm__throughput.avg.pct_of_peak_sustained_elapsed")),
            "issue_active_pct": number(raw.get("smsp__issue_active.avg.pct_of_peak_sustained_active")),
            # the tensor pipe busy (any tensor op: Hopper's HGMMA counts here), % of peak
            "tensor_pipe_active_pct": number(raw.get("sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_active")),
            "gmma_inst_executed_pct": number(raw.get("sm__inst_executed_pipe_tensor_op_gmma.avg.pct_of_peak_sustained_active")),
            "registers": number(raw.get("launch__registers_per_thread")),
            "top_stalls": ", ".join(f"{k} {v:.2f}" for v, k in top),
            **{f"stall_{k}": v for k, v in sorted(stalls.items())}}


def write_csv(path, rows: list[dict]) -> None:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, keys)
        w.writeheader()
        w.writerows(rows)
