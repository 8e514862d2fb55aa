"""Target architectures the suite knows, and their per-SM limits (data/archs.csv)."""

from __future__ import annotations

import csv
import functools
from pathlib import Path

from .errors import UserError

DATA = Path(__file__).resolve().parent.parent / "data" / "archs.csv"

# The default set for offline reports: Ampere to Blackwell.
DEFAULT = ("sm_80", "sm_86", "sm_89", "sm_90", "sm_100", "sm_120")


@functools.lru_cache(maxsize=1)
def limits() -> dict[str, dict]:
    with open(DATA, newline="") as fh:
        return {row["arch"]: row for row in csv.DictReader(fh)}


def known() -> list[str]:
    return list(limits())


def parse(text: str | None, default=DEFAULT) -> list[str]:
    """'sm_80,sm_90' (or '80,90') -> validated arch list; UserError naming the accepted ones."""
    if text is None:
        return list(default)
    out = []
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        arch = item if item.startswith("sm_") else f"sm_{item}"
        if arch not in limits():
            raise UserError(f"unknown architecture {item!r}; accepted: {', '.join(known())}")
        out.append(arch)
    if not out:
        raise UserError(f"empty architecture list; accepted: {', '.join(known())}")
    return out


def smem_per_block(arch: str) -> int:
    """Most shared memory one block may use on `arch` (the opt-in maximum), in bytes."""
    return int(float(limits()[arch]["shared_per_block_kb"]) * 1024)


def number(arch: str) -> int:
    """'sm_90a' -> 90."""
    return int("".join(ch for ch in arch[3:] if ch.isdigit()))
