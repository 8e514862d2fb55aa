"""Measuring one instruction form: build, check, time. Returns plain dict rows.

Latency: one warp, one dependent chain, %clock64 around the loop -> cycles per instruction,
repeated until the samples agree (the measurement layer's stopping rule).
Throughput: `ilp` chains per warp, `warps` per block, `blocks_per_sm` x SMs blocks, the loop
long enough (>= ~2 ms) that the launch is noise; the measurement layer times the launches
(CUDA events, noise-driven repeats, NVML power and throttle reasons during the timed region),
and every warp reads %clock64 and %globaltimer so the SM clock *during* the run is known.

Every figure is divided by the instruction count read from the SASS the driver produced, and
every launch's output is checked: a kernel that computes the wrong thing yields an error row.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from mmabench import measure
from mmabench.compiler import loader
from mmabench.core.errors import MeasurementError
from mmabench.instructions import bench as base
from mmabench.instructions.bench import POISON
from mmabench.mma import fragments as fr
from mmabench.mma.catalogue import MmaForm
from mmabench.mma.render import DEFAULT_UNROLL, render

UNIT_ROUNDOFF = {"f32": 2.0 ** -24, "f16": 2.0 ** -11}


@dataclass
class Built(loader.Built):
    ilp: int
    unroll: int

    @property
    def label(self) -> str:
        return f"ilp{self.ilp}"


def build(form: MmaForm, ilp: int, unroll: int = DEFAULT_UNROLL) -> Built:
    """Render, JIT through the driver, disassemble what it made and count the instruction."""
    ptx = render(form, ilp, unroll)
    kernel, text, per_trip = base.build(form, ptx, "mma_chain", ilp * unroll,
                                        f"ILP {ilp} x unroll {unroll}")
    return Built(form, ptx, kernel, text, per_trip, ilp, unroll)


@dataclass
class Inputs:
    a: object            # device uint32 [2, 32, a_regs]  (A, -A)
    b: object            # device uint32 [32, b_regs]
    c: object            # device uint32 [ilp, 32, c_regs]
    expected: np.ndarray  # float64 [ilp, m, n]: C + A.B
    scale: np.ndarray     # float64 [ilp, m, n]: |C| + |A|.|B|, for error bounds
    values: tuple | None = None   # (a [m,k], b [k,n], c [ilp,m,n]) as quantized, for the model


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
    a, b, c = (fr.quantize_operand(form, "A", a), fr.quantize_operand(form, "B", b),
               fr.quantize(c, form.acc))
    a_words = np.stack([fr.to_fragments(form, "A", a), fr.to_fragments(form, "A", -a)])
    c_words = np.stack([fr.to_fragments(form, "C", cj) for cj in c])
    return Inputs(cupy.asarray(a_words), cupy.asarray(fr.to_fragments(form, "B", b)),
                  cupy.asarray(c_words), c + a @ b, np.abs(c) + np.abs(a) @ np.abs(b), (a, b, c))


def check_rule(form: MmaForm) -> tuple[object | None, str]:
    """(model, description) of the bound the chain check applies on the GPU at hand: the
    bit-accurate model measured by `arith` on this GPU where one is shipped, else the generic
    truncation allowance below."""
    from mmabench.arith import measured
    from mmabench.arith.chain import describe

    name = _gpu_name()
    m = measured.model(form.name, name)
    if m is not None:
        rule = "bit for bit" if form.acc == "f16" else "bound from"
        return m, f"{rule} the arith model measured on {name}: {describe(m)}"
    return None, "generic bound: (k/4 + 1) truncations of 2u per step"


@functools.lru_cache(maxsize=None)
def _gpu_name() -> str:
    try:
        import cupy
        name = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["name"]
        return name.decode() if isinstance(name, bytes) else name
    except Exception:
        return ""


def check(form: MmaForm, words: np.ndarray, inputs: Inputs, steps: int) -> float:
    """Compare every chain of every warp with what the chain must give; return the max abs error
    (against C + A.B for an f32 accumulator, against the model's chain for an f16 one).

    `steps` instructions ran on each chain; the +A/-A pairs cancel exactly in real arithmetic.
    With the arithmetic `arith` measured on this GPU (check_rule):
      f16 accumulator: the model's own chain is computed (it settles into a short cycle, so this
        is cheap) and the output must equal it bit for bit;
      f32 accumulator: a bound from the model's features: per step and block, every term
        (block products + the running value) is aligned to the largest with `extra_bits` bits
        kept and the rest truncated (< 1 unit of 2^(e-23-x) each), then the sum is truncated to
        24 bits (< 1 ulp), where 2^e bounds |C| + 2|A||B| of that output.
    Without a measured model: (k/4 + 1) truncations of 2u * scale per step (Fasi et al. 2021's
    4-term blocks). The single-instruction check on integer data (verify_exact) is exact.
    """
    values = fr.from_fragments_batch(form, words)          # [warps, ilp, m, n]
    if not np.isfinite(values).all():
        bad = int((~np.isfinite(values)).sum())
        raise MeasurementError(f"{form.name}: {bad} outputs not finite (unwritten or overflowed)")
    model, rule = check_rule(form) if steps else (None, "exact")
    expected = inputs.expected
    if steps == 0:
        bound = 0 * inputs.scale
    elif model is not None and inputs.values is not None and form.acc == "f16":
        from mmabench.arith.chain import check_chain
        result = check_chain(form, words, *inputs.values, steps, model)
        if not result.ok:
            raise MeasurementError(f"{form.name}: {result.detail}; {rule}")
        return 0.0
    elif model is not None and inputs.values is not None:
        a, b, c = (np.asarray(x, np.float64) for x in inputs.values)
        reach = np.abs(c) + 2 * (np.abs(a) @ np.abs(b))
        unit = np.exp2(np.floor(np.log2(np.maximum(reach, 2.0 ** -126))) - 23)
        k = form.mnk[2]
        per_block = (model.block + 1) * 2.0 ** -model.extra_bits + 1
        bound = steps * (-(-k // model.block)) * per_block * unit
    else:
        roundings = form.mnk[2] // 4 + 1
        bound = steps * roundings * 2 * UNIT_ROUNDOFF[form.acc] * inputs.scale
    err = np.abs(values - expected[None])
    if (err > bound[None]).any():
        raise MeasurementError(f"{form.name}: result off by {err.max():.3g} (bound "
                               f"{bound.max():.3g} after {steps} steps; {rule})")
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
                    policy: measure.Policy | None = None) -> dict:
    """Cycles per instruction of one dependent chain in one warp (built with ILP 1)."""
    import cupy

    inputs = make_inputs(built.form, 1, rng)
    row, d = base.warp_chain_latency(built, inputs, built.form.c_regs, iters, policy)
    steps = 1 + iters * built.unroll
    return {**row, "check_max_abs_err": check(built.form, cupy.asnumpy(d), inputs, steps)}


class Point(base.WarpPoint):
    """One throughput launch: `blocks_per_sm` x `sms` blocks of `warps` warps."""

    def make_inputs(self, rng: np.random.Generator) -> Inputs:
        return make_inputs(self.built.form, self.built.ilp, rng)

    def check(self) -> float:
        import cupy
        return check(self.built.form, cupy.asnumpy(self.d), self.inputs, self.steps)

