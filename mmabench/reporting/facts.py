"""The numbers the report shows, derived from merged result rows (never typed in): per GPU and
instruction form the saturating throughput, latency, registers, clock and power; per attention
shape the PyTorch back ends, the best f32/f32 and the best f16-accumulator variant with the ratio
and its spread; per numerics scheme where it loses accuracy and where it overflows.

Schema-tolerant: any benchmark whose rows hold `form` and `tflops` (mma now; wgmma, FP8, gemm as
they land) is an instruction family; columns a run lacks read as missing, never as zero.
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass, field

from mmabench.reporting import generations, provenance as prov

ACC_RE = re.compile(r"\.?acc_(f16|f32|s32)")


def _num(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _records(frame) -> list[dict]:
    return [] if frame is None else frame.to_dict("records")


def _ok(row: dict) -> bool:
    status = row.get("status")
    return (status is None or status != status or status == "ok") and _num(row.get("tflops")) is not None


def sm_name(cc) -> str:
    try:
        major, minor = str(cc).split(".")[:2]
        return f"sm_{int(major)}{int(minor)}"
    except ValueError:
        return ""


# ---------------------------------------------------------------- instruction level

@dataclass
class FormFacts:
    bench: str
    gpu: str
    form: str
    pair_key: str          # the form with its accumulator taken out: f16 and f32 twins share it
    acc: str
    tflops: float
    flop_per_clk_per_sm: float | None
    pct_of_peak: float | None
    clock_mhz: float | None
    power_w: float | None
    latency_cycles: float | None
    registers: float | None
    best_row: dict
    rows: list = field(default_factory=list)     # its throughput rows (for register pairing)

    @property
    def provenance(self) -> prov.Provenance:
        return prov.measured(self.best_row, self.clock_mhz)


def _acc(row: dict) -> str:
    acc = row.get("acc")
    if isinstance(acc, str) and acc:
        return acc
    m = ACC_RE.search(str(row.get("form", "")))
    return m.group(1) if m else ""


def instruction_forms(results) -> list[FormFacts]:
    out = []
    for bench in results.benches():
        frame = results.frame(bench)
        if frame is None or not {"form", "tflops"} <= set(frame.columns):
            continue
        rows = _records(frame)
        by_form: dict[tuple, dict] = {}
        for r in rows:
            key = (str(r.get("gpu_name", "")), str(r["form"]))
            entry = by_form.setdefault(key, {"thr": [], "lat": []})
            kind = r.get("kind") if isinstance(r.get("kind"), str) else ""
            has_latency = _num(r.get("latency_cycles")) is not None
            if kind == "latency" or (not kind and has_latency and _num(r.get("tflops")) is None):
                if has_latency:
                    entry["lat"].append(r)
            elif kind in ("", "throughput") and _ok(r):
                entry["thr"].append(r)
        for (gpu, form), entry in by_form.items():
            if not entry["thr"]:
                continue
            best = max(entry["thr"], key=lambda r: _num(r["tflops"]))
            lat = [_num(r["latency_cycles"]) for r in entry["lat"]]
            out.append(FormFacts(
                bench=bench, gpu=gpu, form=form, pair_key=ACC_RE.sub("", form), acc=_acc(best),
                tflops=_num(best["tflops"]), flop_per_clk_per_sm=_num(best.get("flop_per_clk_per_sm")),
                pct_of_peak=_num(best.get("pct_of_peak")), clock_mhz=_num(best.get("sm_clock_mhz")),
                power_w=_num(best.get("power_w")),
                latency_cycles=statistics.median(lat) if lat else None,
                registers=_num(best.get("registers")), best_row=best, rows=entry["thr"]))
    return out


@dataclass
class AccPair:
    """One form with an f16 and an f32 accumulator on one GPU."""
    f16: FormFacts
    f32: FormFacts
    comparison: dict | None = None     # the interleaved comparison row, where the run made one

    @property
    def rate_ratio(self) -> float:
        """Interleaved ratio where measured so, else best f16 / best f32 of the sweep."""
        if self.comparison:
            return _num(self.comparison["ratio_f16_over_f32"])
        return self.f16.tflops / self.f32.tflops

    @property
    def spread(self) -> tuple | None:
        """(lo, hi, within noise) of the interleaved ratio; None without a comparison row."""
        if not self.comparison:
            return None
        c = self.comparison
        lo, hi = _num(c.get("ratio_f16_over_f32_lo")), _num(c.get("ratio_f16_over_f32_hi"))
        if lo is None or hi is None:
            return None
        return lo, hi, lo <= 1.0 <= hi

    @property
    def registers_saved(self) -> tuple[float, float] | None:
        """(f32 minus f16 registers per thread at the same launch shape, the ILP): at the highest
        ILP both ran (where the accumulators dominate); None where rows carry no register counts."""
        keys = ("ilp", "warps_per_block", "blocks_per_sm")

        def by_shape(rows):
            return {tuple(_num(r.get(k)) for k in keys): _num(r.get("registers")) for r in rows
                    if _num(r.get("registers")) is not None}
        a, b = by_shape(self.f16.rows), by_shape(self.f32.rows)
        common = [k for k in a if k in b]
        if not common:
            return None
        top = max((k[0] or 0) for k in common)
        diffs = [b[k] - a[k] for k in common if (k[0] or 0) == top]
        return statistics.median(diffs), top


def acc_pairs(forms: list[FormFacts], results=None) -> list[AccPair]:
    index = {(f.bench, f.gpu, f.pair_key, f.acc): f for f in forms}
    compared = comparisons(results) if results is not None else {}
    pairs = []
    for f in forms:
        if f.acc == "f16" and (f.bench, f.gpu, f.pair_key, "f32") in index:
            pairs.append(AccPair(f, index[(f.bench, f.gpu, f.pair_key, "f32")],
                                 compared.get((f.bench, f.gpu, f.pair_key))))
    return pairs


def comparisons(results) -> dict:
    """Interleaved f16-vs-f32 comparison rows (kind 'comparison', ratio_f16_over_f32[_lo|_hi]),
    keyed like the pairs: (bench, gpu, form without its accumulator)."""
    out = {}
    for bench in results.benches():
        for r in _records(results.frame(bench)):
            if r.get("kind") == "comparison" and r.get("status") in ("ok", None) \
                    and _num(r.get("ratio_f16_over_f32")) is not None:
                out[(bench, str(r.get("gpu_name", "")), ACC_RE.sub("", str(r.get("form", ""))))] = r
    return out


# ---------------------------------------------------------------- attention

TORCH = {"sdpa_flash_attention": "FLASH", "sdpa_cudnn_attention": "cuDNN"}
# interleaved ratio columns of an f16-accumulator row (prefix, prefix_lo, prefix_hi,
# prefix_within_noise), first found wins, and what the ratio is taken against
INTERLEAVED = {
    "ratio": "interleaved",
    "x_vs_f32f32_same_tiles": "interleaved, vs f32/f32 with the same tiles",
    "x_vs_f32f32": "interleaved, vs the f32/f32 variant of the same normalization",
}


@dataclass
class AttentionCase:
    gpu: str
    dim: int
    seq: int
    causal: bool
    flash: float | None
    cudnn: float | None
    base: dict | None          # best f32/f32 row
    low: dict | None           # best row with an f16 accumulator
    n_base: int
    n_low: int
    ratio: float | None
    ratio_lo: float | None
    ratio_hi: float | None
    within_noise: bool | None
    spread_from: str           # "interleaved" (ratio columns) or "min/max of separate timings"
    clock_mhz: float | None
    clock_note: str
    power_w: float | None
    regime: str = "burst"      # a case's contenders all come from one regime, never mixed
    kernel: str = "fa2"        # mmabench's kernel: 'fa2' (mma.sync) or 'hopper' (TMA + wgmma)

    @property
    def scheme(self) -> str:
        return scheme_of(self.low) if self.low else ""

    @property
    def provenance(self) -> prov.Provenance:
        row = self.low or self.base or {}
        return prov.measured(row, self.clock_mhz, self.clock_note)


def scheme_of(row: dict) -> str:
    """The numerics scheme name of an attention row (as attention.numerics names it: the Hopper
    kernel's prefixed, so that its rows meet that kernel's own numerics)."""
    from mmabench.attention.numerics import scheme_name

    return scheme_name(generations.kernel_of(row), row.get("acc_s"), row.get("acc_o"), row.get("norm"))


def _time_spread(base: dict, low: dict):
    t_b, t_l = _num(base.get("median_ms")), _num(low.get("median_ms"))
    if t_b is None or t_l is None:
        return _num(low["tflops"]) / _num(base["tflops"]), None, None
    lo_b, hi_b = _num(base.get("min_ms")), _num(base.get("max_ms"))
    lo_l, hi_l = _num(low.get("min_ms")), _num(low.get("max_ms"))
    ratio = t_b / t_l
    if None in (lo_b, hi_b, lo_l, hi_l):
        return ratio, None, None
    return ratio, lo_b / hi_l, hi_b / lo_l


def attention_cases(results) -> list[AttentionCase]:
    """One case per GPU, shape, regime and mmabench kernel: each kernel's f16 variants against
    its own f32/f32 (the library rows of the shape appear in both)."""
    rows = [r for r in _records(results.frame("attention")) if _ok(r)]
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        key = (str(r.get("gpu_name", "")), int(_num(r["dim"])), int(_num(r["seq"])),
               str(r["causal"]).lower() in ("true", "1", "1.0"), generations.regime_of(r))
        groups.setdefault(key, []).append(r)
    out = []
    for (gpu, dim, seq, causal, regime), shape_rows in groups.items():
        for kernel in dict.fromkeys(generations.kernel_of(r) for r in shape_rows if r.get("impl") == "mmabench"):
            sel = [r for r in shape_rows if r.get("impl") != "mmabench" or generations.kernel_of(r) == kernel]
            out.append(_attention_case(gpu, dim, seq, causal, regime, kernel, sel))
    return out


def _attention_case(gpu, dim, seq, causal, regime, kernel, sel) -> AttentionCase:
    ours = [r for r in sel if r.get("impl") == "mmabench"]
    lib = {TORCH[r["variant"]]: _num(r["tflops"]) for r in sel if r.get("variant") in TORCH}
    f32s = [r for r in ours if (r.get("acc_s"), r.get("acc_o")) == ("f32", "f32")]
    f16s = [r for r in ours if (r.get("acc_s"), r.get("acc_o")) != ("f32", "f32")]
    base = max(f32s, key=lambda r: _num(r["tflops"])) if f32s else None
    low = max(f16s, key=lambda r: _num(r["tflops"])) if f16s else None
    ratio = lo = hi = None
    noise = None
    spread_from = ""
    if base and low:
        # the interleaved columns compare with the f32/f32 kernel of low's own normalization:
        # they are this ratio's only when base has that normalization too
        same_norm = low.get("norm") == base.get("norm")
        prefix = next((p for p in INTERLEAVED if same_norm and (
            _num(low.get(p + "_lo")) is not None
            or (p == "ratio" and _num(low.get(p)) is not None))), None)
        if prefix:
            ratio, lo, hi = _num(low[prefix]), _num(low.get(prefix + "_lo")), \
                _num(low.get(prefix + "_hi"))
            wn = low.get(prefix + "_within_noise", low.get("within_noise"))
            noise = None if wn is None or wn != wn else str(wn).lower() in ("true", "1", "1.0")
            spread_from = INTERLEAVED[prefix]
        else:
            ratio, lo, hi = _time_spread(base, low)
            spread_from = "min/max of separate timings"
        if noise is None and lo is not None and hi is not None:
            noise = lo <= 1.0 <= hi
    ref = low or base or sel[0]
    clock, note = _num(ref.get("sm_clock_mhz")), ""
    if clock is None and _num(ref.get("sm_clock_mhz_after")) is not None:
        clock, note = _num(ref["sm_clock_mhz_after"]), " read after the run, not during it"
    return AttentionCase(gpu, dim, seq, causal, lib.get("FLASH"), lib.get("cuDNN"), base, low,
                         len(f32s), len(f16s), ratio, lo, hi, noise, spread_from, clock, note,
                         _num(ref.get("power_w")), regime, kernel)


# ---------------------------------------------------------------- numerics (kernel level)

@dataclass
class NumericsMap:
    gpu: str
    series: str
    points: list[str]
    schemes: list[str]
    err: dict            # (scheme, point) -> rel L2 error (inf where the output overflowed)
    state: dict          # (scheme, point) -> 'ok' | 'lossy' | 'overflow'
    rows: list


def numerics_maps(results) -> list[NumericsMap]:
    from mmabench.attention.numerics import base_of, state

    rows = _records(results.frame("attention-numerics"))
    out = []
    for gpu in dict.fromkeys(str(r.get("gpu_name", "")) for r in rows):
        mine = [r for r in rows if str(r.get("gpu_name", "")) == gpu]
        for series in dict.fromkeys(r["series"] for r in mine):
            sel = [r for r in mine if r["series"] == series]
            by = {(r["scheme"], r["point"]): r for r in sel}
            points = list(dict.fromkeys(r["point"] for r in sel))
            schemes = list(dict.fromkeys(r["scheme"] for r in sel))
            states, errs = {}, {}
            for (scheme, point), r in by.items():
                st = state(r, by.get((base_of(scheme), point)))
                states[(scheme, point)] = st
                errs[(scheme, point)] = math.inf if st == "overflow" else _num(r.get("rel_l2_err"))
            out.append(NumericsMap(gpu, series, points, schemes, errs, states, sel))
    return out


def error_factor(maps: list[NumericsMap], gpu: str, scheme: str):
    """Median over the sweep of the scheme's error / the f32/f32 base scheme's, where both are
    finite, and the first point where the scheme overflows (None if never)."""
    from mmabench.attention.numerics import base_of

    ratios, overflow = [], None
    for m in maps:
        if m.gpu != gpu or scheme not in m.schemes:
            continue
        for p in m.points:
            e, b = m.err.get((scheme, p)), m.err.get((base_of(scheme), p))
            if m.state.get((scheme, p)) == "overflow":
                overflow = overflow or f"{m.series} {p}"
            elif e is not None and b and math.isfinite(b) and math.isfinite(e):
                ratios.append(e / b)
    return (statistics.median(ratios) if ratios else None), overflow
