"""Printed tables (rich, plain text; Markdown as before) and the progress bar."""

import io
import re
import sys

import pytest

from mmabench.reporting import tables
from mmabench.reporting.progress import Progress


def test_plain_table_aligns_columns_and_keeps_cells_as_written():
    text = tables.table(["form", "f16/f32", "n"], [["m16n8k16.f16", "1.00x [0.99, 1.01]", 3],
                                                  ["x", "-", tables.fmt(1234.56)]])
    head, rule, first, second = text.splitlines()
    assert head.startswith("form ") and head.endswith(" n")
    assert set(rule) == {"-", " "} and len(rule) == len(head)          # ASCII, no colour codes
    assert first.split() == ["m16n8k16.f16", "1.00x", "[0.99,", "1.01]", "3"]   # no markup eaten
    assert second.endswith("1,234.6") and second.split()[:2] == ["x", "-"]        # right-aligned
    assert "\x1b" not in text and text == text.rstrip()


def test_a_wide_table_is_never_wrapped():
    headers = [f"column {i}" for i in range(20)]
    text = tables.table(headers, [[f"value {i}" for i in range(20)]], max_width=None)
    lines = text.splitlines()
    assert len(lines) == 3 and max(map(len, lines)) > tables.WIDTH
    assert lines[2].split("  ")[0] == "value 0" and lines[2].endswith("value 19")


def test_markdown_table_escapes_pipes_and_marks_numeric_columns():
    text = tables.table(["a|b", "c"], [["x|y", 1]], markdown=True)
    assert text.splitlines() == ["| a\\|b | c |", "|------|--:|", "| x\\|y | 1 |"]


def test_progress_off_a_terminal_is_a_line_every_10th_step(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    bar = Progress(12, "regs")
    for i in range(12):
        bar.step(f"kernel {i}")
    lines = err.getvalue().splitlines()
    assert [re.match(r"regs \[[#.]{24}\] (\d+)/12 ", line).group(1) for line in lines] == ["10", "12"]
    assert lines[-1].endswith("kernel 11") and "[" + "#" * 24 + "]" in lines[-1]


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_on_a_terminal_draws_a_bar_and_ends_it(monkeypatch):
    err = _Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    bar = Progress(3, "mma")
    for what in ("a [x]", "b", "c"):
        bar.step(what)
    out = err.getvalue()
    assert "mma" in out and "3/3" in out and "a [x]" in out
    assert out.endswith("\x1b[?25h")          # the cursor is shown again at the end


def test_cells_shared_by_the_summaries():
    row = {"sm_clock_mhz": 1830.0, "power_w": float("nan"),
           "f16_sm_clock_mhz": "1980.0", "f16_power_w": "512.4", "f16_throttled": "True",
           "f16_throttle": "sw_power_cap", "f16_power_above_limit": "True",
           "f16_registers": 128, "f32_registers": None}
    assert tables.clock_power(row) == "1,830/-"                          # no power: '-'
    assert tables.clock_power(row, "f16_") == "1,980/512?!"              # above the limit, throttled
    assert tables.clock_power({}) == "-/-"
    legend = tables.clock_power_note([row], ("", "f16_"))
    assert "'!' throttled (sw_power_cap)" in legend and "'?' power above" in legend
    assert tables.pair(row, "registers", 0) == "128 / -"
    assert [tables.truthy(v) for v in (True, 1, "True", "true", "1", False, 0, "False", None,
                                       float("nan"))] == [True] * 5 + [False] * 5


def test_ratio_cells_are_compact_and_mark_a_range_within_noise():
    assert tables.ratio(1.1111, 1.08, 1.13) == "1.11x (1.08-1.13)"
    assert tables.ratio("0.99", "0.98", "1.05") == "0.99x (0.98-1.05)~"    # CSV text too
    assert tables.ratio(1.2) == "1.20x" and tables.ratio(float("nan"), 1, 1) == "-"


def test_a_default_table_wider_than_it_was_laid_out_for_raises_under_the_tests(monkeypatch):
    wide = (["a", "b"], [["x" * 80, "y" * 60]])
    with pytest.raises(tables.TableTooWide, match="142 columns wide"):
        tables.table(*wide)
    assert max(map(len, tables.table(*wide, max_width=None).splitlines())) == 142
    assert "| " + "x" * 80 in tables.table(*wide, markdown=True)          # Markdown: any width
    monkeypatch.delenv(tables.STRICT_ENV)
    assert max(map(len, tables.table(*wide).splitlines())) == 142        # a user sees it whole


def test_notes_under_tables_wrap_to_the_table_width():
    lines = tables.note("word " * 60).splitlines()
    assert len(lines) > 1 and max(map(len, lines)) <= tables.WIDTH and lines[1].startswith("  ")


def test_a_table_with_a_column_per_point_splits_into_tables_that_fit():
    headers = ["scheme"] + [f"N={2 ** i} V~16" for i in range(10, 20)]
    rows = [[f"scheme {k}"] + [f"{k}.0e-04*" for _ in range(10)] for k in range(3)]
    text = tables.split_table(headers, rows)
    heads = [line for line in text.splitlines() if line.startswith("scheme ") and "N=" in line]
    assert len(heads) == 2 and max(map(len, text.splitlines())) <= tables.WIDTH
    assert sum(h.count("N=") for h in heads) == 10     # every point, in order
    assert heads[0].split()[1] == "N=1024" and heads[1].split()[-2:] == ["N=524288", "V~16"]
    assert tables.split_table(headers, rows, markdown=True).count("\n") == 4   # Markdown: one table
