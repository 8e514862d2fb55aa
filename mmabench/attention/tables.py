"""The attention tables printed by the CLI: one per benchmark case, and the offline tables."""

from __future__ import annotations

from mmabench.reporting import tables


# the name suffix of an f16 variant run at the f32/f32 variant's tiles (bench.same_tiles_twins)
SAME_TILES = "@f32tiles"


def _scheme(r: dict) -> str:
    """'sf32_of16_delayed': the variant without its dimension (in the heading) and its tile tag
    (the tiles column shows the tiles); '@f32' when it ran at the f32/f32 variant's tiles."""
    if r.get("impl") != "mmabench" or not r.get("acc_s"):
        return str(r["variant"]).removesuffix("_attention")   # sdpa_flash_attention -> sdpa_flash
    at_f32_tiles = "@f32" if str(r["variant"]).endswith(SAME_TILES) else ""
    kernel = "hopper " if r.get("kernel") == "hopper" else ""
    return f"{kernel}s{r['acc_s']}_o{r['acc_o']}_{r['norm']}{at_f32_tiles}"


def _vs_f32f32(r: dict) -> str:
    """One cell for the two exclusive ratios: vs f32/f32 at the row's tuned tiles, or ('=') at the
    f32/f32 kernel's own tiles for a variant@f32tiles row."""
    if str(r["variant"]).endswith(SAME_TILES):
        cell = tables.ratio(*(r.get("x_vs_f32f32_same_tiles" + k) for k in ("", "_lo", "_hi")))
        return cell + "=" if cell != "-" else cell
    return tables.ratio(*(r.get("x_vs_f32f32" + k) for k in ("", "_lo", "_hi")))


def _speed_row(r: dict) -> list:
    if r.get("status") != "ok":
        return [_scheme(r), r.get("status", "?")] + ["-"] * 6
    return [_scheme(r), tables.fmt(r.get("tflops")),
            tables.fmt(r.get("flop_per_clk_per_sm"), 0), tables.clock_power(r),
            f"{tables.fmt(r.get('noise_pct'), 1)}%", _vs_f32f32(r),
            tables.ratio(*(r.get("x_vs_flash" + k) for k in ("", "_lo", "_hi")), compact=True),
            tables.ratio(*(r.get("x_vs_cudnn" + k) for k in ("", "_lo", "_hi")), compact=True)]


def _per_joule(r: dict) -> str:
    """GFLOP per joule over the contender's own blocks; '?' where that power read above the
    board limit (the energy figure is then not physical either)."""
    cell = tables.fmt(tables.number(r.get("gflop_per_joule")), 0)
    return cell + ("?" if cell != "-" and tables.truthy(r.get("power_above_limit")) else "")


# The tile tag each variant's name ends with, spelled out under the tables that show it
TILE_TAG_NOTE = ("tiles: the tag of the variant's name (FA2-class: w<warps>m<row tiles per warp>"
                 "c<keys>, r Q in registers; Hopper: c<consumer warpgroups>k<keys>s<stages>, o "
                 "overlap, pN N/8 of exp2 by polynomial, g ping-pong, r lazy rescaling); the CSV's "
                 "tiles column spells it out")


def _tile_tag(r: dict) -> str:
    """'c3k128s4gr' for hopper_d64_..._c3k128s4gr(@f32tiles): short enough for a 120-column table
    beside the scheme; a library's row keeps its 'library'."""
    if r.get("impl") != "mmabench":
        return str(r.get("tiles", ""))
    return str(r["variant"]).removesuffix(SAME_TILES).rsplit("_", 1)[-1]


def _kernel_row(r: dict) -> list:
    err = tables.number(r.get("max_abs_err"))
    bf16 = tables.number(r.get("bf16_yard_max_abs_err"))
    return [_scheme(r), _tile_tag(r), _per_joule(r), tables.fmt(r.get("registers"), 0),
            tables.fmt(r.get("local_bytes"), 0), tables.fmt(r.get("blocks_per_sm"), 0),
            f"{err:.2e}" if err is not None else "-",
            f"{err / bf16:.2f}" if err is not None and bf16 else "-",
            tables.fmt(r.get("nonfinite_all", r.get("nonfinite")), 0)]


def summary(rows: list[dict], markdown: bool = False) -> str:
    """Two tables per case: speed (with the clock and power while each contender ran, and its
    ratios over interleaved rounds), then each kernel's resources and accuracy; every column of
    the rows stays in the CSV."""
    out = []
    keys = list(dict.fromkeys((r["dim"], r["seq"], r["causal"], r["batch"], r["heads"]) for r in rows))
    for d, n, c, b, h in keys:
        sel = [r for r in rows if (r["dim"], r["seq"], r["causal"]) == (d, n, c)]
        y = tables.number(sel[0].get("yard_max_abs_err"))
        regime = next((r["regime"] for r in sel if r.get("regime")), "")
        out.append(f"\nd={d} N={n} {'causal' if c else 'full'} B={b} H={h}   "
                   f"{regime + ' regime' if regime else ''}")
        # the tiles are in the resources table below (same rows, same order): both fit 120 columns
        out.append(tables.table(["variant", "TFLOP/s", "FLOP/clk/SM", "MHz/W", "noise",
                                 "x f32/f32", "x FLASH", "x cuDNN"], [_speed_row(r) for r in sel], markdown))
        out.append(f"resources and accuracy (PyTorch fp16 yardstick max abs err "
                   f"{tables.fmt(y, 5)}; x bf16 err <= 2: as accurate as bf16 attention):")
        out.append(tables.table(["variant", "tiles", "GFLOP/J", "regs", "local B", "blk/SM", "max abs err",
                                 "x bf16 err", "inf/NaN"], [_kernel_row(r) for r in sel], markdown))
        out += [tables.note(f"{_scheme(r)} {r.get('tiles', '')}: {r['error']}")
                for r in sel if isinstance(r.get("error"), str) and r["error"]]
    out += tables.timing_note(rows)
    out.append(tables.clock_power_note(rows))
    out.append(tables.note(TILE_TAG_NOTE))
    out.append(tables.note("GFLOP/J: FLOPs per joule the board drew during that contender's own "
                           "blocks (the energy counter where the row's power_source says so)."))
    out.append(tables.note(tables.RATIO_NOTE[:-1] + "; '@f32' and '=': the variant run at the "
                           "f32/f32 kernel's tiles and compared with it (only the accumulator "
                           "differs; variant@f32tiles in the CSV)."))
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
    resources, occupancy and the SASS check (what failed in a note under the table)."""
    body = [[str(r["tuned_variant"]).removeprefix("attn_").replace("hopper_", "H "), r["arch"],
             "=" if r["variant"] == r["tuned_variant"] else r["tiles"], r["registers"],
             r["spill_stores"] + r["spill_loads"], r["smem_bytes"] // 1024, r["blocks_per_sm"],
             f"{r['occupancy_pct']:.0f}", f"{r['hmma_f32']}/{r['hmma_f16']}",
             "ok" if r["ok"] else "FAIL"] for r in rows]
    text = tables.table(["variant (tuned tiles)", "arch", "tiles there", "regs", "spill B",
                         "smem KiB", "blk/SM", "occ %", "HMMA F32/F16", "SASS"], body, markdown)
    notes = ["tiles there: '=' the tuned tiles (the name's tag), else the tiles cut to fit that "
             "architecture's shared memory; " + TILE_TAG_NOTE.removeprefix("tiles: "),
             "HMMA F32/F16: HMMA (H: the Hopper kernel, HGMMA of one consumer warpgroup) instructions "
             "per tile in the SASS, by accumulator type"]
    notes += [f"{r['tuned_variant']} {r['arch']}: {r['problems']}" for r in rows if not r["ok"]]
    return "\n".join([text] + [tables.note(n) for n in notes])
