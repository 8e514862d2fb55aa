"""The answer of an attention run in two tables, from result rows (a run in progress or
attention.csv read back), so the attention command and `compare` print the same thing.

1. Per GPU and shape: PyTorch's back ends, the f32/f32 variant with delayed normalization
   (FlashAttention-2's own scheme: no selection among variants) and its ratio to FLASH_ATTENTION
   with the range over interleaved rounds, and the best f16-accumulator scheme, labelled as a
   best-of-N figure.
2. Every f16-accumulator scheme against f32/f32 with the same normalization: at each one's tuned
   tiles, and at the *same* tiles (only the accumulator differs), each ratio with its range;
   a range that includes 1.0 reads "within noise".
Rows without the ratio columns (results from before interleaving) show the plain quotient of
two medians, marked '~'.
"""

from __future__ import annotations

from mmabench.reporting import tables
from mmabench.measure.stats import describe_ratio

TORCH = {"sdpa_flash_attention": "FLASH", "sdpa_cudnn_attention": "cuDNN"}
SAME_TILES = "@f32tiles"


def _num(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if x == x else None


def _ok(row: dict) -> bool:
    return row.get("status") == "ok" and _num(row.get("tflops")) is not None


def _scheme(row: dict) -> str:
    return f"S {row['acc_s']}, O {row['acc_o']}, {row['norm']}"


def _ratio(row: dict | None, key: str, base: dict | None = None) -> str:
    """'1.07x (1.05-1.09)' from the interleaved columns, else '~1.07x' from two medians."""
    if row is None:
        return "-"
    r, lo, hi = (_num(row.get(k)) for k in (key, key + "_lo", key + "_hi"))
    if r is not None and lo is not None and hi is not None:
        return describe_ratio(r, lo, hi)
    if base is not None and _ok(base):
        return f"~{float(row['tflops']) / float(base['tflops']):.2f}x"
    return "-"


def _cases(rows: list[dict]) -> dict[tuple, list[dict]]:
    cases: dict[tuple, list[dict]] = {}
    for r in rows:
        if _ok(r):
            key = (r.get("gpu_name", ""), int(r["dim"]), int(r["seq"]),
                   tables.truthy(r["causal"]))
            cases.setdefault(key, []).append(r)
    return cases


def _find(sel, acc_s, acc_o, norm, same_tiles=False) -> dict | None:
    for r in sel:
        if (r.get("impl") == "mmabench" and (r["acc_s"], r["acc_o"], r["norm"]) == (acc_s, acc_o, norm)
                and str(r["variant"]).endswith(SAME_TILES) == same_tiles):
            return r
    return None


def overview(rows: list[dict], markdown: bool = False) -> str:
    cases = _cases(rows)
    several_gpus = len({c[0] for c in cases}) > 1
    body, schemes = [], []
    for (gpu_name, dim, seq, causal), sel in cases.items():
        lib = {TORCH[r["variant"]]: r for r in sel if r.get("variant") in TORCH}
        flash = lib.get("FLASH")
        base = _find(sel, "f32", "f32", "delayed")
        ours = [r for r in sel if r.get("impl") == "mmabench" and not str(r["variant"]).endswith(SAME_TILES)]
        f16 = [r for r in ours if (r["acc_s"], r["acc_o"]) != ("f32", "f32")]
        best = max(f16, key=lambda r: float(r["tflops"])) if f16 else None
        lead = ([gpu_name] if several_gpus else []) + [dim, seq, "causal" if causal else "full"]
        cond = tables.conditions(base) if base and _num(base.get("sm_clock_mhz")) is not None else "-"
        body.append(lead + [
            tables.fmt(_num(flash["tflops"])) if flash else "-",
            tables.fmt(_num(lib["cuDNN"]["tflops"])) if "cuDNN" in lib else "-",
            tables.fmt(_num(base["tflops"])) if base else "-",
            tables.fmt(_num(base.get("flop_per_clk_per_sm")), 0) if base else "-",
            cond, _ratio(base, "x_vs_flash", flash),
            f"{_scheme(best)}: {_ratio(best, 'x_vs_f32f32', base)} (best of {len(f16)})" if best else "-",
        ])
        for r in f16:
            same = _find(sel, r["acc_s"], r["acc_o"], r["norm"], same_tiles=True)
            if same is None and r.get("x_vs_f32f32_same_tiles") is not None:
                same = {**r, "x_vs_f32f32_same_tiles": r["x_vs_f32f32_same_tiles"]}
            ref = _find(sel, "f32", "f32", r["norm"])
            schemes.append(lead + [_scheme(r), r.get("tiles", ""), tables.fmt(_num(r["tflops"])),
                                   _ratio(r, "x_vs_f32f32", ref),
                                   _ratio(same, "x_vs_f32f32_same_tiles") if same else "-"])
    head = (["GPU"] if several_gpus else []) + ["d", "N", "mask"]
    out = ["PyTorch back ends and the f32/f32 kernel (delayed normalization, FlashAttention-2's "
           "scheme); ratios: median (range) over interleaved rounds",
           tables.table(head + ["FLASH TFLOP/s", "cuDNN TFLOP/s", "f32/f32 TFLOP/s", "FLOP/clk/SM",
                                "clock, power", "f32/f32 vs FLASH", "fastest f16 scheme vs f32/f32"],
                        body, markdown)]
    if schemes:
        out += ["", "each f16-accumulator scheme vs f32/f32 with the same normalization: at its "
                    "tuned tiles, and at the f32/f32 tiles (only the accumulator differs)",
                tables.table(head + ["scheme", "tuned tiles", "TFLOP/s", "vs f32/f32 (tuned tiles)",
                                     "vs f32/f32 (same tiles)"], schemes, markdown)]
    return "\n".join(out)
