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
two medians, marked '(medians)'. Several GPUs: one pair of tables per GPU, each fitting 120 columns.
"""

from __future__ import annotations

from mmabench.attention.tables import SAME_TILES
from mmabench.reporting import tables

TORCH = {"sdpa_flash_attention": "FLASH", "sdpa_cudnn_attention": "cuDNN"}


def _num(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if x == x else None


def _ok(row: dict) -> bool:
    return row.get("status") == "ok" and _num(row.get("tflops")) is not None


def _scheme(row: dict) -> str:
    """'sf32_of16_delayed', as the per-case tables name the variant."""
    return f"s{row['acc_s']}_o{row['acc_o']}_{row['norm']}"


def _ratio(row: dict | None, key: str, base: dict | None = None) -> str:
    """'1.07x (1.05-1.09)' from the interleaved columns ('~' appended within noise), else
    '1.07x?' from two medians."""
    if row is None:
        return "-"
    if _num(row.get(key + "_lo")) is not None:
        return tables.ratio(row.get(key), row.get(key + "_lo"), row.get(key + "_hi"))
    if base is not None and _ok(base):
        return f"{float(row['tflops']) / float(base['tflops']):.2f}x (medians)"
    return "-"


def _best_vs_base(best: dict | None, base: dict | None) -> str:
    """The fastest f16 scheme against the f32/f32 delayed kernel beside it: the interleaved ratio
    where the scheme has that normalization (its ratio columns are against the f32/f32 kernel of
    its own normalization), else the quotient of the two medians, marked '(medians)'."""
    if best is None:
        return "-"
    if base is not None and best.get("norm") != base.get("norm"):
        return f"{float(best['tflops']) / float(base['tflops']):.2f}x (medians)"
    return _ratio(best, "x_vs_f32f32", base)


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
    gpus = list(dict.fromkeys(c[0] for c in cases))
    out = []
    for gpu in gpus:
        mine = {k: v for k, v in cases.items() if k[0] == gpu}
        out += ([f"{gpu}:"] if len(gpus) > 1 else []) + _gpu_overview(mine, markdown) + [""]
    if cases:
        bases = [_find(sel, "f32", "f32", "delayed") for sel in cases.values()]
        out.append(tables.clock_power_note([b for b in bases if b]))
        out.append(tables.RATIO_NOTE)
    return "\n".join(out).strip("\n")


def _gpu_overview(cases: dict[tuple, list[dict]], markdown: bool) -> list[str]:
    body, schemes, counts = [], [], set()
    for (_, dim, seq, causal), sel in cases.items():
        lib = {TORCH[r["variant"]]: r for r in sel if r.get("variant") in TORCH}
        flash = lib.get("FLASH")
        base = _find(sel, "f32", "f32", "delayed")
        ours = [r for r in sel if r.get("impl") == "mmabench" and not str(r["variant"]).endswith(SAME_TILES)]
        f16 = [r for r in ours if (r["acc_s"], r["acc_o"]) != ("f32", "f32")]
        best = max(f16, key=lambda r: float(r["tflops"])) if f16 else None
        counts.add(len(f16))
        lead = [dim, seq, "causal" if causal else "full"]
        cond = tables.clock_power(base) if base and _num(base.get("sm_clock_mhz")) is not None else "-"
        body.append(lead + [
            tables.fmt(_num(flash["tflops"])) if flash else "-",
            tables.fmt(_num(lib["cuDNN"]["tflops"])) if "cuDNN" in lib else "-",
            tables.fmt(_num(base["tflops"])) if base else "-",
            cond, _ratio(base, "x_vs_flash", flash),
            _scheme(best) if best else "-", _best_vs_base(best, base),
        ])
        for r in f16:
            same = _find(sel, r["acc_s"], r["acc_o"], r["norm"], same_tiles=True)
            if same is None and r.get("x_vs_f32f32_same_tiles") is not None:
                same = {**r, "x_vs_f32f32_same_tiles": r["x_vs_f32f32_same_tiles"]}
            ref = _find(sel, "f32", "f32", r["norm"])
            schemes.append(lead + [_scheme(r), r.get("tiles", ""), tables.fmt(_num(r["tflops"])),
                                   _ratio(r, "x_vs_f32f32", ref),
                                   _ratio(same, "x_vs_f32f32_same_tiles") if same else "-"])
    head = ["d", "N", "mask"]
    of = f" (of {counts.pop()})" if len(counts) == 1 else ""
    out = [tables.note("TFLOP/s of PyTorch's back ends and of the f32/f32 kernel (delayed normalization, "
                       "FlashAttention-2's scheme), the f32/f32 kernel's MHz/W, and the fastest "
                       "f16-accumulator scheme (a best-of-N figure):"),
           tables.table(head + ["FLASH", "cuDNN", "f32/f32", "MHz/W", "f32/f32 vs FLASH",
                                f"fastest f16{of}", "vs f32/f32"], body, markdown)]
    if schemes:
        out += ["", tables.note("each f16-accumulator scheme vs f32/f32 with the same normalization: "
                                "at its tuned tiles, and at the f32/f32 tiles (only the accumulator "
                                "differs)"),
                tables.table(head + ["scheme", "tuned tiles", "TFLOP/s", "vs f32/f32 (tuned tiles)",
                                     "vs f32/f32 (same tiles)"], schemes, markdown)]
    return out
