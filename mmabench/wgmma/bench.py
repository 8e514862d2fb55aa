"""Measuring one wgmma form: build, check, time. Returns plain dict rows.

Latency: one warpgroup, one dependent chain, `wait_group 0` after every instruction,
%clock64 around the loop -> cycles per instruction (fence + wgmma + commit + wait).
Throughput: one block per SM of `warpgroups` warpgroups, each with `ilp` accumulators and
`depth` wgmma per commit group (`pending` groups left in flight by each wait), the loop long
enough (~2 ms) that the launch is noise; the measurement layer times the launches (CUDA events,
noise-driven repeats, NVML power, energy and throttle reasons during the timed region) and every
warp reads %clock64 and %globaltimer, so FLOP/clk/SM is at the clock the kernel ran at.

Every figure is divided by the instruction count read from the SASS the driver produced, every
launch's output is checked, and each built kernel first runs on small integers, where the result
must be exact: one instruction (proves the fragment maps, tile layouts and descriptors) and a
few loop trips (proves the chain: slices, signs, groups).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmabench import measure
from mmabench.compiler import loader, toolchain
from mmabench.core.errors import MeasurementError
from mmabench.instructions import bench as base
from mmabench.instructions.bench import POISON, TARGET_MS
from mmabench.wgmma import fragments as fr
from mmabench.wgmma.catalogue import ARCH, M, WgmmaForm
from mmabench.wgmma.layout import SLICES, TileLayout
from mmabench.wgmma.offline import serialized, waits_problem
from mmabench.wgmma.render import ENTRY, LATENCY, Pipeline, render

# Unit roundoff of the accumulation. FP8 products are summed with fewer bits than f32 on Hopper
# (about 14 kept after alignment: DeepSeek-V3 report, sec. 3.3.2), so their bound uses 2^-13.
UNIT_ROUNDOFF = {("f32", 2): 2.0 ** -24, ("f16", 2): 2.0 ** -11,
                 ("f32", 1): 2.0 ** -13, ("f16", 1): 2.0 ** -11}


@dataclass
class Built(loader.Built):
    pipe: Pipeline

    @property
    def ilp(self) -> int:
        return self.pipe.ilp

    @property
    def unroll(self) -> int:
        return self.pipe.unroll

    @property
    def label(self) -> str:
        return self.pipe.label


def build(form: WgmmaForm, pipe: Pipeline = LATENCY, throughput: bool = False) -> Built:
    """Render, JIT through the driver, disassemble what it made and check the loop (and, for a
    throughput pipeline, that the wheel's ptxas did not serialize it)."""
    ptx = render(form, pipe)
    if throughput:
        lines = serialized(toolchain.assemble(ptx, ARCH).log)
        if lines:
            raise MeasurementError(f"{form.name} {pipe.label}: ptxas serialized wgmma: {lines[0]}")
    kernel, text, per_trip = base.build(form, ptx, ENTRY, pipe.per_trip,
                                        f"{pipe.label}, unroll {pipe.unroll}",
                                        check=lambda text: waits_problem(form, pipe, text))
    return Built(form, ptx, kernel, text, per_trip, pipe)


# ---------------------------------------------------------------- inputs and checks

@dataclass
class Inputs:
    a: object             # device: SS u8 image of A; RS u32 [4, 128, 4] fragments
    b: object             # device: u8 image of B (N x K, K-major)
    c: object             # device: u32 [ilp, 128, c_regs]
    a_mat: np.ndarray     # 64 x 4k   (the whole K-tile, 4 slices)
    bt_mat: np.ndarray    # N x 4k    (B transposed: row n holds column n of B)
    c_mats: np.ndarray    # [ilp, 64, N]
    expected: np.ndarray  # [ilp, 64, N]: C + A_0 B_0
    scale: np.ndarray     # [ilp, 64, N]: |C| + |A_0||B_0| + max_s |A_s||B_s|, for bounds


def _slice(mat: np.ndarray, form: WgmmaForm, s: int) -> np.ndarray:
    return mat[:, s * form.k:(s + 1) * form.k]


def product(form: WgmmaForm, a_mat, bt_mat, sa: int = 0, sb: int = 0) -> np.ndarray:
    """A_sa x B_sb (64 x N), from K-slices of the tiles."""
    return _slice(a_mat, form, sa) @ _slice(bt_mat, form, sb).T


def make_inputs(form: WgmmaForm, ilp: int, rng: np.random.Generator, exact: bool = False,
                device: bool = True) -> Inputs:
    """Fresh operands. `exact`: small integers, so every partial sum is exact in either
    accumulator (|values| <= 8 + 2 * 32 * 9 < 2048, f16's exact-integer range). `device`:
    the kernel's operands as CuPy arrays (else the numpy arrays, for host-side checks)."""
    kt = SLICES * form.k
    if exact:
        a = rng.integers(-3, 4, (M, kt)).astype(float)
        bt = rng.integers(-3, 4, (form.n, kt)).astype(float)
        c = rng.integers(-8, 9, (ilp, M, form.n)).astype(float)
    else:
        a, bt = rng.uniform(-1, 1, (M, kt)), rng.uniform(-1, 1, (form.n, kt))
        c = rng.uniform(-1, 1, (ilp, M, form.n))
    a, bt = fr.quantize(a, form.ab_type), fr.quantize(bt, form.ab_type)
    c = fr.quantize(c, form.acc)
    tile = TileLayout(form.swizzle)
    if form.a_src == "ss":
        a_dev = tile.pack(fr.row_bytes(a, form.ab_type))
    else:
        a_dev = np.stack([fr.a_fragment(form, _slice(a, form, s)) for s in range(SLICES)])
    b_dev = tile.pack(fr.row_bytes(bt, form.ab_type))
    c_words = np.stack([fr.d_fragment(form, cj) for cj in c])
    prod0 = product(form, a, bt)
    worst = np.max([np.abs(_slice(a, form, s)) @ np.abs(_slice(bt, form, s)).T
                    for s in range(SLICES)], axis=0)
    scale = np.abs(c) + np.abs(_slice(a, form, 0)) @ np.abs(_slice(bt, form, 0)).T + worst
    if device:
        import cupy
        a_dev, b_dev, c_words = cupy.asarray(a_dev), cupy.asarray(b_dev), cupy.asarray(c_words)
    return Inputs(a_dev, b_dev, c_words, a, bt, c, c + prod0[None], scale)


def bound(form: WgmmaForm, inputs: Inputs, steps: int) -> np.ndarray:
    """Largest error a correct chain of `steps` instructions may show, per element [ilp,64,N].

    Tensor cores sum a block of products with a limited alignment width and truncate (Fasi et
    al. 2021): one step may lose about one unit in the last place per 4 products and one for C.
    """
    if steps == 0:
        return np.zeros_like(inputs.scale)
    u = UNIT_ROUNDOFF[(form.acc, form.elem_bytes)]
    return steps * (form.k // 4 + 1) * 2 * u * inputs.scale


def check(form: WgmmaForm, d, inputs: Inputs, steps: int, exact: bool = False) -> float:
    """Compare every chain of every warpgroup (device array `d`, u32 [wg, ilp, 128, c_regs])
    with C + A_0 B_0, on the GPU; return the max abs error. `exact`: no error allowed."""
    import cupy

    ilp = inputs.c_mats.shape[0]
    dtype = cupy.float32 if form.acc == "f32" else cupy.float16
    values = d.view(dtype).reshape(-1, ilp, 128, form.n // 2).astype(cupy.float64)
    if not bool(cupy.isfinite(values).all()):
        bad = int((~cupy.isfinite(values)).sum())
        raise MeasurementError(f"{form.name}: {bad} outputs not finite (unwritten or overflowed)")
    want = cupy.asarray(fr.in_fragment_order(form, inputs.expected))
    err = cupy.abs(values - want[None])
    allowed = np.zeros_like(inputs.scale) if exact else bound(form, inputs, steps)
    limit = cupy.asarray(fr.in_fragment_order(form, allowed))
    over = err > limit[None]
    if bool(over.any()):
        raise MeasurementError(f"{form.name}: result off by {float(err.max()):.3g} "
                               f"(allowed {allowed.max():.3g} after {steps} steps, "
                               f"{int(over.sum())} elements)")
    return float(err.max())


def diagnose(form: WgmmaForm, got: np.ndarray, inputs: Inputs, chain: int = 0,
             limit: int = 8) -> str:
    """Say which (row, col) of one chain's 64 x N result differ, and what it looks like instead
    (another K-slice, a sign, C untouched, ...): one GPU run tells where a layout went wrong."""
    c = inputs.c_mats[chain]
    want = inputs.expected[chain]
    bad = ~(got == want)
    if not bad.any():
        return f"{form.name}: all {got.size} elements exact"
    rows, cols = np.nonzero(bad)
    lines = [f"{form.name}: {bad.sum()} of {got.size} elements differ; rows with errors "
             f"{_ranges(np.unique(rows))}, cols {_ranges(np.unique(cols))}"]
    lines += [f"  (row {r}, col {q}): got {got[r, q]:g}, want {want[r, q]:g}"
              for r, q in list(zip(rows, cols))[:limit]]
    candidates = {"C untouched (no accumulate)": c, "A_0 B_0 without C": want - c,
                  "C - A_0 B_0 (sign)": 2 * c - want}
    for sa in range(SLICES):
        for sb in range(SLICES):
            if (sa, sb) != (0, 0):
                candidates[f"C + A_{sa} B_{sb} (K-slice offsets)"] = c + product(
                    form, inputs.a_mat, inputs.bt_mat, sa, sb)
    for name, cand in candidates.items():
        if np.array_equal(got, cand):
            lines.append(f"  the result equals {name}")
            break
    else:
        agree = [name for name, cand in candidates.items() if (got == cand)[bad].mean() > 0.5]
        if agree:
            lines.append("  the wrong elements mostly match: " + ", ".join(agree))
    return "\n".join(lines)


def _ranges(values: np.ndarray) -> str:
    values = [int(v) for v in values]
    if not values:
        return "-"
    out, start, prev = [], values[0], values[0]
    for v in values[1:] + [None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
        if v is not None:
            start = prev = v
    return ",".join(out)


@dataclass
class ExactResult:
    ok: bool
    message: str
    got: np.ndarray | None = None       # [ilp, 64, N] of the failing run
    expected: np.ndarray | None = None


def run_exact(built: Built, rng: np.random.Generator, iters: int = 0) -> ExactResult:
    """One warpgroup on small integers; `iters` loop trips after the prologue's one step.
    The result must be C + A_0 B_0 exactly."""
    import cupy

    form, ilp = built.form, built.pipe.ilp
    inputs = make_inputs(form, ilp, rng, exact=True)
    d = cupy.full((1, ilp, 128, form.c_regs), POISON, dtype=cupy.uint32)
    t = cupy.zeros((4, 4), dtype=cupy.uint64)
    built.kernel.function((1,), (128,), (inputs.a, inputs.b, inputs.c, d, t, np.uint32(iters)))
    cupy.cuda.get_current_stream().synchronize()
    try:
        check(form, d, inputs, steps=0, exact=True)
        return ExactResult(True, f"{form.name} {built.pipe.label} iters={iters}: exact")
    except MeasurementError:
        got = fr.d_matrix(form, cupy.asnumpy(d)[0])
        text = "\n".join(diagnose(form, got[j], inputs, j) for j in range(ilp)
                         if not np.array_equal(got[j], inputs.expected[j]))
        return ExactResult(False, f"{built.pipe.label} iters={iters}: {text}", got, inputs.expected)


def verify_exact(built: Built, rng: np.random.Generator) -> None:
    """Exact single instruction and exact short chain, or MeasurementError with a diagnosis."""
    for iters in (0, 3):
        r = run_exact(built, rng, iters)
        if not r.ok:
            raise MeasurementError(r.message)


# ---------------------------------------------------------------- latency

def measure_latency(built: Built, rng: np.random.Generator, iters: int = 256,
                    policy: measure.Policy | None = None) -> dict:
    """Cycles from one wgmma to the next that depends on it (fence, issue, commit, wait 0)."""
    import cupy

    if built.pipe.ilp != 1 or built.pipe.depth != 1 or built.pipe.pending != 0:
        raise ValueError("latency needs one chain, one wgmma per group, wait_group 0")
    form = built.form
    inputs = make_inputs(form, 1, rng)
    d = cupy.full((1, 1, 128, form.c_regs), POISON, dtype=cupy.uint32)
    chain = measure.ChainLaunch(built.kernel.function, 1, 128, inputs, d, warps=4, poison=POISON,
                                iters=iters)
    row = measure.latency(chain, built.per_trip, policy or measure.Policy(
        warmup_ms=0, min_samples=5, max_samples=30, rel_error=0.002, budget_s=0.3))
    return {**row, "check_max_abs_err": check(form, d, inputs, 1 + iters * built.pipe.unroll),
            "registers": built.num_regs}


# ---------------------------------------------------------------- throughput

class Point(base.Point):
    """One throughput launch: one block per SM of `warpgroups` warpgroups."""

    def __init__(self, built: Built, rng: np.random.Generator, warpgroups: int, sms: int,
                 target_ms: float = TARGET_MS, iters: int | None = None):
        self.warpgroups = warpgroups
        super().__init__(built, rng, warpgroups, 128, 1, sms, target_ms, iters)

    def make_inputs(self, rng: np.random.Generator) -> Inputs:
        return make_inputs(self.built.form, self.built.ilp, rng)

    def shape_fields(self) -> dict:
        p = self.built.pipe
        return {"warpgroups_per_sm": self.warpgroups, "ilp": p.ilp, "depth": p.depth,
                "pending": p.pending}

    def check(self) -> float:
        return check(self.built.form, self.d, self.inputs, self.steps)

    def fields(self, m: measure.Measurement) -> dict:
        rate = self.rate_fields(m)
        datasheet = self.built.form.datasheet_flop_per_clk_per_sm
        energy = m.energy_j_per_launch
        return {**self.shape_fields(), **rate, "datasheet_flop_per_clk_per_sm": datasheet,
                "pct_of_datasheet_per_clk": 100 * rate["flop_per_clk_per_sm"] / datasheet,
                "pj_per_flop": energy / self.flops * 1e12 if energy else None,
                "registers": self.built.num_regs}

