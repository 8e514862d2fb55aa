"""The attention benchmark: per shape, every variant checked then timed, next to PyTorch.

For each case (head dim, N, causal) fresh random normal inputs are made once; then
  * the float64 reference and PyTorch's fp16 yardstick are computed on a sample of heads,
  * each variant: output poisoned (NaN), one launch, checked (finite everywhere, error vs the
    reference within its tolerance), then timed; the last timed output must equal the checked
    one bit for bit. A failed check gives an error row, never a figure.
  * PyTorch SDPA back ends (FLASH_ATTENTION, CUDNN_ATTENTION, EFFICIENT_ATTENTION where present)
    are checked and timed on the same tensors in the same run.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

import numpy as np

from .. import gpu, record
from ..timing import time_gpu
from . import build, checks, torch_ref, variants
from .launch import Launcher
from .reference import attention_f64, default_scale, error_metrics

TOKENS = 16384        # batch * seq, as FlashAttention's benchmark
HIDDEN = 2048         # heads * dim
F16_POISON = 0x7E00   # NaN in fp16: an unwritten output cannot pass
# Documented accuracy bound of the variants with an f16 accumulator (inputs of standard scale,
# N(0, 1)): finite, and max abs error <= F16_FACTOR x PyTorch fp16's + F16_ABS, where F16_ABS is
# two fp16 units in the last place at |O| ~ 4 (about max|V| for N(0, 1) values): an f16
# accumulator rounds the running O, whose error does not shrink with N as PyTorch's does.
# The f32/f32 variants meet FlashAttention's own rule, 2 x PyTorch fp16's + 1e-4.
F16_FACTOR = 8.0
F16_ABS = 4e-3


@dataclass(frozen=True)
class Case:
    dim: int
    seq: int
    causal: bool
    batch: int
    heads: int

    @property
    def shape(self) -> checks.Shape:
        return checks.check_shape(self.batch, self.heads, self.seq, self.dim)

    @property
    def label(self) -> str:
        return f"d={self.dim} N={self.seq} {'causal' if self.causal else 'full'} (B={self.batch}, H={self.heads})"


def cases(dims, seqs, causal_modes, tokens: int = TOKENS, hidden: int = HIDDEN) -> list[Case]:
    """B*N = tokens and H*d = hidden, as in FlashAttention's benchmark (B >= 1)."""
    out = []
    for d in dims:
        for n in seqs:
            for c in causal_modes:
                out.append(Case(d, n, c, max(1, tokens // n), max(1, hidden // d)))
    return out


def tolerance(v: variants.Variant | None, yard_max_abs: float) -> float:
    """Max abs error allowed: FlashAttention's rule for f32/f32 (and for PyTorch's kernels),
    the documented f16 bound for the rest."""
    if v is None or v.is_reference_acc:
        return 2.0 * yard_max_abs + 1e-4
    return F16_FACTOR * yard_max_abs + F16_ABS


def sm_clock_mhz() -> float | None:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=clocks.sm", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=20).stdout.strip().splitlines()
        return float(out[0])
    except Exception:
        return None


def random_inputs(shape: checks.Shape, rng: np.random.Generator, qk_scale: float = 1.0,
                  v_scale: float = 1.0, v_mean: float = 0.0):
    """q, k, v ~ N(0, qk_scale^2), N(0, qk_scale^2), N(v_mean, 1) * v_scale, as fp16 on the GPU."""
    import cupy

    seed = int(rng.integers(2**63))
    crng = cupy.random.default_rng(seed)
    dims = (shape.batch, shape.heads, shape.seq, shape.dim)

    def normal(scale, mean=0.0):
        x = crng.standard_normal(dims, dtype=cupy.float32)
        if mean:
            x += mean
        if scale != 1.0:
            x *= scale
        return x.astype(cupy.float16)

    return normal(qk_scale), normal(qk_scale), normal(v_scale, v_mean)


class Reference:
    """float64 reference and PyTorch fp16 yardstick on a sample of (batch, head) slices."""

    def __init__(self, q, k, v, causal: bool, scale: float, sample: int, rng: np.random.Generator):
        b, h, n, d = q.shape
        bh = b * h
        self.idx = np.sort(rng.choice(bh, size=min(sample, bh), replace=False))
        flat = lambda x: x.reshape(bh, n, d)[self.idx]
        self.ref = attention_f64(flat(q), flat(k), flat(v), causal, scale)
        self.flat = flat
        self.yard = None
        torch = torch_ref.torch_module()
        if torch is not None:
            tq, tk, tv = (torch_ref.to_torch(flat(x)) for x in (q, k, v))
            y = torch_ref.fp16_attention(tq, tk, tv, causal, scale)
            import cupy
            self.yard = error_metrics(cupy.asarray(y), self.ref)

    def metrics(self, out) -> dict:
        return error_metrics(self.flat(out), self.ref)

    @property
    def yard_max_abs(self) -> float:
        return self.yard["max_abs_err"] if self.yard else float("nan")


def _resource_fields(loaded: build.Loaded, sms_warps: int = 64) -> dict:
    v = loaded.variant
    return {
        "registers": loaded.registers, "local_bytes": loaded.spill_bytes,
        "smem_bytes": v.tiles.smem_bytes(v.dim), "blocks_per_sm": loaded.max_blocks_per_sm,
        "occupancy_pct": 100.0 * loaded.max_blocks_per_sm * v.tiles.warps / sms_warps,
        "compiled_by": loaded.how,
    }


def _variant_fields(v: variants.Variant) -> dict:
    t = v.tiles
    return {"impl": "mmabench", "variant": v.name, "acc_s": v.acc_s, "acc_o": v.acc_o,
            "norm": v.norm, "acc": v.acc_label, "tiles": t.label, "block_rows": t.br,
            "block_keys": t.bc, "warps": t.warps, "q_in_regs": t.q_regs}


def check_variant(launcher: Launcher, ref: Reference, v: variants.Variant | None,
                  enforce: bool = True) -> tuple[dict, str | None]:
    """Poison, launch once, compare; returns (metrics, error or None). Non-finite output is always
    an error; the error bound only when `enforce`."""
    import cupy

    out = launcher.out
    out.view(cupy.uint16).fill(F16_POISON)
    launcher()
    cupy.cuda.get_current_stream().synchronize()
    m = ref.metrics(out)
    whole_bad = int((~cupy.isfinite(out)).sum())
    m["nonfinite_all"] = whole_bad
    tol = tolerance(v, ref.yard_max_abs)
    m["tolerance"] = tol
    m["err_vs_yardstick"] = m["max_abs_err"] / ref.yard_max_abs if ref.yard_max_abs > 0 else float("nan")
    if whole_bad:
        return m, f"{whole_bad} outputs inf/NaN"
    if enforce and not np.isnan(tol) and m["max_abs_err"] > tol:
        return m, f"max abs error {m['max_abs_err']:.3g} > tolerance {tol:.3g}"
    return m, None


def measure_variant(v: variants.Variant, case: Case, q, k, vv, out, ref: Reference, scale: float,
                    warmup: int, repeats: int) -> dict:
    import cupy

    row = {**_variant_fields(v)}
    try:
        loaded = build.load(v)
    except Exception as exc:
        return {**row, "status": "error", "error": f"build: {exc}"}
    row.update(_resource_fields(loaded))
    launcher = Launcher(loaded, q, k, vv, out, case.causal, scale)
    m, err = check_variant(launcher, ref, v)
    row.update(m)
    if err:
        return {**row, "status": "error", "error": err}
    checked = out.copy()
    t = time_gpu(launcher, warmup=warmup, repeats=repeats)
    if not bool((out.view(cupy.uint16) == checked.view(cupy.uint16)).all()):
        return {**row, "status": "error", "error": "timed output differs from the checked output"}
    flops = case.shape.flops(case.causal)
    return {**row, "status": "ok", "median_ms": t.median_ms, "min_ms": t.min_ms, "max_ms": t.max_ms,
            "repeats": t.repeats, "tflops": flops / (t.median_ms * 1e-3) / 1e12}


def measure_sdpa(backend: str, case: Case, q, k, vv, ref: Reference, scale: float,
                 warmup: int, repeats: int) -> dict:
    import cupy

    row = {"impl": "torch-sdpa", "variant": f"sdpa_{backend.lower()}", "acc": "library",
           "tiles": "library"}
    torch = torch_ref.torch_module()
    if torch is None:
        return {**row, "status": "unavailable", "error": "torch not installed"}
    if torch_ref.sdpa_backend(backend) is None:
        return {**row, "status": "unavailable", "error": f"no {backend} in this torch"}
    tq, tk, tv = (torch_ref.to_torch(x) for x in (q, k, vv))
    try:
        y = torch_ref.sdpa(tq, tk, tv, case.causal, scale, backend)
        torch.cuda.synchronize()
    except Exception as exc:
        return {**row, "status": "unavailable", "error": str(exc).splitlines()[0][:200]}
    m = ref.metrics(cupy.asarray(y))
    tol = tolerance(None, ref.yard_max_abs)
    row.update(m, tolerance=tol,
               err_vs_yardstick=m["max_abs_err"] / ref.yard_max_abs if ref.yard_max_abs > 0 else float("nan"))
    from torch.nn.attention import sdpa_kernel
    import torch.nn.functional as F

    with sdpa_kernel(torch_ref.sdpa_backend(backend)):
        t = time_gpu(lambda: F.scaled_dot_product_attention(tq, tk, tv, is_causal=case.causal, scale=scale),
                     warmup=warmup, repeats=repeats)
    flops = case.shape.flops(case.causal)
    status = "ok" if m["nonfinite"] == 0 else "error"
    return {**row, "status": status, "median_ms": t.median_ms, "min_ms": t.min_ms, "max_ms": t.max_ms,
            "repeats": t.repeats, "tflops": flops / (t.median_ms * 1e-3) / 1e12}


def run_case(case: Case, var_list: list[variants.Variant], rng: np.random.Generator, *,
             backends=torch_ref.BACKENDS, warmup: int = 3, repeats: int = 10, sample: int = 4,
             emit=lambda row: None, progress=None) -> list[dict]:
    """All variants and back ends on one case; rows are passed to `emit` as they are measured."""
    import cupy

    shape = case.shape
    free, _ = cupy.cuda.runtime.memGetInfo()
    checks.check_memory(shape, free, tensors=6)          # q, k, v, out, SDPA out, slack
    scale = default_scale(case.dim)
    q, k, vv = random_inputs(shape, rng)
    out = cupy.empty_like(q)
    ref = Reference(q, k, vv, case.causal, scale, sample, rng)
    base = {"dim": case.dim, "seq": case.seq, "causal": case.causal, "batch": case.batch,
            "heads": case.heads, "flops": shape.flops(case.causal), "softmax_scale": scale,
            "checked_heads": len(ref.idx),
            "yard_max_abs_err": ref.yard_max_abs,
            "yard_rel_l2_err": ref.yard["rel_l2_err"] if ref.yard else float("nan")}
    rows = []
    clock0 = sm_clock_mhz()
    for v in var_list:
        if v.dim != case.dim:
            continue
        row = {**base, **measure_variant(v, case, q, k, vv, out, ref, scale, warmup, repeats)}
        row["sm_clock_mhz_after"] = sm_clock_mhz()
        rows.append(row)
        emit(row)
        if progress:
            progress.step(v.name)
    for b in backends:
        row = {**base, **measure_sdpa(b, case, q, k, vv, ref, scale, warmup, repeats)}
        row["sm_clock_mhz_after"] = sm_clock_mhz()
        rows.append(row)
        emit(row)
        if progress:
            progress.step(b)
    for r in rows:
        r["sm_clock_mhz_before"] = clock0
    _relative(rows)
    del q, k, vv, out
    return rows


def _relative(rows: list[dict]) -> None:
    """speedup vs the same-dim f32/f32 variant (same normalization) and vs FLASH_ATTENTION."""
    ok = [r for r in rows if r.get("status") == "ok"]
    flash = next((r for r in ok if r["variant"] == "sdpa_flash_attention"), None)
    for r in rows:
        if r.get("status") != "ok":
            continue
        if flash:
            r["x_vs_flash"] = r["tflops"] / flash["tflops"]
        if r.get("impl") == "mmabench":
            ref = next((x for x in ok if x.get("impl") == "mmabench" and x["acc_s"] == "f32"
                        and x["acc_o"] == "f32" and x["norm"] == r["norm"]), None)
            if ref:
                r["x_vs_f32f32"] = r["tflops"] / ref["tflops"]


def run(var_list, case_list, seed=None, results_root=None, warmup=3, repeats=10, sample=4,
        backends=torch_ref.BACKENDS, save_code=True):
    """The whole benchmark: returns (run folder, rows)."""
    from ..progress import Progress

    gpu.require_gpu()
    torch = torch_ref.torch_module()   # imported first so its version lands in the context
    ctx = {**record.gpu_context(), **record.software_context()}
    folder = record.RunFolder("attention", ctx["gpu_name"], results_root)
    folder.save_context(ctx)
    folder.save_gpu_state("before")
    rng = np.random.default_rng(seed)
    n_steps = sum(len([v for v in var_list if v.dim == c.dim]) + len(backends) for c in case_list)
    progress = Progress(n_steps, "attention")
    all_rows = []

    def emit(row):
        row["timestamp"] = record.timestamp()
        folder.add({**ctx, **row})

    for case in case_list:
        all_rows += run_case(case, var_list, rng, backends=backends, warmup=warmup, repeats=repeats,
                             sample=sample, emit=emit, progress=progress)
    # rewrite with the relative columns filled in
    folder.rows = [{**ctx, **r} for r in all_rows]
    folder.flush()
    folder.save_gpu_state("after")
    if save_code:
        save_provenance(folder, var_list)
    return folder, all_rows


def save_provenance(folder, var_list) -> None:
    """PTX and SASS of each variant that ran (the cubin the driver made)."""
    from .. import toolchain

    for v in {v.name: v for v in var_list}.values():
        try:
            loaded = build.load(v)
        except Exception:
            continue
        folder.save_text(f"ptx/{v.name}.ptx", loaded.ptx)
        try:
            folder.save_text(f"sass/{v.name}.sass", toolchain.disassemble(loaded.cubin))
        except Exception:
            pass
