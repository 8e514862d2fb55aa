"""The report as data: sections of tables and figures, every table row and every figure with
its provenance. HTML and Markdown renderers (html.py, markdown.py) only lay it out."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from mmabench import __version__, hardware
from mmabench.reporting import tables as fmt_mod
from mmabench.reporting import answers as answers_mod, facts, generations, plots, provenance as prov

fmt = fmt_mod.fmt


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]
    sources: list[prov.Provenance]       # one per row
    note: str = ""


@dataclass
class Figure:
    key: str
    title: str
    svg: str | None                      # None: matplotlib missing (the note says so)
    provenance: list[prov.Provenance]
    note: str = ""


@dataclass
class Section:
    key: str
    title: str
    intro: str = ""
    blocks: list = field(default_factory=list)


@dataclass
class Document:
    title: str
    generated: str
    answers: list
    sections: list[Section]

    def figures(self) -> list[Figure]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]

    def drawn_figures(self) -> list[Figure]:
        return [f for f in self.figures() if f.svg is not None]

    def tables(self) -> list[Table]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]


def _figure(key, title, make, args, provenance, note=""):
    if not plots.available():
        return Figure(key, title, None, provenance, f"plot left out: {plots.INSTALL_HINT}")
    return Figure(key, title, make(*args), provenance, note)


def _sheet_for(gpu: str, row: dict):
    sms = facts._num(row.get("sm_count"))
    return hardware.datasheet_row(gpu, int(sms) if sms else None)


def instruction_section(results) -> Section:
    forms = facts.instruction_forms(results)
    sec = Section("instruction", "Instruction level: throughput, latency, registers, clock, power",
                  "Each form's saturating point (best launch shape of the sweep), its dependent-chain "
                  "latency, registers per thread at that shape, and the SM clock and power read "
                  "during the run. Grouped by whatever benchmark families the results hold "
                  "(mma.sync now; wgmma, FP8 and GEMM rows as they land).")
    if not forms:
        sec.intro += " No instruction results in these inputs."
        return sec
    rows, sources = [], []
    for f in forms:
        rows.append([f.gpu, f.bench, f.form, f.acc or "-", fmt(f.tflops), fmt(f.flop_per_clk_per_sm, 0),
                     fmt(f.pct_of_peak), fmt(f.latency_cycles), fmt(f.registers, 0),
                     fmt(f.clock_mhz, 0), fmt(f.power_w, 0)])
        sources.append(f.provenance)
    sec.blocks.append(Table("Saturating throughput per form", [
        "GPU", "family", "form", "acc", "TFLOP/s", "FLOP/clk/SM", "% of datasheet peak",
        "latency (cycles)", "registers", "SM MHz", "power W"], rows, sources,
        "% of datasheet peak: against the dense datasheet rate at the clock measured during the run."))
    pairs = facts.acc_pairs(forms, results)
    if pairs:
        rows, sources = [], []
        for p in pairs:
            saved = p.registers_saved
            spread = (f"{p.spread[0]:.3f}-{p.spread[1]:.3f} (interleaved"
                      f"{', within noise' if p.spread[2] else ''})" if p.spread else
                      "- (best of sweep vs best of sweep)")
            rows.append([p.f16.gpu, p.f16.bench, p.f16.pair_key, f"{p.rate_ratio:.3f}x", spread,
                         f"{fmt(p.f16.latency_cycles)} / {fmt(p.f32.latency_cycles)}",
                         f"{saved[0]:.0f} (ILP {saved[1]:.0f})" if saved else "-",
                         f"{fmt(p.f16.clock_mhz, 0)} / {fmt(p.f32.clock_mhz, 0)}"])
            sources.append(p.f16.provenance)
        sec.blocks.append(Table("f16 against f32 accumulation, same form", [
            "GPU", "family", "form", "f16/f32 rate", "spread", "latency f16 / f32", "registers saved",
            "SM MHz f16 / f32"], rows, sources))
    sheet_prov = []
    for gpu in dict.fromkeys(f.gpu for f in forms):
        sheet = _sheet_for(gpu, next(f.best_row for f in forms if f.gpu == gpu))
        if sheet:
            sheet_prov.append(prov.datasheet(sheet))
    sec.blocks.append(_figure("instruction-rate", "FLOP/clk/SM per form and accumulator",
                              plots.instruction_rate, (forms,),
                              [prov.runs([f.best_row for f in forms])] + sheet_prov,
                              "Bars: measured at the saturating point. Dashes: the datasheet's dense "
                              "rate per clock (dense TFLOP/s / (SMs x boost clock))."))
    return sec


def attention_section(results) -> Section:
    cases = facts.attention_cases(results)
    sec = Section("attention", "Attention: speed against PyTorch, f16 against f32 accumulation",
                  "Per shape and kernel (fa2: the mma.sync kernel; hopper: the TMA + wgmma kernel): "
                  "PyTorch SDPA's FLASH and cuDNN back ends, the best f32/f32 variant of "
                  "the fused kernel, and the best variant with an f16 accumulator; the ratio is "
                  "best-of-N f16 variants over best-of-M f32/f32 variants (a selection that favours "
                  "the f16 side), with its spread.")
    if not cases:
        sec.intro += " No attention results in these inputs."
        return sec
    rows, sources = [], []
    for c in cases:
        spread = (f"{c.ratio_lo:.2f}-{c.ratio_hi:.2f}" if c.ratio_lo is not None and c.ratio_hi is not None
                  else "-")
        noise = {True: "within noise", False: "outside noise", None: "-"}[c.within_noise]
        rows.append([c.gpu, c.regime, c.kernel, str(c.dim), str(c.seq), "causal" if c.causal else "full",
                     fmt(c.flash),
                     fmt(c.cudnn), fmt(c.base["tflops"]) if c.base else "-",
                     f"{c.base['tflops'] / c.flash:.2f}x" if c.base and c.flash else "-",
                     c.scheme or "-", fmt(c.low["tflops"]) if c.low else "-",
                     f"{c.ratio:.2f}x" if c.ratio else "-", spread, noise,
                     f"best of {c.n_low} / {c.n_base}", c.spread_from or "-",
                     fmt(c.clock_mhz, 0) + ("*" if c.clock_note else ""), fmt(c.power_w, 0)])
        sources.append(c.provenance)
    after = any(c.clock_note for c in cases)
    sec.blocks.append(Table("Attention forward per shape", [
        "GPU", "regime", "kernel", "d", "N", "mask", "FLASH TFLOP/s", "cuDNN TFLOP/s", "best f32/f32",
        "vs FLASH",
        "best with an f16 accumulator", "TFLOP/s", "f16/f32", "spread", "noise", "selection",
        "spread from", "SM MHz", "power W"], rows, sources,
        ("* SM clock read after the run (idle), not during it: these rows predate the measurement "
         "layer that samples it during the timed region." if after else "")))
    # the figures: the FA2-class kernel, which every GPU runs (the table has the Hopper kernel too)
    fa2 = [c for c in cases if c.kernel == "fa2"]
    run_prov = [prov.runs([c.low or c.base for c in fa2 if c.low or c.base])]
    sec.blocks.append(_figure("attention-speed", "Attention TFLOP/s per shape (FA2-class kernel)",
                              plots.attention_speed, (fa2,), run_prov))
    if any(c.ratio is not None for c in fa2):
        sec.blocks.append(_figure("attention-ratio", "f16/f32 accumulator speed ratio with its spread "
                                  "(FA2-class kernel)", plots.attention_ratio, (fa2,), run_prov,
                                  "Spread: " + ", ".join(sorted({c.spread_from for c in fa2
                                                                 if c.spread_from})) + "."))
    return sec


def numerics_section(results) -> Section:
    from mmabench.attention.numerics import BASE_SCHEME, LOSS_FACTOR

    maps = facts.numerics_maps(results)
    sec = Section("numerics", "Numerics: where each accumulator scheme loses accuracy or overflows",
                  f"Kernel level: relative L2 error of the attention output against float64 over "
                  f"input-scale and sequence-length sweeps; '*'/lossy: more than {LOSS_FACTOR}x the "
                  f"{BASE_SCHEME} error of the same kernel at the same point; inf: the output "
                  f"overflowed.")
    arith = results.frame("arith")
    if not maps and arith is None:
        sec.intro += " No numerics results in these inputs."
        return sec
    if maps:
        rows, sources = [], []
        for gpu in dict.fromkeys(m.gpu for m in maps):
            mine = [m for m in maps if m.gpu == gpu]
            for scheme in dict.fromkeys(s for m in mine for s in m.schemes):
                line = [gpu, scheme]
                for m in mine:
                    lossy = next((p for p in m.points if m.state.get((scheme, p)) == "lossy"), "-")
                    over = next((p for p in m.points if m.state.get((scheme, p)) == "overflow"), "-")
                    line.append(f"{lossy} / {over}")
                rows.append(line)
                sources.append(prov.runs(mine[0].rows))
        series = list(dict.fromkeys(m.series for m in maps))
        sec.blocks.append(Table("Where each scheme breaks (kernel level)",
                                ["GPU", "scheme"] + [f"{s}: lossy from / inf from" for s in series],
                                rows, sources, "'-': held over the whole sweep."))
        sec.blocks.append(_figure("numerics-map", "Error map per scheme and sweep point",
                                  plots.numerics_map, (maps,),
                                  [prov.runs([r for m in maps for r in m.rows])]))
    if arith is not None:
        cols = [c for c in arith.columns if c not in ("source",)][:10]
        recs = arith.to_dict("records")
        sec.blocks.append(Table("Instruction level (arith rows)", cols,
                                [[fmt(r.get(c)) for c in cols] for r in recs],
                                [prov.measured(r) for r in recs]))
    else:
        sec.blocks.append(Table("Instruction level", ["level", "status"],
                                [["instruction (arith)", "no arith rows in these inputs yet"]],
                                [prov.Provenance("measured", "none yet")]))
    return sec


def datasheet_section() -> Section:
    rows, sources = [], []
    table = hardware.datasheet_table().to_dict("records")
    for r in table:
        f16, f32 = hardware.peak_tflops(r, "f16", "f16"), hardware.peak_tflops(r, "f16", "f32")
        rows.append([r["name"], facts.sm_name(r["compute_capability"]), fmt(r["sm_count"]),
                     fmt(r["boost_mhz"], 0), fmt(f16), fmt(f32),
                     f"{f16 / f32:.2f}x" if f16 and f32 else "-",
                     fmt(plots.datasheet_per_clock(r, "f16", "f16"), 0),
                     fmt(plots.datasheet_per_clock(r, "f16", "f32"), 0)])
        sources.append(prov.datasheet(r))
    sec = Section("datasheet", "Datasheet figures",
                  "Dense fp16 tensor rates as the vendors print them (data/gpus.csv, each row with "
                  "its source); empty where no document gives the figure. Never mixed into "
                  "measured columns.")
    sec.blocks.append(Table("Datasheet rates", [
        "GPU", "arch", "SMs", "boost MHz", "f16-acc TFLOP/s", "f32-acc TFLOP/s", "f16/f32",
        "f16-acc FLOP/clk/SM", "f32-acc FLOP/clk/SM"], rows, sources))
    sec.blocks.append(_figure("datasheet-rates", "Datasheet dense fp16 rate by accumulator",
                              plots.datasheet_rates, (table,),
                              [prov.Provenance("datasheet", "data/gpus.csv (source per row in the "
                                                            "table above)")]))
    return sec


def published_section(published_rows: list[dict]) -> Section:
    sec = Section("published", "Published measurements",
                  "Values a paper or public repository states exactly (data/published.csv), with "
                  "the table or figure cited; a value read off a chart says so.")
    if not published_rows:
        sec.intro += (" None yet: no source's exact table could be checked "
                      "(data/published_sources.md says what was looked for).")
        return sec
    rows = [[p["gpu"], p["level"], p["form"], p["acc"], p["metric"], fmt(p["value"], 2), p["unit"]]
            for p in published_rows]
    sec.blocks.append(Table("Published values", ["GPU", "level", "form", "acc", "metric", "value",
                                                 "unit"], rows,
                            [prov.published(p) for p in published_rows]))
    return sec


def generations_section(results) -> Section:
    """The GPUs side by side, one column group per GPU and timing regime (letters in the note)."""
    frames = {bench: results.frame(bench) for bench in ("mma", "wgmma", "gemm", "attention")}
    sec = Section("generations", "GPUs side by side",
                  "Each GPU's figures in a column group of their own, one group per GPU and timing "
                  "regime (sustained or burst), so that no figure is set beside another of a "
                  "different regime unnamed.")
    for side in generations.every(frames):
        sec.blocks.append(Table(side.title, side.headers, [[str(c) for c in row] for row in side.rows],
                                [prov.runs(recs) for recs in side.row_records],
                                note=" ".join([side.intro, *(f"{line}." for line in side.legend),
                                               fmt_mod.RATIO_NOTE])))
    return sec


def runs_section(results) -> Section:
    rows, sources = [], []
    for run in results.runs:
        recs = run.rows.to_dict("records")
        first = recs[0] if recs else {}
        rows.append([run.bench, run.origin, str(len(recs)),
                     str(first.get("gpu_name", run.context.get("gpu_name", "-")))])
        sources.append(prov.runs(recs) if recs else prov.Provenance("measured", run.origin))
    sec = Section("runs", "Runs behind the measured figures",
                  "Every result file, folder or bundle entry that went into this report.")
    sec.blocks.append(Table("Result runs", ["benchmark", "from", "rows", "GPU"], rows, sources))
    return sec


def build(results, published_rows: list[dict]) -> Document:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return Document(
        title="Is fp16 accumulation worth it? mmabench report",
        generated=f"generated {stamp} by mmabench {__version__}",
        answers=answers_mod.answers(results, published_rows),
        sections=[generations_section(results), instruction_section(results),
                  attention_section(results), numerics_section(results),
                  datasheet_section(), published_section(published_rows), runs_section(results)])
