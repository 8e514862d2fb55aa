"""`python -m mmabench bundle`: every result row and its context from the runs on this machine,
in one file to send (gzip'd JSON, see mmabench.reporting.bundlefile). `compare` and `report`
read it like a run folder."""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

from mmabench.core.errors import UserError
from mmabench.core.options import Modes
from mmabench.record.output import check_writable, fresh_name, writing
from mmabench.reporting import bundlefile, runs, sources

# one mode, which reads every option (mmabench.core.options)
OPTIONS = Modes(common=("--results", "--output", "--with-code"))


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "bundle", help="pack this machine's results into one file to send (no GPU needed)",
        description="Write one file (*.mmabench.json.gz) holding every result row and its context "
                    "(context.json, GPU state snapshots) from the run folders under ./results and "
                    "$MMABENCH_RESULTS, or the folders given. PTX/SASS copies only with "
                    "--with-code. `compare` and `report` accept the file.")
    p.add_argument("--results", action="append", metavar="DIR",
                   help="a results folder (repeatable; default: ./results and $MMABENCH_RESULTS)")
    p.add_argument("-o", "--output", metavar="FILE", help=f"file to write, *{bundlefile.SUFFIX} (default: mmabench-<gpu>-<date>"
                                          f"{bundlefile.SUFFIX} in the current folder, _2, _3, ... "
                                          "added rather than replacing one)")
    p.add_argument("--with-code", action="store_true",
                   help="also keep the PTX/SASS/ptxas-log copies of the kernels that ran")
    p.set_defaults(func=run)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "results"


def _default_name(found: list[runs.Run]) -> Path:
    names = []
    for run in found:
        if "gpu_name" in run.rows.columns:
            names += [str(n) for n in run.rows["gpu_name"].dropna().unique() if str(n) != "offline"]
    gpu = _slug("-".join(dict.fromkeys(n.replace("NVIDIA ", "") for n in names))[:60]) if names \
        else "offline"
    return Path(f"mmabench-{gpu}-{_dt.date.today():%Y%m%d}{bundlefile.SUFFIX}")


def run(args) -> int:
    folders = [Path(p) for p in args.results] if args.results else runs.default_roots()
    folders = sources.each_once(folders)
    if not folders:
        raise UserError("no results to bundle: neither ./results nor $MMABENCH_RESULTS exists; "
                        "run a benchmark first or pass --results DIR")
    output = Path(args.output) if args.output else None
    if output:   # before any reading (the default name needs the runs found)
        check_writable(output, (bundlefile.SUFFIX,), folders)
    found = []
    for folder in folders:
        if not folder.is_dir():
            raise UserError(f"{folder} is not a folder: --results takes results folders"
                            if folder.exists() else f"no such results folder: {folder}")
        found += [r for r in sources.collect([folder], with_files=True, with_code=args.with_code)
                  if not r.origin.endswith(bundlefile.SUFFIX) and "#" not in r.origin]
    if not found:
        raise UserError(f"no result files under {', '.join(map(str, folders))}")
    if output is None:
        output = check_writable(fresh_name(_default_name(found), bundlefile.SUFFIX),
                                (bundlefile.SUFFIX,), folders)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with writing(output):
        bundlefile.write(found, output, stamp)
    rows = sum(len(r.rows) for r in found)
    benches = ", ".join(sorted({r.bench for r in found}))
    size = output.stat().st_size / 1024
    print(f"wrote {output}: {len(found)} runs ({benches}), {rows} rows, {size:,.0f} KiB"
          + (" with PTX/SASS" if args.with_code else ""))
    return 0
