"""`python -m mmabench compare`: measured mma results of several GPUs side by side.

Reads result files (default: the ones shipped under data/results/), takes each GPU's
saturating point per form, and shows the f16/f32 accumulation ratio. GPUs in the datasheet
table that were never measured appear in a separate, labelled section: datasheet figures are
never mixed into measured columns.
"""

from __future__ import annotations

import glob
from pathlib import Path

from . import gpus, report
from .errors import UserError

SHIPPED = Path(__file__).resolve().parent.parent / "data" / "results"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "compare", help="compare mma results across GPUs (measured, then datasheet-only)",
        description="Side by side: each GPU's saturating mma throughput per form and the f16/f32 "
                    "accumulation ratio, from result files (mma.csv). GPUs never measured are "
                    "listed from the datasheet table, labelled as such. No GPU needed.")
    p.add_argument("files", nargs="*", help="mma.csv files or folders (default: data/results/)")
    p.add_argument("--markdown", action="store_true", help="print tables as Markdown")
    p.set_defaults(func=run)


def load(paths: list[str]):
    import pandas as pd

    files: list[Path] = []
    for item in paths or [str(SHIPPED)]:
        path = Path(item)
        if path.is_dir():
            files += sorted(Path(p) for p in glob.glob(str(path / "**" / "mma.csv"), recursive=True))
        elif path.is_file():
            files.append(path)
        else:
            raise UserError(f"no such result file or folder: {item}")
    if not files:
        raise UserError("no mma.csv result files found; run `python -m mmabench mma` first")
    frames = []
    for f in files:
        frame = pd.read_csv(f)
        if not {"kind", "form", "tflops", "gpu_name"} <= set(frame.columns):
            raise UserError(f"{f} is not an mma result file (columns kind, form, tflops, gpu_name)")
        frame["file"] = str(f)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def measured_table(frame, markdown=False) -> str:
    ok = frame[(frame["kind"] == "throughput") & (frame["status"] == "ok")]
    rows = []
    for (gpu, form), group in ok.groupby(["gpu_name", "form"], sort=False):
        best = group.loc[group["tflops"].idxmax()]
        twin = form.replace(".acc_f16", ".acc_f32")
        ratio = "-"
        if twin != form:
            other = ok[(ok["gpu_name"] == gpu) & (ok["form"] == twin)]
            if len(other):
                ratio = f"{best['tflops'] / other['tflops'].max():.2f}x"
        rows.append([gpu, form, report.fmt(best["tflops"]), report.fmt(best["flop_per_clk_per_sm"], 0),
                     report.fmt(best.get("pct_of_peak")), report.fmt(best["sm_clock_mhz"], 0), ratio])
    return report.table(["GPU (measured)", "form", "TFLOP/s", "FLOP/clk/SM", "% of peak",
                         "SM MHz", "f16/f32 acc"], rows, markdown)


def datasheet_table(measured_names: set[str], markdown=False) -> str:
    rows = []
    for row in gpus.table().to_dict("records"):
        if row["name"] in measured_names:
            continue
        f16, f32 = gpus.peak_tflops(row, "f16", "f16"), gpus.peak_tflops(row, "f16", "f32")
        ratio = f"{f16 / f32:.2f}x" if f16 and f32 else "-"
        rows.append([row["name"], report.fmt(f16), report.fmt(f32), ratio, row["key"]])
    return report.table(["GPU (datasheet only, not measured)", "fp16 f16-acc TFLOP/s",
                         "fp16 f32-acc TFLOP/s", "f16/f32", "data/gpus.csv row"], rows, markdown)


def run(args) -> int:
    frame = load(args.files)
    print(measured_table(frame, args.markdown))
    measured = set()
    for name, sms in frame[["gpu_name", "sm_count"]].drop_duplicates().itertuples(index=False):
        row = gpus.lookup(name, sms)
        if row:
            measured.add(row["name"])
    print()
    print(datasheet_table(measured, args.markdown))
    return 0
