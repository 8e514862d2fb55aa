"""The answer of an attention run in one table: per GPU and shape, PyTorch's back ends, the best
f32/f32 variant, and the best variant with an f16 accumulator against that f32/f32 best.

Works on result rows (dicts) from a run in progress or read back from attention.csv, so the
attention command and `compare` print the same table.
"""

from __future__ import annotations

from .. import report

TORCH = {"sdpa_flash_attention": "FLASH", "sdpa_cudnn_attention": "cuDNN"}


def _ok(row: dict) -> bool:
    tflops = row.get("tflops")
    return row.get("status") == "ok" and tflops is not None and tflops == tflops


def _best(rows: list[dict]) -> dict | None:
    return max(rows, key=lambda r: r["tflops"]) if rows else None


def _scheme(row: dict) -> str:
    return f"S {row['acc_s']}, O {row['acc_o']}, {row['norm']}"


def overview(rows: list[dict], markdown: bool = False) -> str:
    cases: dict[tuple, list[dict]] = {}     # (gpu, dim, seq, causal) -> its ok rows, in run order
    for r in rows:
        if _ok(r):
            cases.setdefault((r.get("gpu_name", ""), r["dim"], r["seq"], bool(r["causal"])), []).append(r)
    several_gpus = len({c[0] for c in cases}) > 1
    body = []
    for (gpu_name, dim, seq, causal), sel in cases.items():
        ours = [r for r in sel if r.get("impl") == "mmabench"]
        lib = {TORCH[r["variant"]]: r["tflops"] for r in sel if r.get("variant") in TORCH}
        base = _best([r for r in ours if r["acc_s"] == "f32" and r["acc_o"] == "f32"])
        low = _best([r for r in ours if (r["acc_s"], r["acc_o"]) != ("f32", "f32")])
        flash = lib.get("FLASH")
        body.append(([gpu_name] if several_gpus else []) + [
            dim, seq, "causal" if causal else "full",
            report.fmt(flash), report.fmt(lib.get("cuDNN")),
            report.fmt(base["tflops"]) if base else "-",
            f"{base['tflops'] / flash:.2f}x" if base and flash else "-",
            _scheme(low) if low else "-",
            report.fmt(low["tflops"]) if low else "-",
            f"{low['tflops'] / base['tflops']:.2f}x" if low and base else "-",
        ])
    head = (["GPU"] if several_gpus else []) + [
        "d", "N", "mask", "FLASH TFLOP/s", "cuDNN TFLOP/s", "best f32/f32", "vs FLASH",
        "best with an f16 accumulator", "TFLOP/s", "vs f32/f32"]
    return report.table(head, body, markdown)
