"""The report as Markdown (for the README): the answers, every table with its source column,
and each plot as an SVG file beside the Markdown, linked with its provenance caption."""

from __future__ import annotations

from pathlib import Path

from mmabench.reporting import tables
from mmabench.reporting.document import Document, Figure, Table


def _cell(text: str) -> str:
    return str(text).replace("\n", " ")


def render(doc: Document, figure_dir: Path | None = None, link_base: str = "") -> tuple[str, dict]:
    """(Markdown text, {relative path: svg text} of the figures to write beside it)."""
    files: dict[str, str] = {}
    out = [f"# {doc.title}", "", f"_{doc.generated}. Every figure is labelled measured (run), "
           "published (citation) or datasheet (source)._", "", "## The answer, per GPU", ""]
    for a in doc.answers:
        out.append(f"- {a.sentence}  ")
        out.append("  <sub>" + "; ".join(_cell(str(p)) for p in a.provenance) + "</sub>")
    for s in doc.sections:
        out += ["", f"## {s.title}", ""]
        if s.intro:
            out += [s.intro, ""]
        for b in s.blocks:
            if isinstance(b, Table):
                rows = [[_cell(c) for c in row] + [_cell(str(src))] for row, src in zip(b.rows, b.sources)]
                out += [f"**{b.title}**", "", tables.table(list(b.headers) + ["source"], rows, True), ""]
                if b.note:
                    out += [f"_{b.note}_", ""]
            elif isinstance(b, Figure):
                caption = "; ".join(_cell(str(p)) for p in b.provenance)
                if b.svg and figure_dir is not None:
                    rel = f"{link_base}{b.key}.svg"
                    files[rel] = b.svg
                    out += [f"![{b.title}]({rel})", ""]
                else:
                    out += [f"_(plot: {b.title}; {b.note or 'see the HTML report'})_", ""]
                out += [f"_Figure: {b.title}. {b.note + ' ' if b.svg and b.note else ''}{caption}_", ""]
    return "\n".join(out) + "\n", files
