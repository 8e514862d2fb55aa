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


def row(arch: str) -> dict:
    """The data/archs.csv row of `arch`; UserError naming the known ones if it has none."""
    table = limits()
    if arch not in table:
        raise UserError(f"no per-SM limits for {arch} in data/archs.csv; known: {', '.join(known())}")
    return table[arch]


def limit(arch: str, column: str) -> int:
    """One integer column of `arch`'s row (e.g. 'max_warps_per_sm', 'registers_per_sm')."""
    return int(float(row(arch)[column]))


def smem_per_block(arch: str) -> int:
    """Most shared memory one block may use on `arch` (the opt-in maximum), in bytes."""
    return int(float(row(arch)["shared_per_block_kb"]) * 1024)


def max_smem_per_block() -> int:
    """The largest per-block shared memory of any known architecture, in bytes: a block that
    needs more cannot launch anywhere."""
    return max(smem_per_block(a) for a in known())


def max_warps_per_sm(arch: str) -> int:
    """Resident warps per SM on `arch`: 64 on sm_80/90/100, 48 on sm_86/89/120."""
    return limit(arch, "max_warps_per_sm")


def occupancy_pct(arch: str, blocks_per_sm: int, warps_per_block: int) -> float:
    """Resident warps as a percentage of `arch`'s maximum warps per SM."""
    return 100.0 * blocks_per_sm * warps_per_block / max_warps_per_sm(arch)


def of_compute_capability(major: int, minor: int) -> str:
    """'sm_90' for (9, 0): the data/archs.csv row of a device (cupy's getDeviceProperties)."""
    return f"sm_{major}{minor}"


def number(arch: str) -> int:
    """'sm_90a' -> 90."""
    return int("".join(ch for ch in arch[3:] if ch.isdigit()))
