"""Where a figure comes from, in words: *measured* (its run), *published* (its citation) or
*datasheet* (its source). Every table row and every plot of the report carries one."""

from __future__ import annotations

import math
from dataclasses import dataclass

KINDS = ("measured", "published", "datasheet")


@dataclass(frozen=True)
class Provenance:
    kind: str          # one of KINDS
    detail: str        # run (commit, date, GPU, clock) / citation / source

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}" if self.detail else self.kind


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def measured(row: dict, clock_mhz=None, clock_note: str = "") -> Provenance:
    """A measured row's run: GPU, commit, date and the SM clock it ran at."""
    parts = [_text(row.get("gpu_name")) or "GPU unknown"]
    commit = _text(row.get("git_commit"))
    parts.append(f"commit {commit}" if commit else "commit unknown")
    date = _text(row.get("timestamp"))[:10]
    if date:
        parts.append(date)
    if clock_mhz is not None and clock_mhz == clock_mhz:
        parts.append(f"SM {float(clock_mhz):,.0f} MHz{clock_note}")
    return Provenance("measured", ", ".join(parts))


def runs(rows: list[dict]) -> Provenance:
    """Several measured rows: their GPUs, commits and dates, each named once."""
    gpus = list(dict.fromkeys(_text(r.get("gpu_name")) for r in rows if _text(r.get("gpu_name"))))
    commits = list(dict.fromkeys(_text(r.get("git_commit")) for r in rows if _text(r.get("git_commit"))))
    dates = sorted({_text(r.get("timestamp"))[:10] for r in rows if _text(r.get("timestamp"))})
    detail = "; ".join(filter(None, [", ".join(gpus), "commit " + ", ".join(commits) if commits else "",
                                     " to ".join(dict.fromkeys([dates[0], dates[-1]])) if dates else ""]))
    return Provenance("measured", detail)


def datasheet(row: dict) -> Provenance:
    source = _text(row.get("source"))
    short = source.split(";")[0].split("(")[0].strip() or source
    return Provenance("datasheet", f"{short} (data/gpus.csv row {row.get('key', '?')})")


def published(row: dict) -> Provenance:
    note = " (read off a chart)" if str(row.get("from_chart", "")).strip().lower() in ("1", "true", "yes") \
        else ""
    return Provenance("published", f"{row.get('citation', '')}{note}")
