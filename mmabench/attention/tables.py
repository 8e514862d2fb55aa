"""The attention tables printed by the CLI: one per benchmark case, and the offline report."""

from __future__ import annotations

from .. import report


def summary(rows: list[dict], markdown: bool = False) -> str:
    """One table per case: every variant's tiles, resources, speed and accuracy."""
    out = []
    keys = list(dict.fromkeys((r["dim"], r["seq"], r["causal"], r["batch"], r["heads"]) for r in rows))
    for d, n, c, b, h in keys:
        sel = [r for r in rows if (r["dim"], r["seq"], r["causal"]) == (d, n, c)]
        y = sel[0].get("yard_max_abs_err")
        out.append(f"\nd={d} N={n} {'causal' if c else 'full'} B={b} H={h}   "
                   f"(PyTorch fp16 yardstick max abs err {report.fmt(y, 5) if y == y else '-'})")
        body = []
        for r in sel:
            ok = r.get("status") == "ok"
            body.append([
                r["variant"].replace(f"attn_d{d}_", ""), r.get("tiles", ""),
                report.fmt(r.get("registers")), report.fmt(r.get("local_bytes")),
                report.fmt(r.get("blocks_per_sm")),
                report.fmt(r.get("tflops")) if ok else r.get("status", "?"),
                report.fmt(r.get("x_vs_f32f32"), 2), report.fmt(r.get("x_vs_flash"), 2),
                f"{r['max_abs_err']:.2e}" if "max_abs_err" in r and r["max_abs_err"] == r["max_abs_err"] else "-",
                f"{r['rel_l2_err']:.1e}" if "rel_l2_err" in r and r["rel_l2_err"] == r["rel_l2_err"] else "-",
                report.fmt(r.get("nonfinite_all", r.get("nonfinite"))),
                (r.get("error") or "")[:60]])
        out.append(report.table(["variant", "tiles", "regs", "local B", "blk/SM", "TFLOP/s",
                                 "x f32/f32", "x FLASH", "max abs err", "rel L2", "inf/NaN", "note"],
                                body, markdown))
    return "\n".join(out)


def offline_table(rows: list[dict], markdown: bool = False) -> str:
    """One line per variant x architecture from offline.run(): the tiles it gets there, its
    resources, occupancy and the SASS check."""
    body = [[r["tuned_variant"], r["arch"], r["tiles"], r["registers"],
             r["spill_stores"] + r["spill_loads"], r["smem_bytes"] // 1024, r["blocks_per_sm"],
             f"{r['occupancy_pct']:.0f}", r["hmma_f32"], r["hmma_f16"],
             "ok" if r["ok"] else r["problems"][:70]] for r in rows]
    return report.table(["variant (tuned tiles)", "arch", "tiles there", "regs", "spill B",
                         "smem KiB", "blk/SM", "occ %", "HMMA.F32/tile", "HMMA.F16/tile",
                         "SASS check"], body, markdown)
