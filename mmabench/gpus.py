"""Datasheet facts (data/gpus.csv): which row describes the GPU at hand, and its peaks.

Datasheet figures are labelled as such wherever they appear and never fill a measured column.
A GPU with no row still runs: its peak columns stay empty.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "gpus.csv"

PEAK_COLUMN = {  # (A/B type, accumulator) -> datasheet column of dense TFLOP/s
    ("f16", "f16"): "fp16_f16acc_dense_tflops",
    ("f16", "f32"): "fp16_f32acc_dense_tflops",
    ("bf16", "f32"): "bf16_f32acc_dense_tflops",
}


@functools.lru_cache(maxsize=1)
def table():
    import pandas as pd

    return pd.read_csv(DATA, dtype={"compute_capability": str})


def lookup(gpu_name: str, sm_count: int | None = None) -> dict | None:
    """The datasheet row whose regex matches the device name (and SM count, when given)."""
    if not DATA.exists():
        return None
    for row in table().to_dict("records"):
        if not re.search(row["match"], gpu_name, re.IGNORECASE):
            continue
        if sm_count is not None and int(row["sm_count"]) != int(sm_count):
            continue
        return row
    return None


def peak_tflops(row: dict | None, ab_type: str, acc: str) -> float | None:
    """Dense datasheet TFLOP/s at the datasheet boost clock, or None where not published."""
    if row is None:
        return None
    value = row.get(PEAK_COLUMN.get((ab_type, acc), ""), None)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if value != value else value  # NaN -> None
