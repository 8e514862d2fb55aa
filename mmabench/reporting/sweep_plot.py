"""`python -m mmabench plot`: the throughput sweep of an mma result file as a PNG.

One panel per instruction form: TFLOP/s against resident warps per SM, one line per ILP
(best launch shape at that occupancy), and the datasheet peak at the measured clock as a
dashed line, labelled as datasheet.
"""

from __future__ import annotations

from pathlib import Path

from mmabench.core.errors import ToolMissing, UserError
from mmabench.core.options import Modes
from mmabench.reporting import plots

OPTIONS = Modes(common=("--output",))  # one mode, which reads every option (mmabench.core.options)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("plot", help="plot an mma result file (needs matplotlib)",
                              description="Plot TFLOP/s vs warps per SM for each form and ILP "
                                          "from an mma.csv result file. No GPU needed.")
    p.add_argument("file", help="an mma.csv written by `python -m mmabench mma`")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="figure to write: .png, .svg, .pdf, .jpg, .tif, .webp, .eps or .ps "
                        "(default: the CSV's name as .png beside it; for mmabench's shipped "
                        "results, which are never written, <gpu>-<bench>.png in the results "
                        "folder, $MMABENCH_RESULTS or ./results; _2, _3, ... added rather than "
                        "replacing an earlier plot)")
    p.set_defaults(func=run)


def sweep_figure(frame):
    """The figure of an mma result frame (matplotlib; saved by the caller)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ToolMissing(f"plotting needs matplotlib: {plots.INSTALL_HINT}") from None
    ok = frame[(frame["kind"] == "throughput") & (frame["status"] == "ok")]
    if ok.empty:
        raise UserError("no successful throughput rows to plot")
    forms = list(dict.fromkeys(ok["form"]))
    cols = min(3, len(forms))
    nrows = -(-len(forms) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.4 * cols, 3.4 * nrows), sharey=True,
                             squeeze=False)
    flat = axes.ravel()
    for ax in flat[len(forms):]:
        ax.axis("off")
    for ax, form in zip(flat, forms):
        rows = ok[ok["form"] == form]
        for ilp, by_ilp in rows.groupby("ilp"):
            best = by_ilp.groupby("warps_per_sm")["tflops"].max()
            ax.plot(best.index, best.values, marker="o", label=f"ILP {ilp}")
        peak = rows["peak_at_measured_clock_tflops"].dropna() if "peak_at_measured_clock_tflops" in rows else []
        if len(peak):
            ax.axhline(peak.median(), color="grey", linestyle="--", label="datasheet peak @ clock")
        ax.set_xscale("log", base=2)
        ax.set_title(form, fontsize=9)
        ax.set_xlabel("warps per SM")
        ax.grid(alpha=0.3)
    for row in axes:
        row[0].set_ylabel("TFLOP/s (measured)")
    flat[0].legend(fontsize=7)
    gpu = ok["gpu_name"].iloc[0] if "gpu_name" in ok else ""
    fig.suptitle(f"mma.sync throughput sweep, {gpu}", fontsize=10)
    fig.tight_layout()
    return fig


def default_output(csv: Path) -> Path:
    """Where the plot of `csv` goes without -o: beside it (a run folder of the user's), unless
    mmabench must not write there (its shipped results, a tracked file); then in the results
    folder, named after the CSV's folders (data/results/h100-sxm5/mma/mma.csv: h100-sxm5-mma.png)."""
    from mmabench import record
    from mmabench.record.output import fresh_name, protected

    beside = csv.with_suffix(".png")
    if not protected(beside):
        return fresh_name(beside)
    parts = [p for p in (csv.resolve().parent.parent.name, csv.resolve().parent.name, csv.stem) if p]
    name = "-".join(p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1])
    return fresh_name(record.results_root() / f"{name}.png")


def run(args) -> int:
    from mmabench import record
    from mmabench.record.output import check_writable, writing
    from mmabench.reporting import schema

    path = Path(args.file)
    if args.output:  # a type matplotlib cannot write, or an unwritable path: before any work
        check_writable(Path(args.output), record.FIGURE_SUFFIXES)
    frame = schema.read_csv(path)
    if not {"ilp", "warps_per_sm"} <= set(frame.columns):
        raise UserError(f"{path} is not an mma result file (needs columns "
                        f"{schema.describe('mma')}, ilp, warps_per_sm)")
    frame = schema.check(frame, "mma", str(path))
    output = check_writable(Path(args.output) if args.output else default_output(path),
                            record.FIGURE_SUFFIXES, [path])
    with writing(output):
        record.write_figure(sweep_figure(frame), output)
    print(f"wrote {output}")
    return 0
