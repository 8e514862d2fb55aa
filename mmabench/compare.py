"""`python -m mmabench compare`: measured results of several GPUs side by side.

Reads result files (default: the ones shipped under data/results/), takes each GPU's
saturating point per mma form, and shows the f16/f32 accumulation ratio; attention results
found beside them are summarised per GPU and shape (mmabench.attention.overview). GPUs in the
datasheet table that were never measured appear in a separate, labelled section: datasheet
figures are never mixed into measured columns.
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
                    "accumulation ratio, from result files (mma.csv), and each attention run "
                    "(attention.csv) against PyTorch and f32/f32. GPUs never measured are "
                    "listed from the datasheet table, labelled as such. No GPU needed.")
    p.add_argument("files", nargs="*",
                   help="mma.csv / attention.csv files or folders (default: data/results/)")
    p.add_argument("--markdown", action="store_true", help="print tables as Markdown")
    p.set_defaults(func=run)


def result_files(paths: list[str], name: str) -> list[Path]:
    """Files called `name` among `paths` (files, or folders searched recursively)."""
    files: list[Path] = []
    for item in paths or [str(SHIPPED)]:
        path = Path(item)
        if path.is_dir():
            files += sorted(Path(p) for p in glob.glob(str(path / "**" / name), recursive=True))
        elif path.is_file():
            files += [path] if path.name == name else []
        else:
            raise UserError(f"no such result file or folder: {item}")
    return files


def _read(files: list[Path], needed: set[str], what: str):
    import pandas as pd

    frames = []
    for f in files:
        frame = pd.read_csv(f)
        if not needed <= set(frame.columns):
            columns = ", ".join(sorted(needed))
            raise UserError(f"{f} is not an {what} result file (columns {columns})")
        frame["file"] = str(f)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else None


def load(paths: list[str]):
    for item in paths:
        if Path(item).is_file() and Path(item).name not in ("mma.csv", "attention.csv"):
            raise UserError(f"{item}: expected an mma.csv or attention.csv result file")
    return _read(result_files(paths, "mma.csv"), {"kind", "form", "tflops", "gpu_name"}, "mma")


def load_attention(paths: list[str]):
    return _read(result_files(paths, "attention.csv"),
                 {"impl", "variant", "dim", "seq", "causal", "tflops", "gpu_name"}, "attention")


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
    frame, attention = load(args.files), load_attention(args.files)
    if frame is None and attention is None:
        raise UserError("no mma.csv or attention.csv result files found; "
                        "run `python -m mmabench mma` or `python -m mmabench attention` first")
    measured = set()
    if frame is not None:
        print(measured_table(frame, args.markdown))
        for name, sms in frame[["gpu_name", "sm_count"]].drop_duplicates().itertuples(index=False):
            row = gpus.lookup(name, sms)
            if row:
                measured.add(row["name"])
        print()
    print(datasheet_table(measured, args.markdown))
    if attention is not None:
        from .attention.overview import overview
        print("\nattention forward (measured): PyTorch back ends, best f32/f32 variant, "
              "best variant with an f16 accumulator")
        print(overview(attention.to_dict("records"), args.markdown))
    return 0
