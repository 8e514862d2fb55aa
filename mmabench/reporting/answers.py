"""The answer for each GPU in one sentence, derived from the data: for a measured GPU, what the
f16 accumulator does to the instruction rate, latency and registers, what it buys in attention
and at what error; for a GPU known only from its datasheet (and published papers), what those
say. Each answer carries its provenance."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mmabench import hardware
from mmabench.reporting import facts, provenance as prov


@dataclass
class Answer:
    gpu: str
    sentence: str
    provenance: list       # Provenance of every figure the sentence uses


def _pct(x: float) -> str:
    return f"{(x - 1) * 100:+.1f}%"


def _short(name: str) -> str:
    return re.sub(r"^NVIDIA\s+", "", name)


def _instruction_clause(pairs: list[facts.AccPair]) -> str:
    """One clause per instruction family (mma.sync, wgmma, ...): its fp16-input form with the
    most work per instruction speaks for it (k, then N), so FP8 forms do not stand in for fp16."""
    families: dict[str, list[facts.AccPair]] = {}
    for p in pairs:
        families.setdefault(p.f16.bench, []).append(p)
    clauses = []
    for bench, group in families.items():
        f16_inputs = [p for p in group if p.f16.best_row.get("ab_type") == "f16"] or group
        pair = max(f16_inputs, key=lambda p: (_num_k(p.f16.form), _num_n(p.f16.form), p.f16.tflops))
        clauses.append(_pair_clause(pair))
    text = "f16 accumulation runs " + "; ".join(clauses)
    return text


def _pair_clause(pair: facts.AccPair) -> str:
    f16, f32 = pair.f16, pair.f32
    row = f16.best_row
    what = (f"{row['shape']} {row['ab_type']}" if isinstance(row.get("shape"), str)
            and isinstance(row.get("ab_type"), str) else f16.pair_key)
    family = "mma.sync" if f16.bench == "mma" else f16.bench
    text = f"{family} {what} at {pair.rate_ratio:.2f}x the f32 rate"
    if pair.spread:
        lo, hi, noise = pair.spread
        text += f" ({lo:.2f}-{hi:.2f} interleaved{', within noise' if noise else ''})"
    c = pair.comparison or {}
    per_clk = [facts._num(c.get(f"{a}_flop_per_clk_per_sm")) for a in ("f16", "f32")]
    clocks = [facts._num(c.get(f"{a}_sm_clock_mhz")) for a in ("f16", "f32")]
    if None not in per_clk and None not in clocks and abs(clocks[0] / clocks[1] - 1) > 0.01:
        text += (f", {per_clk[0] / per_clk[1]:.2f}x per clock: the f16 accumulator's SM clock ran "
                 f"at {clocks[0]:,.0f} vs {clocks[1]:,.0f} MHz under the power cap")
    if f16.latency_cycles and f32.latency_cycles:
        same = abs(f16.latency_cycles - f32.latency_cycles) < 0.5
        text += (" (same latency, {:.0f} cycles)".format(f16.latency_cycles) if same else
                 f" (latency {f16.latency_cycles:.0f} vs {f32.latency_cycles:.0f} cycles)")
    saved = pair.registers_saved
    if saved is not None:
        n, ilp = saved
        text += (f" and saves {n:.0f} registers per thread at ILP {ilp:.0f}" if n > 0 else
                 f" and saves no registers (ILP {ilp:.0f})")
    return text


def _num_n(form: str) -> int:
    m = re.search(r"n(\d+)k", form)
    return int(m.group(1)) if m else 0


def _num_k(form: str) -> int:
    m = re.search(r"k(\d+)", form)
    return int(m.group(1)) if m else 0


def _attention_clause(cases: list[facts.AttentionCase], maps) -> str:
    """The FA2-class kernel's clause, then the Hopper kernel's where it ran."""
    text = _fa2_clause([c for c in cases if c.kernel == "fa2"], maps)
    hopper = _hopper_clause([c for c in cases if c.kernel == "hopper"])
    return "; ".join(t for t in (text, hopper) if t)


def _hopper_clause(cases: list[facts.AttentionCase]) -> str:
    rated = [c for c in cases if c.ratio is not None]
    if not rated:
        return ""
    lo, hi = min(c.ratio for c in rated), max(c.ratio for c in rated)
    span = _pct(lo) if f"{lo:.3f}" == f"{hi:.3f}" else f"{_pct(lo)} to {_pct(hi)}"
    text = (f"in the Hopper kernel (TMA, warp-specialized wgmma) the best f16-accumulator variant "
            f"gives {span} over its f32/f32 across {len(rated)} shape" + ("s" if len(rated) > 1 else "")
            + f" ({' and '.join(sorted({c.regime for c in rated}))} regime)")
    vs = [float(c.base["tflops"]) / c.cudnn for c in rated if c.base and c.cudnn]
    if vs:
        text += f", its f32/f32 at {min(vs):.2f}-{max(vs):.2f}x cuDNN"
    return text


def _fa2_clause(cases: list[facts.AttentionCase], maps) -> str:
    rated = [c for c in cases if c.ratio is not None]
    if not rated:
        return ""
    lo, hi = min(c.ratio for c in rated), max(c.ratio for c in rated)
    noise = sum(1 for c in rated if c.within_noise)
    schemes = [c.scheme for c in rated]
    scheme = max(set(schemes), key=schemes.count)
    span = _pct(lo) if f"{lo:.3f}" == f"{hi:.3f}" else f"{_pct(lo)} to {_pct(hi)}"
    shapes = (f"{len(rated)} shape" + ("s" if len(rated) > 1 else "")
              + f" ({' and '.join(sorted({c.regime for c in rated}))} regime)")
    text = (f"in attention the best f16-accumulator variant gives {span} over the best f32/f32 one "
            f"across {shapes}")
    if noise:
        text += f" ({noise} within noise)"
    factor, overflow = facts.error_factor(maps, rated[0].gpu, scheme)
    if factor is not None:
        text += f", at {factor:.1f}x the error of f32/f32 (median over the numerics sweep, {scheme})"
        if overflow:
            text += f" and overflow from {overflow}"
    return text


def _clock_range(values, what: str) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    return f"SM {lo:,.0f} MHz ({what})" if round(lo) == round(hi) else \
        f"SM {lo:,.0f}-{hi:,.0f} MHz ({what})"


def measured_answer(gpu: str, pairs, cases, maps, cc: str) -> Answer:
    parts, rows, clocks = [], [], []
    if pairs:
        parts.append(_instruction_clause(pairs))
        rows += [p.f16.best_row for p in pairs] + [p.f32.best_row for p in pairs]
        clocks.append(_clock_range([f.clock_mhz for p in pairs for f in (p.f16, p.f32)],
                                   "instructions"))
    att = _attention_clause(cases, maps)
    if att:
        parts.append(att)
        rated = [c for c in cases if c.ratio is not None]
        rows += [c.low for c in rated] + [c.base for c in rated]
        after = any(c.clock_note for c in rated)
        clocks.append(_clock_range([c.clock_mhz for c in rated],
                                   "attention, read after the run" if after else "attention"))
    if not parts:
        parts.append("measured, but no form ran with both accumulators")
    head = f"{_short(gpu)} ({cc})" if cc else _short(gpu)
    used = []
    if rows:
        run = prov.runs(rows)
        used.append(prov.Provenance("measured", "; ".join(filter(None, [run.detail] + clocks))))
    return Answer(gpu, f"{head}: " + "; ".join(parts) + ".", used)


def datasheet_answer(row: dict, published_rows: list[dict]) -> Answer:
    f16, f32 = hardware.peak_tflops(row, "f16", "f16"), hardware.peak_tflops(row, "f16", "f32")
    cc = facts.sm_name(row.get("compute_capability"))
    head = f"{row['name']} ({cc}, not measured here)" if cc else f"{row['name']} (not measured here)"
    if f16 and f32:
        text = (f"the datasheet gives f16 accumulation {f16 / f32:.2f}x the f32 rate "
                f"({f16:g} vs {f32:g} dense TFLOP/s)")
    elif f32:
        text = f"the datasheet gives {f32:g} dense fp16 TFLOP/s and no figure for f16 accumulation"
    else:
        text = "the datasheet gives no fp16 tensor figure per accumulator"
    used = [prov.datasheet(row)]
    mine = [p for p in published_rows if p["gpu"] == row["name"] or p["gpu"] == row.get("key")]
    if mine:
        text += f"; {len(mine)} published measurement{'s' if len(mine) > 1 else ''} in the table below"
        used += [prov.published(p) for p in mine]
    return Answer(row["name"], f"{head}: {text}.", used)


def answers(results, published_rows: list[dict]) -> list[Answer]:
    forms = facts.instruction_forms(results)
    pairs = facts.acc_pairs(forms, results)
    cases = facts.attention_cases(results)
    maps = facts.numerics_maps(results)
    names = list(dict.fromkeys([f.gpu for f in forms] + [c.gpu for c in cases]))
    out, measured_rows = [], set()
    for gpu in names:
        row = _context_row(results, gpu)
        sheet = hardware.datasheet_row(gpu, row.get("sm_count"))
        if sheet:
            measured_rows.add(sheet["key"])
        out.append(measured_answer(gpu, [p for p in pairs if p.f16.gpu == gpu],
                                   _headline_cases([c for c in cases if c.gpu == gpu]), maps,
                                   facts.sm_name(row.get("compute_capability"))))
    for sheet in hardware.datasheet_table().to_dict("records"):
        if sheet["key"] not in measured_rows:
            out.append(datasheet_answer(sheet, published_rows))
    return out


def _headline_cases(cases: list) -> list:
    """One GPU's attention cases of one regime: the sustained ones where it has them (headline
    figures are sustained), else the rest."""
    sustained = [c for c in cases if c.regime == "sustained"]
    return sustained or cases


def _context_row(results, gpu: str) -> dict:
    for run in results.runs:
        if "gpu_name" in run.rows.columns:
            sel = run.rows[run.rows["gpu_name"] == gpu]
            if len(sel):
                row = sel.iloc[0].to_dict()
                sms = facts._num(row.get("sm_count"))
                return {"compute_capability": row.get("compute_capability") or run.context.get(
                    "compute_capability"), "sm_count": int(sms) if sms else None}
    return {}
