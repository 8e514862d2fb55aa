"""`python -m mmabench compare`: measured results of several GPUs side by side.

Reads result files (default: the ones shipped under data/results/), takes each GPU's
saturating point per mma form, and shows the f16/f32 accumulation ratio; attention results
found beside them are summarised per GPU and shape (mmabench.attention.overview). GPUs in the
datasheet table that were never measured appear in a separate, labelled section: datasheet
figures are never mixed into measured columns.
"""

from __future__ import annotations

from mmabench import hardware
from mmabench.core.errors import UserError
from mmabench.core.options import Modes
from mmabench.reporting import sources, tables

OPTIONS = Modes(common=("--markdown",))  # one mode, which reads every option (mmabench.core.options)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "compare", help="compare mma results across GPUs (measured, then datasheet-only)",
        description="Side by side: each GPU's saturating mma throughput per form and the f16/f32 "
                    "accumulation ratio, from result files (mma.csv), and each attention run "
                    "(attention.csv) against PyTorch and f32/f32. Accepts run folders, CSV files "
                    "and bundles from other machines (`python -m mmabench bundle`). GPUs never "
                    "measured are listed from the datasheet table, labelled as such. No GPU needed.")
    p.add_argument("files", nargs="*",
                   help="result folders, mma.csv / attention.csv files or bundles "
                        "(*.mmabench.json.gz from `python -m mmabench bundle`); default: data/results/")
    p.add_argument("--markdown", action="store_true", help="print tables as Markdown")
    p.set_defaults(func=run)


def load_all(paths: list[str]) -> sources.Results:
    """Run folders, result CSVs and bundles (default: the shipped results), merged."""
    return sources.load(paths or [str(sources.SHIPPED)])


def measured_table(frame, markdown=False) -> str:
    ok = frame[(frame["kind"] == "throughput") & (frame["status"] == "ok") & frame["tflops"].notna()]
    rows = []
    for (gpu, form), group in ok.groupby(["gpu_name", "form"], sort=False):
        best = group.loc[group["tflops"].idxmax()]
        twin = form.replace(".acc_f16", ".acc_f32")
        ratio = "-"
        if twin != form:
            other = ok[(ok["gpu_name"] == gpu) & (ok["form"] == twin)]
            if len(other):
                ratio = f"{best['tflops'] / other['tflops'].max():.2f}x"
        rows.append([gpu, form, tables.fmt(best["tflops"]), tables.fmt(best["flop_per_clk_per_sm"], 0),
                     tables.fmt(best.get("pct_of_peak")), tables.fmt(best["sm_clock_mhz"], 0), ratio])
    return tables.table(["GPU (measured)", "form", "TFLOP/s", "FLOP/clk/SM", "% of peak",
                         "SM MHz", "f16/f32 acc"], rows, markdown)


def datasheet_table(measured_names: set[str], markdown=False) -> str:
    rows = []
    for row in hardware.datasheet_table().to_dict("records"):
        if row["name"] in measured_names:
            continue
        f16, f32 = hardware.peak_tflops(row, "f16", "f16"), hardware.peak_tflops(row, "f16", "f32")
        ratio = f"{f16 / f32:.2f}x" if f16 and f32 else "-"
        rows.append([row["name"], tables.fmt(f16), tables.fmt(f32), ratio, row["key"]])
    return tables.table(["GPU (datasheet only, not measured)", "fp16 f16-acc TFLOP/s",
                         "fp16 f32-acc TFLOP/s", "f16/f32", "data/gpus.csv row"], rows, markdown)


def run(args) -> int:
    results = load_all(args.files)
    frame, attention = results.frame("mma"), results.frame("attention")
    if frame is None and attention is None:
        raise UserError("no mma.csv or attention.csv result files found; "
                        "run `python -m mmabench mma` or `python -m mmabench attention` first")
    measured = set()
    if frame is not None:
        print(measured_table(frame, args.markdown))
        for name, sms in frame[["gpu_name", "sm_count"]].drop_duplicates().itertuples(index=False):
            row = hardware.datasheet_row(name, None if sms != sms else sms)
            if row:
                measured.add(row["name"])
        print()
    print(datasheet_table(measured, args.markdown))
    if attention is not None:
        from mmabench.attention.overview import overview
        print("\nattention forward (measured): PyTorch back ends, best f32/f32 variant, "
              "best variant with an f16 accumulator")
        print(overview(attention.to_dict("records"), args.markdown))
    return 0
