"""Measuring one instruction form: build, check, time. Returns plain dict rows.

Latency: one warp, one dependent chain, %clock64 around the loop -> cycles per instruction.
Throughput: `ilp` chains per warp, `warps` per block, `blocks_per_sm` x SMs blocks, the loop
long enough (>= ~2 ms) that the launch is noise; CUDA events time the launch, and every warp
reads %clock64 and %globaltimer so the SM clock *during* the run is known.

Every figure is divided by the instruction count read from the SASS the driver produced, and
every launch's output is checked: a kernel that computes the wrong thing yields an error row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import gpu, sass, toolchain
from ..timing import time_gpu
from . import fragments as fr
from .catalogue import MmaForm
from .render import DEFAULT_UNROLL, render

POISON = 0xFFFFFFFF  # NaN as f32 and as a pair of f16: an unwritten output cannot pass
UNIT_ROUNDOFF = {"f32": 2.0 ** -24, "f16": 2.0 ** -11}
TARGET_MS = 2.0      # throughput launches are calibrated to about this long


class MeasurementError(Exception):
    """The kernel ran but its output or its SASS is not what was meant: no figure."""


class Infeasible(MeasurementError):
    """The launch shape cannot be resident (registers, warps): the point is skipped."""


@dataclass
class Built:
    form: MmaForm
    ilp: int
    unroll: int
    ptx: str
    kernel: gpu.JitKernel
    sass: str
    per_trip: int          # instructions of the form in one loop trip, read from SASS

    @property
    def num_regs(self) -> int:
        from cupy_backends.cuda.api import driver
        return driver.funcGetAttribute(4, self.kernel.function.ptr)  # CU_FUNC_ATTRIBUTE_NUM_REGS

    def max_blocks_per_sm(self, threads: int) -> int:
        from cupy_backends.cuda.api import driver
        return driver.occupancyMaxActiveBlocksPerMultiprocessor(self.kernel.function.ptr, threads, 0)


def build(form: MmaForm, ilp: int, unroll: int = DEFAULT_UNROLL) -> Built:
    """Render, JIT through the driver, disassemble what it made and count the instruction."""
    ptx = render(form, ilp, unroll)
    kernel = gpu.jit(ptx, "mma_chain")
    text = toolchain.disassemble(kernel.cubin)
    try:
        per_trip = sass.loop_count(text, form.sass)
    except ValueError as exc:
        raise MeasurementError(f"{form.name}: SASS check failed: {exc}") from None
    if per_trip != ilp * unroll:
        raise MeasurementError(f"{form.name}: {per_trip} {form.sass} per loop trip in SASS, "
                               f"expected {ilp * unroll} (ILP {ilp} x unroll {unroll})")
    return Built(form, ilp, unroll, ptx, kernel, text, per_trip)


@dataclass
class Inputs:
    a: object            # device uint32 [2, 32, a_regs]  (A, -A)
    b: object            # device uint32 [32, b_regs]
    c: object            # device uint32 [ilp, 32, c_regs]
    expected: np.ndarray  # float64 [ilp, m, n]: C + A.B
    scale: np.ndarray     # float64 [ilp, m, n]: |C| + |A|.|B|, for error bounds


def make_inputs(form: MmaForm, ilp: int, rng: np.random.Generator, exact: bool = False) -> Inputs:
    """Fresh random fragments. `exact`: small integers, so any correct hardware sum is exact."""
    import cupy

    m, n, k = form.mnk
    if exact:
        a = rng.integers(-3, 4, (m, k)).astype(float)
        b = rng.integers(-3, 4, (k, n)).astype(float)
        c = rng.integers(-8, 9, (ilp, m, n)).astype(float)
    else:
        a, b = rng.uniform(-1, 1, (m, k)), rng.uniform(-1, 1, (k, n))
        c = rng.uniform(-1, 1, (ilp, m, n))
    a, b, c = fr.quantize(a, form.ab_type), fr.quantize(b, form.ab_type), fr.quantize(c, form.acc)
    a_words = np.stack([fr.to_fragments(form, "A", a), fr.to_fragments(form, "A", -a)])
    c_words = np.stack([fr.to_fragments(form, "C", cj) for cj in c])
    return Inputs(cupy.asarray(a_words), cupy.asarray(fr.to_fragments(form, "B", b)),
                  cupy.asarray(c_words), c + a @ b, np.abs(c) + np.abs(a) @ np.abs(b))


def check(form: MmaForm, words: np.ndarray, inputs: Inputs, steps: int) -> float:
    """Compare every chain of every warp with C + A.B; return the max abs error.

    `steps` instructions ran on each chain; the +A/-A pairs cancel exactly in real arithmetic,
    so the bound allows one rounding of the accumulator per step, each at most u * scale * 2.
    """
    values = fr.from_fragments_batch(form, words)          # [warps, ilp, m, n]
    if not np.isfinite(values).all():
        bad = int((~np.isfinite(values)).sum())
        raise MeasurementError(f"{form.name}: {bad} outputs not finite (unwritten or overflowed)")
    err = np.abs(values - inputs.expected[None])
    bound = steps * UNIT_ROUNDOFF[form.acc] * 2 * inputs.scale[None]
    if (err > bound).any():
        raise MeasurementError(f"{form.name}: result off by {err.max():.3g} (bound "
                               f"{bound.max():.3g} after {steps} steps)")
    return float(err.max())


def verify_exact(built: Built, rng: np.random.Generator) -> None:
    """One instruction per chain on integer data: the result must equal C + A.B exactly.

    This proves the fragment layout against the hardware in the same run as the timing.
    """
    import cupy

    form, ilp = built.form, built.ilp
    inputs = make_inputs(form, ilp, rng, exact=True)
    d = cupy.full((1, ilp, 32, form.c_regs), POISON, dtype=cupy.uint32)
    t = cupy.zeros((1, 4), dtype=cupy.uint64)
    built.kernel.function((1,), (32,), (inputs.a, inputs.b, inputs.c, d, t, np.uint32(0)))
    err = check(form, cupy.asnumpy(d), inputs, steps=0)
    if err != 0:
        raise MeasurementError(f"{form.name}: single instruction differs from numpy by {err}")


def measure_latency(built: Built, rng: np.random.Generator, iters: int = 2048,
                    repeats: int = 5) -> dict:
    """Cycles per instruction of one dependent chain in one warp (built with ILP 1)."""
    import cupy

    if built.ilp != 1:
        raise ValueError("latency needs ILP 1")
    form = built.form
    inputs = make_inputs(form, 1, rng)
    d = cupy.full((1, 1, 32, form.c_regs), POISON, dtype=cupy.uint32)
    t = cupy.zeros((1, 4), dtype=cupy.uint64)
    args = (inputs.a, inputs.b, inputs.c, d, t, np.uint32(iters))
    built.kernel.function((1,), (32,), args)  # warm-up
    cycles = []
    for _ in range(repeats):
        built.kernel.function((1,), (32,), args)
        c0, c1, _, _ = (int(x) for x in cupy.asnumpy(t)[0])
        cycles.append((c1 - c0) / (built.per_trip * iters))
    err = check(form, cupy.asnumpy(d), inputs, steps=1 + iters * built.unroll)
    return {"latency_cycles": float(np.median(cycles)),
            "latency_cycles_min": min(cycles), "latency_cycles_max": max(cycles),
            "iters": iters, "repeats": repeats, "check_max_abs_err": err}


def _clock_mhz(t: np.ndarray) -> float:
    """Median over warps of clock64 cycles / globaltimer ns, in MHz."""
    cycles = t[:, 1].astype(np.float64) - t[:, 0]
    ns = t[:, 3].astype(np.float64) - t[:, 2]
    ok = ns > 0
    return float(np.median(cycles[ok] / ns[ok]) * 1e3) if ok.any() else float("nan")


def measure_throughput(built: Built, rng: np.random.Generator, warps: int, blocks_per_sm: int,
                       sms: int, repeats: int = 5, target_ms: float = TARGET_MS) -> dict:
    """TFLOP/s and FLOP/clk/SM of `blocks_per_sm * sms` blocks of `warps` warps."""
    import cupy

    form, ilp = built.form, built.ilp
    threads = 32 * warps
    resident = built.max_blocks_per_sm(threads)
    if resident < blocks_per_sm:
        raise Infeasible(f"only {resident} blocks of {warps} warps fit on an SM "
                               f"({built.num_regs} registers/thread)")
    blocks = blocks_per_sm * sms
    total_warps = blocks * warps
    inputs = make_inputs(form, ilp, rng)
    d = cupy.full((total_warps, ilp, 32, form.c_regs), POISON, dtype=cupy.uint32)
    stamps = cupy.zeros((repeats + 2, total_warps, 4), dtype=cupy.uint64)

    def launch(iters: int, slot: int):
        built.kernel.function((blocks,), (threads,),
                              (inputs.a, inputs.b, inputs.c, d, stamps[slot], np.uint32(iters)))

    # Calibrate the trip count so that one launch takes about target_ms: a short probe, then
    # one run at its estimate (the probe's time is mostly fixed launch cost, so it overshoots).
    iters = 64
    for _ in range(2):
        took = time_gpu(lambda: launch(iters, 0), warmup=1, repeats=1).median_ms
        iters = max(64, int(math.ceil(iters * target_ms / max(took, 1e-3))))
    d.fill(POISON)
    slot = iter(range(repeats + 2))
    timing = time_gpu(lambda: launch(iters, min(next(slot), repeats + 1)), warmup=1,
                      repeats=repeats)
    host_stamps = cupy.asnumpy(stamps[1:repeats + 1])
    clocks = [_clock_mhz(s) for s in host_stamps]
    steps = 1 + iters * built.unroll
    err = check(form, cupy.asnumpy(d), inputs, steps)

    instructions = total_warps * (built.per_trip * iters + ilp)
    flops = instructions * form.flops
    clock = float(np.median(clocks))
    seconds = timing.median_ms * 1e-3
    return {
        "warps_per_block": warps, "ilp": ilp, "blocks_per_sm": blocks_per_sm,
        "warps_per_sm": warps * blocks_per_sm, "grid_blocks": blocks, "iters": iters,
        "instructions": instructions, "time_ms": timing.median_ms,
        "time_ms_min": timing.min_ms, "time_ms_max": timing.max_ms, "repeats": timing.repeats,
        "tflops": flops / seconds / 1e12,
        "sm_clock_mhz": clock,
        "sm_clock_mhz_min": min(clocks), "sm_clock_mhz_max": max(clocks),
        "clock_moved": bool((max(clocks) - min(clocks)) / clock > 0.02),
        "flop_per_clk_per_sm": flops / (seconds * clock * 1e6 * sms),
        "registers": built.num_regs, "check_max_abs_err": err,
    }
