"""GPUs side by side (`compare`, `report`): one column group per GPU and timing regime.

A group is one GPU's rows in one regime, named by a letter with a legend line that gives the GPU,
the regime and the commits. Rows from before the `regime` column are burst: mmabench timed
nothing else then. A GPU measured in both regimes gets two groups, so a figure is never set
beside another of a different regime without the table saying so. Where several runs give the
same case for one group, the latest row (by timestamp) stands.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from mmabench import hardware
from mmabench.reporting import tables

REGIME_BEFORE_THE_COLUMN = "burst"   # what a row without a regime column was timed in


@dataclass
class SideBySide:
    """One side-by-side table as data: `compare` prints it, `report` lays it out with each row's
    provenance (the measured rows behind it)."""
    title: str
    intro: str
    legend: list[str]
    headers: list[str]
    rows: list[list]
    row_records: list[list[dict]]     # the measured rows behind each table row
    keep: int = 1                     # leading columns (the case), repeated in each part
    per_group: int = 3                # columns of each GPU group after them

    def text(self, markdown: bool = False) -> str:
        return "\n".join([tables.note(self.intro), *self.legend, self._grid(markdown),
                          tables.RATIO_NOTE])

    def _grid(self, markdown: bool) -> str:
        """One table, or as few parts as fit tables.WIDTH, each holding whole GPU groups."""
        count = (len(self.headers) - self.keep) // self.per_group
        if markdown:
            return tables.table(self.headers, self.rows, True)
        for per_part in range(count, 0, -1):
            parts = []
            for first in range(0, count, per_part):
                cols = [*range(self.keep), *range(self.keep + first * self.per_group,
                                                  self.keep + min(count, first + per_part)
                                                  * self.per_group)]
                parts.append(tables.table([self.headers[i] for i in cols],
                                          [[row[i] for i in cols] for row in self.rows],
                                          max_width=None))
            if per_part == 1 or all(len(line) <= tables.WIDTH
                                    for part in parts for line in part.splitlines()):
                return "\n\n".join(parts)
        return ""


@dataclass(frozen=True)
class Group:
    gpu: str
    regime: str

    @property
    def short(self) -> str:
        row = hardware.datasheet_row(self.gpu)
        return row["name"] if row else self.gpu


def _named_regime(row: dict) -> str:
    """The regime a row names ('' for none: NaN where a merged frame lacks it)."""
    regime = row.get("regime")
    return regime if isinstance(regime, str) else ""


def regime_of(row: dict) -> str:
    return _named_regime(row) or REGIME_BEFORE_THE_COLUMN


def _groups(records: list[dict]) -> dict[Group, list[dict]]:
    groups: dict[Group, list[dict]] = {}
    def stamp(r):   # an undated row (NaN in a merged frame) counts as the oldest, never the latest
        ts = r.get("timestamp")
        return ts if isinstance(ts, str) else ""

    for r in sorted(records, key=stamp):
        groups.setdefault(Group(str(r.get("gpu_name", "?")), regime_of(r)), []).append(r)
    return dict(sorted(groups.items(), key=lambda kv: (kv[0].short, kv[0].regime)))


def _legend(groups: dict[Group, list[dict]]) -> list[str]:
    lines = []
    for letter, (group, rows) in zip(string.ascii_uppercase, groups.items()):
        commits = ", ".join(sorted({str(r.get("git_commit")) for r in rows
                                    if r.get("git_commit") == r.get("git_commit")
                                    and r.get("git_commit")})) or "commit not recorded"
        older = "" if any(map(_named_regime, rows)) else " (rows from before the regime column)"
        lines.append(f"{letter} = {group.short} ({group.gpu}), {group.regime} regime{older}, "
                     f"at {commits}")
    return lines


def _group_headers(lead: list[str], groups, columns: tuple[str, ...]) -> list[str]:
    """`lead`, then each group's `columns` under its letter ('A f16 acc', ...), as _legend names
    the groups."""
    return lead + [f"{letter} {column}" for letter, _ in zip(string.ascii_uppercase, groups)
                   for column in columns]


def _records(frame) -> list[dict]:
    return [] if frame is None else frame.to_dict("records")


def _ok(row: dict) -> bool:
    return row.get("status") == "ok" and tables.number(row.get("tflops")) is not None


# ---------------------------------------------------------------- instructions

def _form_base(form: str) -> tuple[str, str]:
    """('m16n8k16.f16', 'f16') from the sweep's 'm16n8k16.f16.acc_f16'."""
    parts = str(form).split(".")
    acc = next((p[4:] for p in parts if p.startswith("acc_")), "")
    return ".".join(p for p in parts if not p.startswith("acc_")), acc


def _twins_from_sweep(rows: list[dict]) -> list[dict]:
    """Comparison-like rows from a sweep's throughput rows (results without the interleaved
    twins): each form's best point with either accumulator, their quotient without a range."""
    best: dict[tuple, dict] = {}
    for r in rows:
        if r.get("kind") == "throughput" and _ok(r):
            base, acc = _form_base(r["form"])
            key = (str(r.get("gpu_name")), regime_of(r), base)
            if key not in best:     # the row's context; its (NaN) twin columns not carried over
                best[key] = {k: v for k, v in r.items()
                             if not k.startswith(("f16_", "f32_", "ratio_f16_over_f32"))}
                best[key].update(kind="comparison", form=base)
            twin = best[key]
            if acc in ("f16", "f32") and float(r["tflops"]) > twin.get(f"{acc}_tflops", 0.0):
                twin[f"{acc}_tflops"] = float(r["tflops"])
    for twin in best.values():
        if twin.get("f16_tflops") and twin.get("f32_tflops"):
            twin["ratio_f16_over_f32"] = twin["f16_tflops"] / twin["f32_tflops"]
    return list(best.values())


def instructions(frames: dict) -> SideBySide | None:
    """Per instruction form, each group's f16/f32-accumulator twins as the suite compared them
    (kind 'comparison': the twins interleaved at the form's saturating point, with the ratio's
    range over rounds); for a group (GPU and regime) without such rows, its sweep's best points."""
    records = []
    for bench, frame in frames.items():
        rows = _records(frame)
        twins = [r for r in rows if r.get("kind") == "comparison" and r.get("status") == "ok"]
        compared = {(str(r.get("gpu_name")), regime_of(r)) for r in twins}   # groups with twins
        twins += [t for t in _twins_from_sweep(rows)
                  if (str(t.get("gpu_name")), regime_of(t)) not in compared]
        records += [{**r, "form": r["form"] if bench == "mma" else f"{bench} {r['form']}"}
                    for r in twins]
    groups = _groups(records)
    if not groups:
        return None
    latest = {(g, r["form"]): r for g, rows in groups.items() for r in rows}
    forms = list(dict.fromkeys(k[1] for k in latest))
    headers = _group_headers(["form"], groups, ("f16 acc", "f32 acc", "f16/f32"))
    body, behind = [], []
    for form in forms:
        row = [form]
        behind.append([latest[(g, form)] for g in groups if (g, form) in latest])
        for g in groups:
            r = latest.get((g, form))
            row += ([tables.fmt(tables.number(r.get("f16_tflops"))),
                     tables.fmt(tables.number(r.get("f32_tflops"))),
                     tables.ratio(r.get("ratio_f16_over_f32"), r.get("ratio_f16_over_f32_lo"),
                                  r.get("ratio_f16_over_f32_hi"))] if r else ["-"] * 3)
        body.append(row)
    return SideBySide("Instruction forms, GPUs side by side",
                      "TFLOP/s of each instruction form's f16- and f32-accumulator twins, "
                      "interleaved at the form's saturating point, and their ratio (a ratio "
                      "without a range: the quotient of the two best sweep points of a run "
                      "without interleaved twins):",
                      _legend(groups), headers, body, behind)


# ---------------------------------------------------------------- GEMM

def gemm(frame) -> SideBySide | None:
    """Per implementation of the GEMM, each group's TFLOP/s with either accumulator and the
    f16/f32 ratio over interleaved rounds (its range; '~' within noise)."""
    groups = _groups([r for r in _records(frame) if _ok(r)])
    if not groups:
        return None
    latest: dict[tuple, dict] = {}
    for g, rows in groups.items():
        for r in rows:
            if str(r.get("impl")) != "torch.matmul":   # its two settings both accumulate in f32
                latest[(g, r["impl"], _problem(r), r["acc"])] = r
    cases = list(dict.fromkeys((k[1], k[2]) for k in latest))
    headers = _group_headers(["implementation", "problem"], groups,
                             ("f16 acc", "f32 acc", "f16/f32"))
    body, behind = [], []
    for impl, size in cases:
        row = [impl, size]
        behind.append([r for k, r in latest.items() if k[1:3] == (impl, size)])
        for g in groups:
            f16, f32 = latest.get((g, impl, size, "f16")), latest.get((g, impl, size, "f32"))
            ratio = "-"
            if f16 and tables.number(f16.get("f16_over_f32")) is not None:
                ratio = tables.ratio(f16["f16_over_f32"], f16.get("f16_over_f32_lo"),
                                     f16.get("f16_over_f32_hi"))
            elif f16 and f32:
                ratio = f"{float(f16['tflops']) / float(f32['tflops']):.2f}x"
            row += [tables.fmt(tables.number(f16["tflops"])) if f16 else "-",
                    tables.fmt(tables.number(f32["tflops"])) if f32 else "-", ratio]
        body.append(row)
    return SideBySide("GEMM, GPUs side by side",
                      "GEMM, fp16 inputs (e4m3 for the fp8 rows) and fp16 outputs, TFLOP/s with "
                      "either accumulator, and the f16/f32 ratio over interleaved rounds (an "
                      "f16-only kernel, such as the TMA 256-row tile, against the f32 kernel of its "
                      "family); problem: M = N = K, or M x N x K:",
                      _legend(groups), headers, body, behind, keep=2)


def _problem(r: dict) -> str:
    """'8192' for M = N = K = 8192, else 'MxNxK' (a sweep's skinny shapes)."""
    m, n, k = (int(float(r[d])) for d in ("m", "n", "k"))
    return str(m) if m == n == k else f"{m}x{n}x{k}"


# ---------------------------------------------------------------- attention

TORCH = {"sdpa_flash_attention": "FLASH", "sdpa_cudnn_attention": "cuDNN"}


def _compact_ratio(value, lo=None, hi=None) -> str:
    """'1.18x', or '1.00x~' when its range over rounds includes 1.0: attention puts five columns
    per GPU side by side, so the ranges stay in each run's own table."""
    from mmabench.measure.stats import within_noise

    x, lo, hi = tables.number(value), tables.number(lo), tables.number(hi)
    if x is None:
        return "-"
    return f"{x:.2f}x" + ("~" if lo is not None and hi is not None and within_noise(lo, hi) else "")


def kernel_of(row: dict) -> str:
    """Which of mmabench's attention kernels made a row: 'hopper', or 'fa2' (also for rows from
    before the column)."""
    kernel = row.get("kernel")
    return kernel if isinstance(kernel, str) and kernel else "fa2"


def _attention_cells(sel: list[dict]) -> list[str]:
    """cuDNN, FLASH, ours f32/f32 (delayed normalization), ours against FLASH, and the best
    f16-accumulator scheme against ours f32/f32, for one case of one group: the FA2-class
    kernel, which every GPU generation runs (the Hopper kernel has its own report rows)."""
    lib = {TORCH[r["variant"]]: r for r in sel if r.get("variant") in TORCH}
    ours = [r for r in sel if r.get("impl") == "mmabench" and "@" not in str(r.get("variant"))
            and kernel_of(r) == "fa2"]
    base = next((r for r in ours if (r.get("acc_s"), r.get("acc_o"), r.get("norm"))
                 == ("f32", "f32", "delayed")), None)
    f16 = [r for r in ours if (r.get("acc_s"), r.get("acc_o")) != ("f32", "f32")]
    best = max(f16, key=lambda r: float(r["tflops"])) if f16 else None
    gain = "-"
    if best is not None and base is not None:
        # the interleaved ratio is against the f32/f32 kernel of the row's own normalization:
        # it is this column's only when that is the delayed one shown beside it
        if best.get("norm") == base.get("norm"):
            gain = _compact_ratio(best.get("x_vs_f32f32"), best.get("x_vs_f32f32_lo"),
                                  best.get("x_vs_f32f32_hi"))
        if gain == "-":
            gain = f"{float(best['tflops']) / float(base['tflops']):.2f}x"

    flash = lib.get("FLASH")
    lead = "-"
    if base is not None:
        lead = _compact_ratio(base.get("x_vs_flash"), base.get("x_vs_flash_lo"),
                              base.get("x_vs_flash_hi"))
        if lead == "-" and flash is not None:
            lead = f"{float(base['tflops']) / float(flash['tflops']):.2f}x"

    def cell(r):
        return tables.fmt(tables.number(r["tflops"])) if r else "-"

    return [cell(lib.get("cuDNN")), cell(flash), cell(base), lead, gain]


def attention(frame) -> SideBySide | None:
    """Per attention case, each group's cuDNN, FLASH (FA2), ours f32/f32 and its best
    f16-accumulator scheme against ours f32/f32."""
    groups = _groups([r for r in _records(frame) if _ok(r)])
    if not groups:
        return None
    cases: dict[tuple, dict[Group, dict[str, dict]]] = {}
    for g, rows in groups.items():
        for r in rows:
            key = (int(r["dim"]), int(r["seq"]), "causal" if tables.truthy(r["causal"]) else "full")
            cases.setdefault(key, {}).setdefault(g, {})[str(r["variant"])] = r   # latest stands
    headers = _group_headers(["d", "N", "mask"], groups,
                             ("cuDNN", "FLASH", "f32/f32", "/FLASH", "f16/f32"))
    body, behind = [], []
    for key in sorted(cases):
        row = list(key)
        behind.append([r for per_group in cases[key].values() for r in per_group.values()])
        for g in groups:
            row += (_attention_cells(list(cases[key][g].values())) if g in cases[key]
                    else ["-"] * 5)
        body.append(row)
    return SideBySide("Attention forward, GPUs side by side",
                      "Attention forward, fp16, TFLOP/s: PyTorch's cuDNN and FLASH "
                      "(FlashAttention-2) back ends, mmabench's f32/f32 kernel (delayed "
                      "normalization) and its ratio to FLASH (/FLASH), and its fastest "
                      "f16-accumulator scheme against that f32/f32 kernel (f16/f32, a best-of-N "
                      "figure). Ratios: medians "
                      "over interleaved rounds, '~' where their range includes 1.0 (the ranges "
                      "are in each run's own table), or the quotient of two medians:",
                      _legend(groups), headers, body, behind,
                      keep=3, per_group=5)


def every(frames: dict) -> list[SideBySide]:
    """The side-by-side tables that `frames` ({bench: rows or None}) give."""
    made = [instructions({b: frames.get(b) for b in ("mma", "wgmma")}), gemm(frames.get("gemm")),
            attention(frames.get("attention"))]
    return [m for m in made if m is not None]
