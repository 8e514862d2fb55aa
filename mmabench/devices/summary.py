"""The comparison across GPUs: per form (or variant and shape), each GPU's TFLOP/s, the spread,
the slowest/fastest ratio, and the GPUs that were throttled while measuring it.

Which rows and columns make a "form" is data (SPECS, by bench name); a bench not listed gets
the generic rule (the key columns it has, ok rows, the saturating row where marked).
The clock/power/throttle columns are used when the rows have them and skipped when not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mmabench.reporting import tables


@dataclass(frozen=True)
class SummarySpec:
    keys: tuple[str, ...]                      # columns that name one form
    value: str = "tflops"                      # the figure compared across GPUs (higher = faster)
    label: str = "TFLOP/s"
    where: tuple[tuple[str, object], ...] = (("status", "ok"),)   # row filters, if the column exists


SPECS = {
    "mma": SummarySpec(keys=("form",), where=(("status", "ok"), ("saturating", True)),
                       label="saturating TFLOP/s"),
    "attention": SummarySpec(keys=("variant", "dim", "seq", "causal")),
}
GENERIC_KEYS = ("form", "variant", "shape", "m", "n", "k", "dim", "seq", "causal")
NOT_THROTTLED = {"", "none", "no", "false", "0", "ok", "nan", "-"}


def spec_for(bench: str, columns) -> SummarySpec | None:
    spec = SPECS.get(bench)
    if spec is None:
        keys = tuple(c for c in GENERIC_KEYS if c in columns)
        where = tuple((c, v) for c, v in (("status", "ok"), ("saturating", True)) if c in columns)
        spec = SummarySpec(keys=keys, where=where)
    if spec.value not in columns or not any(k in columns for k in spec.keys):
        return None
    return spec


def _same(cell, wanted) -> bool:
    if isinstance(wanted, bool):
        return truthy(cell) == wanted
    return str(cell) == str(wanted)


def truthy(cell) -> bool:
    if isinstance(cell, float) and math.isnan(cell):
        return False
    return cell is True or str(cell).strip().lower() in ("true", "1", "yes")


def throttled(row: dict) -> bool:
    """The row says its GPU was throttled while it was measured (`throttled`, else `throttle`)."""
    if "throttled" in row and row["throttled"] == row["throttled"] and row["throttled"] is not None:
        return truthy(row["throttled"])
    reason = row.get("throttle")
    return reason is not None and str(reason).strip().lower() not in NOT_THROTTLED


@dataclass
class FormStats:
    key: tuple
    values: dict            # device index -> value
    throttled: list         # device indices

    @property
    def fastest(self) -> float:
        return max(self.values.values())

    @property
    def slowest(self) -> float:
        return min(self.values.values())

    @property
    def ratio(self) -> float:
        """slowest / fastest (1.0: all GPUs alike)."""
        return self.slowest / self.fastest if self.fastest > 0 else math.nan

    @property
    def spread_pct(self) -> float:
        """(fastest - slowest) / median, in percent."""
        v = sorted(self.values.values())
        mid = len(v) // 2
        median = v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2
        return 100 * (self.fastest - self.slowest) / median if median > 0 else math.nan


def form_stats(frame, spec: SummarySpec) -> list[FormStats]:
    keys = [k for k in spec.keys if k in frame.columns]
    rows = [r for r in frame.to_dict("records")
            if all(_same(r.get(c), v) for c, v in spec.where if c in frame.columns)
            and isinstance(r.get(spec.value), (int, float)) and r[spec.value] == r[spec.value]]
    out: dict[tuple, FormStats] = {}
    for r in rows:
        key = tuple(r[k] for k in keys)
        stats = out.setdefault(key, FormStats(key, {}, []))
        dev = int(r["device_index"])
        stats.values[dev] = max(stats.values.get(dev, -math.inf), float(r[spec.value]))
        if throttled(r) and dev not in stats.throttled:
            stats.throttled.append(dev)
    return list(out.values())


def _median(values):
    v = sorted(x for x in values if isinstance(x, (int, float)) and x == x)
    if not v:
        return None
    mid = len(v) // 2
    return float(v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2)


def summarize(bench: str, frame, outcomes, markdown: bool = False) -> str:
    """Per-form table and per-GPU table for one bench's merged rows ('' if nothing to compare)."""
    spec = spec_for(bench, frame.columns)
    if spec is None:
        return ""
    stats = form_stats(frame, spec)
    if not stats:
        return ""
    devices = [o.device for o in outcomes]
    keys = [k for k in spec.keys if k in frame.columns]
    body = []
    for s in stats:
        cells = [f"{tables.fmt(s.values[d.index])}{'*' if d.index in s.throttled else ''}"
                 if d.index in s.values else "-" for d in devices]
        body.append([*map(str, s.key), *cells, tables.fmt(s.spread_pct), f"{s.ratio:.3f}",
                     ",".join(map(str, sorted(s.throttled))) or "-"])
    out = [f"{bench}: {spec.label} per GPU (* = throttled while measured)",
           # a column per GPU: eight GPUs split into tables that each fit 120 columns
           tables.split_table([*keys, *[f"GPU {d.index}" for d in devices], "spread %",
                               "slowest/fastest", "throttled GPUs"], body, markdown, keep=len(keys))]

    per_gpu = []
    records = frame.to_dict("records")
    for o in outcomes:
        d = o.device
        mine = [r for r in records if int(r["device_index"]) == d.index]
        rel = [s.values[d.index] / s.fastest for s in stats if d.index in s.values and s.fastest > 0]
        slowest_in = sum(1 for s in stats if len(s.values) > 1 and s.values.get(d.index) == s.slowest)
        per_gpu.append([d.index, d.name or "?", o.status,
                        len(mine), tables.fmt(_median(rel), 3), slowest_in,
                        tables.fmt(_median(r.get("sm_clock_mhz") for r in mine), 0),
                        tables.fmt(_median(r.get("power_w") for r in mine), 0),
                        sum(1 for s in stats if d.index in s.throttled)])
    out += ["", tables.table(["GPU", "name", "run", "rows", "median vs fastest",
                              "slowest in", "SM MHz", "power W", "throttled forms"], per_gpu, markdown)]
    # the uuid and a failed run's detail are long: a line per GPU under the table
    out += [tables.note(f"GPU {o.device.index}: {o.device.uuid or '?'}"
                        + (f"; {o.status}: {o.detail}" if o.detail else "")) for o in outcomes]
    return "\n".join(out)
