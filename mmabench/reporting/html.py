"""One self-contained HTML page from a report Document: inline CSS, plots as inline SVG, no
script and nothing fetched from anywhere (the page opens offline, from a mail attachment)."""

from __future__ import annotations

from html import escape

from mmabench.reporting.document import Document, Figure, Table

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .6em 0 1.2em; font-size: 12px; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; vertical-align: top; }
th:first-child, td:first-child, td.src { text-align: left; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
.prov { display: inline-block; padding: 0 4px; border-radius: 3px; font-size: 11px; color: #fff; }
.measured { background: #1b7837; } .published { background: #2166ac; } .datasheet { background: #8c510a; }
figure { margin: 1em 0 2em; } figcaption { font-size: 12px; color: #444; }
figure svg { max-width: 100%; height: auto; }
.answers li { margin-bottom: .5em; } .note { font-size: 12px; color: #555; }
.scroll { overflow-x: auto; }
"""


def _badge(p) -> str:
    return f'<span class="prov {escape(p.kind)}">{escape(p.kind)}</span> {escape(p.detail)}'


def _table(t: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in t.headers) + "<th>source</th>"
    body = []
    for row, src in zip(t.rows, t.sources):
        cells = "".join(f"<td>{escape(str(c))}</td>" for c in row)
        body.append(f'<tr>{cells}<td class="src">{_badge(src)}</td></tr>')
    note = f'<p class="note">{escape(t.note)}</p>' if t.note else ""
    return (f'<div class="scroll"><table><caption>{escape(t.title)}</caption><thead><tr>{head}</tr>'
            f"</thead><tbody>{''.join(body)}</tbody></table></div>{note}")


def _figure(f: Figure) -> str:
    labels = "<br>".join(_badge(p) for p in f.provenance)
    body = f.svg if f.svg else f'<p class="note">{escape(f.note)}</p>'
    note = f" {escape(f.note)}" if f.svg and f.note else ""
    return (f'<figure id="fig-{escape(f.key)}" data-plot="{escape(f.key)}">{body}'
            f"<figcaption><b>{escape(f.title)}.</b>{note}<br>{labels}</figcaption></figure>")


def render(doc: Document) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{escape(doc.title)}</title><style>{CSS}</style></head><body>",
           f"<h1>{escape(doc.title)}</h1>", f'<p class="note">{escape(doc.generated)}. Labels: '
           '<span class="prov measured">measured</span> (run: GPU, commit, date, clock), '
           '<span class="prov published">published</span> (citation), '
           '<span class="prov datasheet">datasheet</span> (source).</p>',
           '<h2 id="answers">The answer, per GPU</h2><ul class="answers">']
    for a in doc.answers:
        labels = "; ".join(_badge(p) for p in a.provenance)
        out.append(f"<li>{escape(a.sentence)}<br><small>{labels}</small></li>")
    out.append("</ul>")
    for s in doc.sections:
        out.append(f'<h2 id="{escape(s.key)}">{escape(s.title)}</h2>')
        if s.intro:
            out.append(f"<p>{escape(s.intro)}</p>")
        for b in s.blocks:
            out.append(_table(b) if isinstance(b, Table) else _figure(b))
    out.append("</body></html>")
    return "\n".join(out)
