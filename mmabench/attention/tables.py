"""The attention tables printed by the CLI: one per benchmark case, and the offline tables."""

from __future__ import annotations

from mmabench.reporting import tables


def _ratio_cell(r: dict, key: str) -> str:
    from mmabench.measure.stats import describe_ratio
    x, lo, hi = r.get(key), r.get(key + "_lo"), r.get(key + "_hi")
    if x is None or x != x:
        return "-"
    if lo is None or lo != lo:
        return f"{x:.2f}x"
    return describe_ratio(x, lo, hi).replace(", within noise", " ~")


def summary(rows: list[dict], markdown: bool = False) -> str:
    """One table per case: every contender's tiles, resources, speed (with the clock and power
    while it ran, and its ratios over interleaved rounds; '~' marks a range that includes 1.0)
    and accuracy."""
    out = []
    keys = list(dict.fromkeys((r["dim"], r["seq"], r["causal"], r["batch"], r["heads"]) for r in rows))
    for d, n, c, b, h in keys:
        sel = [r for r in rows if (r["dim"], r["seq"], r["causal"]) == (d, n, c)]
        y = sel[0].get("yard_max_abs_err")
        regime = next((r["regime"] for r in sel if r.get("regime")), "")
        out.append(f"\nd={d} N={n} {'causal' if c else 'full'} B={b} H={h}   "
                   f"{regime + ' regime   ' if regime else ''}"
                   f"(PyTorch fp16 yardstick max abs err {tables.fmt(y, 5) if y == y else '-'})")
        body = []
        for r in sel:
            ok = r.get("status") == "ok"
            body.append([
                r["variant"].replace(f"attn_d{d}_", ""), r.get("tiles", ""),
                tables.fmt(r.get("registers")), tables.fmt(r.get("local_bytes")),
                tables.fmt(r.get("blocks_per_sm")),
                tables.fmt(r.get("tflops")) if ok else r.get("status", "?"),
                tables.fmt(r.get("flop_per_clk_per_sm"), 0) if ok else "-",
                (f"{tables.fmt(r.get('sm_clock_mhz'), 0)}/{tables.fmt(r.get('power_w'), 0)}"
                 + ("?" if r.get("power_above_limit") is True else "")
                 + ("!" if r.get("throttled") is True else "")) if ok else "-",
                f"{tables.fmt(r.get('noise_pct'), 1)}%" if ok else "-",
                _ratio_cell(r, "x_vs_f32f32") if ok else "-",
                _ratio_cell(r, "x_vs_f32f32_same_tiles") if ok else "-",
                _ratio_cell(r, "x_vs_flash") if ok else "-",
                f"{r['max_abs_err']:.2e}" if "max_abs_err" in r and r["max_abs_err"] == r["max_abs_err"] else "-",
                tables.fmt(r.get("nonfinite_all", r.get("nonfinite"))),
                (r.get("error") or "")[:60]])
        out.append(tables.table(["variant", "tiles", "regs", "local B", "blk/SM", "TFLOP/s",
                                 "FLOP/clk/SM", "MHz/W", "noise", "x f32/f32", "x same tiles",
                                 "x FLASH", "max abs err", "inf/NaN", "note"], body, markdown))
    if tables.timing_note(rows):
        out.append(tables.timing_note(rows))
    out.append("MHz/W: SM clock and power during that contender's own timed blocks (NVML; "
               "'!' throttled, '?' power above the board limit +5%, not physical). "
               "Ratios: median (min-max) over interleaved rounds; '~' = range includes 1.0 "
               "(within noise).")
    return "\n".join(out)


def overhead_table(rows: list[dict], markdown: bool = False) -> str:
    """Host time per call of attention() and of PyTorch's SDPA (attention --overhead)."""
    body = [[r["contender"], r["shape"], tables.fmt(r["host_us_per_call"]),
             tables.fmt(r["host_us_min"]), tables.fmt(r["host_us_max"])] for r in rows]
    text = tables.table(["contender", "shape", "host us/call", "min", "max"], body, markdown)
    return (text + f"\n(median of {rows[0]['loops']} loops of {rows[0]['calls']} calls, "
            "no sync inside a loop)")


def offline_table(rows: list[dict], markdown: bool = False) -> str:
    """One line per variant x architecture from offline.run(): the tiles it gets there, its
    resources, occupancy and the SASS check."""
    body = [[r["tuned_variant"], r["arch"], r["tiles"], r["registers"],
             r["spill_stores"] + r["spill_loads"], r["smem_bytes"] // 1024, r["blocks_per_sm"],
             f"{r['occupancy_pct']:.0f}", r["hmma_f32"], r["hmma_f16"],
             "ok" if r["ok"] else r["problems"][:70]] for r in rows]
    return tables.table(["variant (tuned tiles)", "arch", "tiles there", "regs", "spill B",
                         "smem KiB", "blk/SM", "occ %", "HMMA.F32/tile", "HMMA.F16/tile",
                         "SASS check"], body, markdown)
