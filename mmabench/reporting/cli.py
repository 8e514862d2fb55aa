"""`python -m mmabench report`: the answer per GPU and the evidence behind it, in one
self-contained HTML file (and a Markdown version). No GPU, no network."""

from __future__ import annotations

import sys
from pathlib import Path

from mmabench.core.errors import UserError
from mmabench.core.options import Modes
from mmabench.record.output import Outputs, fresh_name, write_text, writing
from mmabench.reporting import document, html, markdown, plots, published, sources

HTML_SUFFIXES = (".html", ".htm")
DEFAULT_OUTPUT = "report.html"
MARKDOWN_SUFFIXES = (".md", ".markdown")

# one mode, which reads every option (mmabench.core.options)
OPTIONS = Modes(common=("--output", "--markdown", "--published"))


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "report", help="one HTML page (and Markdown) answering the question per GPU (no GPU needed)",
        description="Merge result folders, CSV files and bundles (default: the shipped results "
                    "under data/results/, plus ./results and $MMABENCH_RESULTS if present) with the "
                    "datasheet table and published measurements, and write one self-contained HTML "
                    "page: the answer per GPU in one sentence, instruction and attention tables, "
                    "numerics maps and plots, every figure labelled measured, published or "
                    "datasheet. No GPU and no network needed.")
    p.add_argument("inputs", nargs="*", help="result folders, CSV files, *.mmabench.json.gz bundles, "
                                             "or 'shipped' for the results that come with mmabench")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="HTML file to write (default: report.html, report_2.html, ... where taken)")
    p.add_argument("--markdown", metavar="FILE", help="also write a Markdown version (plots as SVG "
                                                     "files in FILE's folder, <stem>-figures/)")
    p.add_argument("--published", metavar="CSV", help=f"published measurements (default: {published.DATA})")
    p.set_defaults(func=run)


def _figures_folder(md: Path) -> Path:
    return md.parent / f"{md.stem}-figures"


def run(args) -> int:
    # each output checked before any work: never two on one file, never over an input
    inputs = sources.inputs(args.inputs)
    outputs = Outputs(inputs + ([Path(args.published)] if args.published else []))
    out = outputs.claim(Path(args.output) if args.output else fresh_name(Path(DEFAULT_OUTPUT)),
                        "-o", HTML_SUFFIXES)
    md = outputs.claim(Path(args.markdown), "--markdown", MARKDOWN_SUFFIXES) if args.markdown else None
    if md and _figures_folder(md).exists() and not _figures_folder(md).is_dir():
        raise UserError(f"cannot write the plots of --markdown into {_figures_folder(md)}: it is a "
                        "file, and they go in a folder of that name; move it or name another --markdown")
    published_rows = published.load(Path(args.published) if args.published else None)
    results = sources.load(inputs)
    if not results.runs:
        raise UserError("no result files found: give result folders, CSV files or bundles")
    doc = document.build(results, published_rows)
    figures = {}
    if md:
        fig_dir = _figures_folder(md)
        text, files = markdown.render(doc, fig_dir, f"{md.stem}-figures/")
        if files:
            with writing(fig_dir):
                fig_dir.mkdir(exist_ok=True)
            figures = {outputs.claim(md.parent / rel, "a plot of --markdown"): svg
                       for rel, svg in files.items()}
    write_text(out, html.render(doc))
    drawn, left_out = len(doc.drawn_figures()), len(doc.figures()) - len(doc.drawn_figures())
    print(f"wrote {out} ({len(doc.answers)} GPUs, {drawn} plots, "
          f"{sum(len(t.rows) for t in doc.tables())} table rows)")
    if left_out:
        print(f"{left_out} plots left out: matplotlib is not installed ({plots.INSTALL_HINT})",
              file=sys.stderr)
    if md:
        for path, svg in figures.items():
            write_text(path, svg)
        write_text(md, text)
        print(f"wrote {md}" + (f" and {len(files)} plots in {fig_dir}" if files else ""))
    for a in doc.answers:
        if any(p.kind == "measured" for p in a.provenance):
            print(a.sentence)
    return 0
