"""The report's plots as inline SVG (matplotlib, if installed): nothing is loaded from anywhere.
Each plot says in its own title and axis labels whether it shows measured or datasheet figures;
the caption (added by the document) carries the full provenance."""

from __future__ import annotations

import io
import math
import re

from mmabench import hardware
from mmabench.reporting import facts

COLORS = {"f16": "#d95f02", "f32": "#1b9e77", "bf16": "#7570b3"}


# matplotlib is optional (the `plot` extra); this works however mmabench was installed
INSTALL_HINT = "pip install matplotlib"


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    matplotlib.rcParams["svg.fonttype"] = "none"      # text stays text: small, searchable
    matplotlib.rcParams["svg.hashsalt"] = "mmabench"  # stable ids from run to run
    return plt


def _svg(fig) -> str:
    plt = _plt()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    text = re.sub(r"<\?xml[^>]*\?>\s*", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>\s*", "", text)
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    return text.strip()


def datasheet_per_clock(sheet: dict | None, ab: str, acc: str) -> float | None:
    """Dense datasheet FLOP/clk/SM for (A/B type, accumulator), from data/gpus.csv."""
    peak = hardware.peak_tflops(sheet, ab, acc)
    if not peak or not sheet or not sheet.get("boost_mhz") or sheet["boost_mhz"] != sheet["boost_mhz"]:
        return None
    return peak * 1e12 / (float(sheet["sm_count"]) * float(sheet["boost_mhz"]) * 1e6)


def instruction_rate(forms: list[facts.FormFacts]) -> str:
    """FLOP/clk/SM per form and accumulator (measured bars), the datasheet rate as a dash."""
    plt = _plt()
    groups = list(dict.fromkeys((f.gpu, f.bench) for f in forms))
    fig, axes = plt.subplots(1, len(groups), figsize=(max(5.5, 1.1 * max(
        sum(1 for f in forms if (f.gpu, f.bench) == g) for g in groups)) * len(groups), 3.6),
        squeeze=False)
    for ax, (gpu, bench) in zip(axes[0], groups):
        sel = [f for f in forms if (f.gpu, f.bench) == (gpu, bench)]
        sheet = hardware.datasheet_row(gpu, facts._num(sel[0].best_row.get("sm_count")) and
                            int(facts._num(sel[0].best_row.get("sm_count"))))
        xs = range(len(sel))
        values = [f.flop_per_clk_per_sm if f.flop_per_clk_per_sm is not None else math.nan for f in sel]
        ax.bar(xs, values, color=[COLORS.get(f.acc, "#666") for f in sel])
        dashed = False
        for x, f in zip(xs, sel):
            ab = str(f.best_row.get("ab_type", "f16"))
            ref = datasheet_per_clock(sheet, ab, f.acc)
            if ref:
                ax.hlines(ref, x - 0.4, x + 0.4, colors="black", linestyles="--",
                          label=None if dashed else "datasheet dense rate")
                dashed = True
        ax.set_xticks(list(xs), [f.form for f in sel], rotation=30, ha="right", fontsize=7)
        ax.set_ylabel("FLOP/clk/SM (measured)")
        ax.set_title(f"{bench}: {gpu}", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
        if dashed:
            ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("Instruction throughput per clock: measured bars (orange f16 acc, green f32 acc)",
                 fontsize=9)
    return _svg(fig)


def attention_speed(cases: list[facts.AttentionCase]) -> str:
    """TFLOP/s per shape: PyTorch FLASH and cuDNN, best f32/f32, best f16-accumulator variant."""
    plt = _plt()
    groups = list(dict.fromkeys((c.gpu, c.regime) for c in cases))   # regimes never share a plot
    fig, axes = plt.subplots(len(groups), 1, figsize=(10, 3.4 * len(groups)), squeeze=False)
    for ax, (gpu, regime) in zip(axes[:, 0], groups):
        sel = [c for c in cases if (c.gpu, c.regime) == (gpu, regime)]
        labels = [f"d{c.dim} N{c.seq}{' c' if c.causal else ''}" for c in sel]
        series = [("FLASH", [c.flash for c in sel], "#999999"),
                  ("cuDNN", [c.cudnn for c in sel], "#555555"),
                  ("best f32/f32", [c.base["tflops"] if c.base else None for c in sel], COLORS["f32"]),
                  ("best f16 acc", [c.low["tflops"] if c.low else None for c in sel], COLORS["f16"])]
        width = 0.2
        for i, (name, vals, color) in enumerate(series):
            ax.bar([x + (i - 1.5) * width for x in range(len(sel))],
                   [v if v is not None else math.nan for v in vals], width, label=name, color=color)
        ax.set_xticks(range(len(sel)), labels, rotation=45, ha="right", fontsize=7)
        ax.set_ylabel("TFLOP/s (measured)")
        ax.set_title(f"attention forward: {gpu}, {regime} regime ('c': causal)", fontsize=9)
        ax.legend(fontsize=7, ncol=4)
        ax.grid(axis="y", alpha=0.3)
    return _svg(fig)


def attention_ratio(cases: list[facts.AttentionCase]) -> str:
    """best f16-accumulator / best f32/f32 speed per shape, with its spread as an error bar."""
    plt = _plt()
    sel = [c for c in cases if c.ratio is not None]
    fig, ax = plt.subplots(figsize=(10, 3.2))
    several = len({(c.gpu, c.regime) for c in sel}) > 1
    labels = [(f"{facts.re.sub('^NVIDIA ', '', c.gpu)} {c.regime} " if several else "")
              + f"d{c.dim} N{c.seq}{' c' if c.causal else ''}" for c in sel]
    lo = [c.ratio - c.ratio_lo if c.ratio_lo is not None else 0 for c in sel]
    hi = [c.ratio_hi - c.ratio if c.ratio_hi is not None else 0 for c in sel]
    ax.errorbar(range(len(sel)), [c.ratio for c in sel], yerr=[lo, hi], fmt="o", color=COLORS["f16"],
                capsize=3, label="f16 acc / f32 acc speed (bar: spread)")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(sel)), labels, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("speed ratio (measured)")
    ax.set_title("attention: best f16-accumulator variant vs best f32/f32 variant", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    return _svg(fig)


def numerics_map(maps: list[facts.NumericsMap]) -> str:
    """rel. L2 error vs float64 per scheme and sweep point (log colour), overflow marked."""
    import numpy as np

    plt = _plt()
    fig, axes = plt.subplots(1, len(maps), figsize=(4.2 * len(maps), 0.32 * max(
        len(m.schemes) for m in maps) + 1.8), squeeze=False)
    image = None
    for ax, m in zip(axes[0], maps):
        grid = np.full((len(m.schemes), len(m.points)), np.nan)
        for i, s in enumerate(m.schemes):
            for j, p in enumerate(m.points):
                e = m.err.get((s, p))
                if e is not None and math.isfinite(e) and e > 0:
                    grid[i, j] = math.log10(e)
        image = ax.imshow(grid, aspect="auto", cmap="viridis", vmin=-5, vmax=0)
        for i, s in enumerate(m.schemes):
            for j, p in enumerate(m.points):
                if m.state.get((s, p)) == "overflow":
                    ax.text(j, i, "inf", ha="center", va="center", fontsize=6, color="red")
                elif m.state.get((s, p)) == "lossy":
                    ax.text(j, i, "*", ha="center", va="center", fontsize=7, color="white")
        ax.set_xticks(range(len(m.points)), m.points, rotation=45, ha="right", fontsize=6)
        ax.set_yticks(range(len(m.schemes)), m.schemes if ax is axes[0][0] else [""] * len(m.schemes),
                      fontsize=6)
        ax.set_title(f"{m.series} ({facts.re.sub('^NVIDIA ', '', m.gpu)})", fontsize=8)
    fig.colorbar(image, ax=axes[0].tolist(), label="log10 rel. L2 error (measured)")
    return _svg(fig)


def datasheet_rates(rows: list[dict]) -> str:
    """Dense fp16 tensor TFLOP/s with f16 and with f32 accumulation, from data/gpus.csv."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 3.2))
    names = [r["name"] for r in rows]
    f16 = [hardware.peak_tflops(r, "f16", "f16") for r in rows]
    f32 = [hardware.peak_tflops(r, "f16", "f32") for r in rows]
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [v if v else math.nan for v in f16], 0.4, label="f16 acc",
           color=COLORS["f16"])
    ax.bar([x + 0.2 for x in xs], [v if v else math.nan for v in f32], 0.4, label="f32 acc",
           color=COLORS["f32"])
    ax.set_xticks(list(xs), names, rotation=40, ha="right", fontsize=7)
    ax.set_ylabel("dense TFLOP/s (datasheet)")
    ax.set_title("fp16 tensor rate by accumulator, as the datasheets print it (empty: not published)",
                 fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    return _svg(fig)
