"""`python -m mmabench compare`: measured results of several GPUs side by side.

Reads result files (default: the ones shipped under data/results/) and sets the GPUs side by
side, one column group per GPU and timing regime (mmabench.reporting.generations): each GPU's
saturating point per mma/wgmma form with the f16/f32 accumulation ratio, the GEMMs, and the
attention cases. GPUs in the datasheet table that were never measured appear in a separate,
labelled section: datasheet figures are never mixed into measured columns.
"""

from __future__ import annotations

from mmabench import hardware
from mmabench.core.errors import UserError
from mmabench.core.options import Modes
from mmabench.reporting import generations, sources, tables

OPTIONS = Modes(common=("--markdown",))  # one mode, which reads every option (mmabench.core.options)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "compare", help="compare results across GPUs: mma, wgmma, GEMM, attention (measured, "
                        "then datasheet-only)",
        description="Side by side: each GPU's saturating mma/wgmma throughput per form and the "
                    "f16/f32 accumulation ratio, the GEMMs, and each attention run against PyTorch "
                    "and f32/f32, one column group per GPU and timing regime. Accepts run folders, CSV files "
                    "and bundles from other machines (`python -m mmabench bundle`). GPUs never "
                    "measured are listed from the datasheet table, labelled as such. No GPU needed.")
    p.add_argument("files", nargs="*",
                   help="result folders, result CSV files, bundles (*.mmabench.json.gz from "
                        "`python -m mmabench bundle`), or 'shipped' for the results that come with "
                        "mmabench (the default)")
    p.add_argument("--markdown", action="store_true", help="print tables as Markdown")
    p.set_defaults(func=run)


def load_all(paths: list[str]) -> sources.Results:
    """Run folders, result CSVs and bundles (default: the shipped results), merged."""
    return sources.load(paths or [sources.SHIPPED])


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
    frames = {bench: results.frame(bench) for bench in ("mma", "wgmma", "gemm", "attention")}
    if all(frame is None for frame in frames.values()):
        raise UserError("no mma, wgmma, gemm or attention result files found; run "
                        "`python -m mmabench mma` (or wgmma, gemm, attention) first")
    for side_by_side in generations.every(frames):
        print(f"{side_by_side.title} (measured)\n{side_by_side.text(args.markdown)}\n")
    measured = set()
    for frame in frames.values():
        if frame is None or "gpu_name" not in frame:
            continue
        if "sm_count" not in frame:
            frame = frame.assign(sm_count=None)
        for name, sms in frame[["gpu_name", "sm_count"]].drop_duplicates().itertuples(index=False):
            row = hardware.datasheet_row(name, None if sms != sms else sms)
            if row:
                measured.add(row["name"])
    print(datasheet_table(measured, args.markdown))
    return 0
