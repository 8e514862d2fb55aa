"""Tables for stdout and the README: plain text drawn by rich (first column left, the others
right-aligned), or Markdown; and the compact cells the summaries share, so that a default table
fits WIDTH columns while the CSV keeps every column."""

from __future__ import annotations

import io
import math
import os
import textwrap

WIDTH = 120   # the width tables are laid out for, whatever the terminal
# Set by the tests (and by anyone checking a layout): a plain table wider than its max_width
# raises TableTooWide instead of being printed wide.
STRICT_ENV = "MMABENCH_STRICT_TABLES"


class TableTooWide(ValueError):
    """A default table came out wider than it was laid out for."""


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


def number(value) -> float | None:
    """A float from a row's value or a CSV's text; None for missing, NaN or not a number."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def clock_power(row: dict, prefix: str = "") -> str:
    """'1,740/751?!' cell (header 'MHz/W') of a row's SM clock and power under `prefix`: '!' the GPU
    throttled, '?' the power read above the board limit (CLOCK_POWER_NOTE says so under the table)."""
    text = f"{fmt(number(row.get(prefix + 'sm_clock_mhz')), 0)}/{fmt(number(row.get(prefix + 'power_w')), 0)}"
    return (text + ("?" if truthy(row.get(prefix + "power_above_limit")) else "")
            + ("!" if truthy(row.get(prefix + "throttled")) else ""))


def clock_power_note(rows: list[dict], prefixes: tuple[str, ...] = ("",)) -> str:
    """The legend of clock_power cells, naming the throttle reasons the rows met."""
    reasons = [str(r.get(p + "throttle")) for r in rows for p in prefixes
               if truthy(r.get(p + "throttled")) and r.get(p + "throttle")]
    why = f" ({', '.join(dict.fromkeys(reasons))})" if reasons else ""
    return note(f"MHz/W: SM clock and power during that contender's own timed blocks (NVML); "
                f"'!' throttled{why}, '?' power above the board limit +5%, not physical.")


def ratio(value, lo=None, hi=None, compact: bool = False) -> str:
    """'1.11x (1.08-1.13)' cell of a ratio and its range over interleaved rounds, '~' appended
    when the range includes 1.0 (within noise; RATIO_NOTE says so); '1.11x' without a range.
    `compact`: '1.11x' or '1.11x~', the range left to the CSV (narrow tables)."""
    from mmabench.measure.stats import within_noise
    x, lo, hi = number(value), number(lo), number(hi)
    if x is None:
        return "-"
    if lo is None or hi is None:
        return f"{x:.2f}x"
    noise = "~" if within_noise(lo, hi) else ""
    return f"{x:.2f}x{noise}" if compact else f"{x:.2f}x ({lo:.2f}-{hi:.2f}){noise}"


RATIO_NOTE = "Ratios: median (min-max) over interleaved rounds; '~' = the range includes 1.0 (within noise)."


def note(text: str) -> str:
    """A line under a table, wrapped to WIDTH like the table above it."""
    return textwrap.fill(text, WIDTH, subsequent_indent="  ", break_on_hyphens=False)


def table(headers: list[str], rows: list[list], markdown: bool = False,
          max_width: int | None = WIDTH) -> str:
    """Plain text never wrapped; a table meant to fit `max_width` that does not (a long name) is
    still printed whole, and raises TableTooWide under MMABENCH_STRICT_TABLES (the tests).
    max_width=None: a table meant to be wide (regs --wide). Markdown is for documents: any width."""
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
    lines = [line.rstrip() for line in out.getvalue().splitlines()]
    width = max(map(len, lines), default=0)
    if max_width is not None and width > max_width and os.environ.get(STRICT_ENV):
        raise TableTooWide(f"table {width} columns wide, laid out for {max_width}: {headers}")
    return "\n".join(lines)


def split_table(headers: list[str], rows: list[list], markdown: bool = False, keep: int = 1) -> str:
    """A table with more columns than WIDTH holds (a column per sweep point) as several tables
    one above the other, each repeating the first `keep` columns; Markdown stays one table."""
    if markdown:
        return table(headers, rows, True)
    widths = [max(len(str(c)) for c in [h, *(row[i] for row in rows)]) + 2
              for i, h in enumerate(headers)]
    rest = list(range(keep, len(headers)))
    for n in range(1, len(rest) + 1):       # the fewest tables of near-equal column counts that fit
        groups = [rest[i * len(rest) // n:(i + 1) * len(rest) // n] for i in range(n)]
        if all(sum(widths[:keep]) + sum(widths[i] for i in g) <= WIDTH + 2 for g in groups):
            break
    return "\n".join(table([headers[i] for i in [*range(keep), *g]],
                            [[row[i] for i in [*range(keep), *g]] for row in rows])
                      for g in groups)


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


def timing_note(rows: list[dict]) -> list[str]:
    """['timing: <regime detail>'] of the rows' comparisons ([] when none names a regime), for
    `lines += timing_note(rows)` under a table."""
    details = list(dict.fromkeys(r["regime_detail"] for r in rows if r.get("regime_detail")))
    return [note("timing: " + "; ".join(details))] if details else []
