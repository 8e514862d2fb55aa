"""Tables for stdout and the README: plain text drawn by rich (first column left, the others
right-aligned), or Markdown."""

from __future__ import annotations

import io
import math

WIDTH = 120   # the width tables are laid out for, whatever the terminal


def fmt(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def truthy(value) -> bool:
    """A flag as a row holds it, fresh (True, 1) or read back from a CSV ('True', 'true', '1')."""
    return value is True or str(value).strip().lower() in ("true", "1", "1.0")


def pair(row: dict, key: str, digits: int = 1) -> str:
    """'f16 / f32' cell of a comparison row's f16_<key> and f32_<key>."""
    return f"{fmt(row.get('f16_' + key), digits)} / {fmt(row.get('f32_' + key), digits)}"


def conditions(row: dict, prefix: str = "") -> str:
    """'1,830 MHz 512 W' cell of a row's SM clock and power (under `prefix`), flagged when the GPU
    throttled; values may be numbers or the text of a CSV."""
    def number(key):
        try:
            x = float(row.get(prefix + key))
        except (TypeError, ValueError):
            return None
        return None if math.isnan(x) else x

    text = f"{fmt(number('sm_clock_mhz'), 0)} MHz"
    if number("power_w") is not None:
        text += f" {fmt(number('power_w'), 0)} W"
    if truthy(row.get(prefix + "throttled")):
        text += f" THROTTLED ({row.get(prefix + 'throttle')})"
    return text


def table(headers: list[str], rows: list[list], markdown: bool = False) -> str:
    if markdown:
        return _markdown(headers, rows)
    from rich.box import Box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Text cells: a '[' in a cell ("[0.99, 1.01]") is data, not rich markup
    rule = Box("    \n    \n -  \n    \n    \n    \n    \n    \n", ascii=True)  # ASCII: logs, any terminal
    grid = Table(box=rule, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0), header_style="")
    for i, header in enumerate(headers):
        grid.add_column(Text(str(header)), justify="left" if i == 0 else "right", no_wrap=True)
    for row in rows:
        grid.add_row(*(Text(str(c)) for c in row))
    # never wrap a cell: a table wider than WIDTH (regs --wide) keeps its lines whole
    natural = Console(file=io.StringIO(), width=1 << 16).measure(grid).maximum
    out = io.StringIO()
    # no colour or styles at all: the text is also saved into run folders (summary.txt, ...)
    Console(file=out, width=max(WIDTH, natural), color_system=None, force_terminal=False,
            highlight=False).print(grid)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())


def _markdown(headers: list[str], rows: list[list]) -> str:
    # a literal '|' (as in "max|q.k|") would split the cell
    cells = [[str(h).replace("|", "\\|") for h in headers]]
    cells += [[str(c).replace("|", "\\|") for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row):
        parts = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        return "| " + " | ".join(parts) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if i else "-" * (w + 2) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(cells[0]), rule] + [line(r) for r in cells[1:]])


def timing_note(rows: list[dict]) -> str:
    """'timing: <regime detail>' of the rows' comparisons ('' when none names a regime)."""
    details = list(dict.fromkeys(r["regime_detail"] for r in rows if r.get("regime_detail")))
    return "timing: " + "; ".join(details) if details else ""
