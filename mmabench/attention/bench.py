"""The attention benchmark: per case, every contender checked, then all timed interleaved.

For each case (head dim, N, causal) fresh random normal inputs are made once; then
  * the float64 reference and PyTorch's fp16 yardstick are computed on a sample of heads
    (validate.py),
  * each variant and each PyTorch SDPA back end (FLASH_ATTENTION, CUDNN_ATTENTION,
    EFFICIENT_ATTENTION where present) gets its own output buffer, poisoned, launched once and
    checked; a failed check gives an error row, never a figure,
  * the checked contenders are timed in interleaved rounds on the same tensors
    (measure.interleaved): every ratio (vs FLASH_ATTENTION, vs the f32/f32 variant with the same
    normalization at its tuned tiles, and vs f32/f32 at the *same* tiles) is taken within each
    round and reported as its median and range over the rounds,
  * after timing, every output must equal its checked copy bit for bit.
Rows name their regime (sustained by default: >= 200 ms blocks after a settle; burst: short
blocks) and carry the SM clock, power and throttle reasons read during that contender's own
timed blocks (NVML), so TFLOP/s comes with FLOP/clk/SM at its own measured clock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmabench import measure, record, hardware
from mmabench.compiler import driver_jit
from mmabench.attention import build, checks, torch_ref, variants
from mmabench.attention.launch import Launcher
from mmabench.attention.tables import SAME_TILES
from mmabench.attention.reference import default_scale
from mmabench.attention.validate import Reference, check_variant, random_inputs

TOKENS = 16384        # batch * seq, as FlashAttention's benchmark
HIDDEN = 2048         # heads * dim
# Attention launches are ms-long and steady; 5 interleaved rounds, sustained blocks by default
# (burst: 3 samples of single launches per block).
POLICY = measure.Policy(warmup_ms=10.0, min_sample_ms=0.0, rounds=5, samples_per_round=3,
                        regime="sustained")


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


def _resource_fields(loaded: build.Loaded) -> dict:
    v = loaded.variant
    return {
        "registers": loaded.registers, "local_bytes": loaded.local_bytes,
        "smem_bytes": v.tiles.smem_bytes(v.dim), "blocks_per_sm": loaded.max_blocks_per_sm,
        "occupancy_pct": loaded.occupancy_pct, "compiled_by": loaded.how,
    }


def _variant_fields(v: variants.Variant) -> dict:
    t = v.tiles
    return {"impl": "mmabench", "kernel": v.kernel, "variant": v.name, "acc_s": v.acc_s, "acc_o": v.acc_o,
            "norm": v.norm, "acc": v.acc_label, "tiles": t.label, "block_rows": t.br,
            "block_keys": t.bc, "warps": t.warps, "q_in_regs": t.q_regs}


@dataclass
class Contender:
    """One kernel on the case's tensors, with its own output buffer, checked before timing."""
    name: str
    row: dict
    launch: object = None           # callable, None when the check failed
    out: object = None              # its output buffer (CuPy)
    checked: object = None          # a copy of the checked output


def variant_contender(v: variants.Variant, case: Case, q, k, vv, ref: Reference, scale: float,
                      label: str | None = None) -> Contender:
    import cupy

    row = _variant_fields(v)
    name = label or v.name
    row["variant"] = name
    try:
        loaded = build.load(v)
    except Exception as exc:
        return Contender(name, {**row, "status": "error", "error": f"build: {exc}"})
    row.update(_resource_fields(loaded))
    out = cupy.empty_like(q)
    launcher = Launcher(loaded, q, k, vv, out, case.causal, scale)
    m, err = check_variant(launcher, ref, v)
    row.update(m)
    if err:
        return Contender(name, {**row, "status": "error", "error": err})
    return Contender(name, row, launcher, out, out.copy())


def sdpa_contender(backend: str, case: Case, q, k, vv, ref: Reference, scale: float) -> Contender:
    import cupy

    name = f"sdpa_{backend.lower()}"
    row = {"impl": "torch-sdpa", "variant": name, "acc": "library", "tiles": "library"}
    torch = torch_ref.torch_module()
    if torch is None:
        return Contender(name, {**row, "status": "unavailable", "error": "torch not installed"})
    if torch_ref.sdpa_backend(backend) is None:
        return Contender(name, {**row, "status": "unavailable", "error": f"no {backend} in this torch"})
    tq, tk, tv = (torch_ref.to_torch(x) for x in (q, k, vv))
    try:
        y = torch_ref.sdpa(tq, tk, tv, case.causal, scale, backend)
        torch.cuda.synchronize()
    except Exception as exc:
        return Contender(name, {**row, "status": "unavailable", "error": str(exc).splitlines()[0][:200]})
    m = ref.metrics(cupy.asarray(y))
    tol, rule = ref.tolerance(None)
    row.update(m, tolerance=tol, tolerance_rule=rule,
               err_vs_yardstick=m["max_abs_err"] / ref.yard_max_abs if ref.yard_max_abs > 0 else float("nan"))
    if m["nonfinite"]:
        return Contender(name, {**row, "status": "error", "error": f"{m['nonfinite']} outputs inf/NaN"})

    from torch.nn.attention import sdpa_kernel
    import torch.nn.functional as F

    kind = torch_ref.sdpa_backend(backend)

    def launch():
        with sdpa_kernel(kind):
            F.scaled_dot_product_attention(tq, tk, tv, is_causal=case.causal, scale=scale)
    return Contender(name, row, launch)


def same_tiles_twins(var_list: list[variants.Variant]) -> list[tuple[variants.Variant, str, str]]:
    """(f16 variant at the f32/f32 variant's tiles, its label, the f32/f32 name) for every f16
    variant whose tuned tiles differ from its f32/f32 reference's: the like-for-like comparison
    (only the accumulator differs; a Hopper tile option the f16 scheme excludes is left off)."""
    refs = {}
    for v in var_list:     # the first f32/f32 of each kernel, d and normalization (the tuned one)
        if v.is_reference_acc:
            refs.setdefault((v.kernel, v.dim, v.norm), v)
    out, made = [], {v.name for v in var_list}      # never a second copy of a contender
    for v in var_list:
        ref = refs.get((v.kernel, v.dim, v.norm))
        if v.is_reference_acc or ref is None or ref.tiles == v.tiles:
            continue
        tiles = ref.tiles
        if v.kernel == "hopper":
            tiles = variants.without_conflicts(tiles, v.acc_s, v.acc_o, v.norm)
        twin = v.with_tiles(tiles)
        # a variant with other tile options (--hopper-options) has the same twin as its tuned one
        if twin.name not in made and v.tiles.valid_for(v.dim) is None and ref.tiles.valid_for(v.dim) is None:
            made.add(twin.name)
            out.append((twin, v.name + SAME_TILES, ref.name))
    return out


def _baselines(c: Contender, by_name: dict[str, Contender], var_list, dim: int) -> dict[str, str]:
    """Which contender each ratio of `c` is taken against."""
    out = {}
    if "sdpa_flash_attention" in by_name:
        out["x_vs_flash"] = "sdpa_flash_attention"
    if "sdpa_cudnn_attention" in by_name:
        out["x_vs_cudnn"] = "sdpa_cudnn_attention"
    row = c.row
    if row.get("impl") == "mmabench":
        ref = next((v.name for v in var_list if v.is_reference_acc and v.dim == dim
                    and v.norm == row["norm"] and v.kernel == row.get("kernel")), None)
        if ref in by_name:
            key = "x_vs_f32f32_same_tiles" if c.name.endswith(SAME_TILES) else "x_vs_f32f32"
            out[key] = ref
            if key == "x_vs_f32f32":
                # equal tiles already: the tuned comparison is the like-for-like one too
                base = by_name[ref].row
                if base.get("tiles") == row.get("tiles"):
                    out["x_vs_f32f32_same_tiles"] = ref
    return out


def run_case(case: Case, var_list: list[variants.Variant], rng: np.random.Generator, *,
             backends=torch_ref.BACKENDS, policy: measure.Policy = POLICY, sample: int = 4,
             emit=lambda row: None, progress=None, same_tiles: bool = True) -> list[dict]:
    """All contenders on one case, checked then timed interleaved; rows go to `emit`."""
    import cupy

    shape = case.shape
    here = [v for v in var_list if v.dim == case.dim]
    twins = same_tiles_twins(here) if same_tiles else []
    free, _ = cupy.cuda.runtime.memGetInfo()
    # q, k, v, the reference's sample, and two buffers (output + checked copy) per contender
    checks.check_memory(shape, free, tensors=4 + 2 * (len(here) + len(twins) + len(backends)))
    scale = default_scale(case.dim)
    q, k, vv = random_inputs(shape, rng)
    ref = Reference(q, k, vv, case.causal, scale, sample, rng)
    base = {"dim": case.dim, "seq": case.seq, "causal": case.causal, "batch": case.batch,
            "heads": case.heads, "flops": shape.flops(case.causal), "softmax_scale": scale,
            "checked_heads": len(ref.idx), "yard_max_abs_err": ref.yard_max_abs,
            "yard_rel_l2_err": ref.yard["rel_l2_err"] if ref.yard else float("nan")}
    contenders: list[Contender] = []
    for v in here:
        contenders.append(variant_contender(v, case, q, k, vv, ref, scale))
        if progress:
            progress.step(f"check {v.name}")
    for v, label, ref_name in twins:
        c = variant_contender(v, case, q, k, vv, ref, scale, label)
        c.row["tiles_from"] = ref_name
        contenders.append(c)
    for b in backends:
        contenders.append(sdpa_contender(b, case, q, k, vv, ref, scale))
    ready = {c.name: c for c in contenders if c.launch is not None}
    rows = []
    if ready:
        result = measure.interleaved({n: c.launch for n, c in ready.items()}, policy)
        sms = hardware.sm_count()
        for c in contenders:
            row = {**base, **c.row}
            if c.name in ready:
                row.update(_timed_fields(c, result, ready, here, case.dim, base["flops"], sms))
            rows.append(row)
    else:
        rows = [{**base, **c.row} for c in contenders]
    if progress:
        progress.step(f"timed {case.label}")
    for row in rows:
        emit(row)
    del q, k, vv, contenders, ready
    return rows


def _timed_fields(c: Contender, result, ready, var_list, dim: int, flops: float, sms: int) -> dict:
    import cupy

    m = result.measurements[c.name]
    seconds = m.median_ms * 1e-3
    clock = m.sm_clock_mhz         # NVML readings taken while this contender's blocks ran
    energy = m.energy_j_per_launch  # energy counter (or power samples) over this contender's blocks
    f = {"status": "ok", **m.fields(), "tflops": flops / seconds / 1e12,
         "flop_per_clk_per_sm": flops / (seconds * clock * 1e6 * sms) if clock else None,
         "gflop_per_joule": flops / energy / 1e9 if energy else None}
    for key, base in _baselines(c, ready, var_list, dim).items():
        f.update(result.ratio(c.name, base).fields(key))
    if c.out is not None and not bool((c.out.view(cupy.uint16) == c.checked.view(cupy.uint16)).all()):
        f.update(status="error", error="timed output differs from the checked output")
    return f


def run(var_list, case_list, seed=None, results_root=None, policy: measure.Policy = POLICY,
        sample=4, backends=torch_ref.BACKENDS, save_code=True, same_tiles=True):
    """The whole benchmark: returns (run folder, rows)."""
    from mmabench.reporting.progress import Progress

    from mmabench.core.seed import chosen

    hardware.require_gpu()
    torch_ref.torch_module()   # imported first so its version lands in the context
    seed = chosen(seed)        # said, and recorded in the context of every row
    ctx = {**record.gpu_context(), **record.software_context(), "seed": seed}
    folder = record.RunFolder("attention", ctx["gpu_name"], results_root)
    folder.save_context(ctx)
    folder.save_gpu_state("before")
    rng = np.random.default_rng(seed)
    dims = {c.dim for c in case_list}
    here = [v for v in var_list if v.dim in dims]
    kernels = here + ([t for t, _, _ in same_tiles_twins(here)] if same_tiles else [])
    precompile(kernels)
    n_steps = sum(len([v for v in var_list if v.dim == c.dim]) + 1 for c in case_list)
    progress = Progress(n_steps, "attention")
    all_rows = []

    def emit(row):
        row["timestamp"] = record.timestamp()
        folder.add({**ctx, **row})

    for case in case_list:
        all_rows += run_case(case, var_list, rng, backends=backends, policy=policy,
                             sample=sample, emit=emit, progress=progress, same_tiles=same_tiles)
    folder.save_gpu_state("after")
    if save_code:
        save_provenance(folder, kernels)
    return folder, all_rows


def save_provenance(folder, var_list) -> None:
    """PTX and SASS of each variant that ran (the cubin the driver made), stored once by content.
    nvdisasm runs in threads (a subprocess each)."""
    from mmabench.compiler import toolchain
    from mmabench.core import workers

    loaded = []
    for v in {v.name: v for v in var_list}.values():
        try:
            loaded.append(build.load(v))
        except Exception:
            continue

    def sass(x):
        try:
            return toolchain.disassemble(x.cubin)
        except Exception:
            return None

    with workers.pool(8) as pool:       # Ctrl-C: queued jobs cancelled, nvdisasm killed
        texts = list(pool.map(sass, loaded))
    for x, text in zip(loaded, texts):
        folder.save_code("ptx", x.variant.name, x.ptx)
        if text is not None:
            folder.save_code("sass", x.variant.name, text)


def precompile(var_list) -> None:
    """NVRTC and the driver's JIT for every variant at once (driver_jit.warm), so that a cold
    run compiles in parallel before build.load reads the caches."""
    driver_jit.warm(build.precompile_one, var_list)

