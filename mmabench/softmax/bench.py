"""Measuring one softmax form: build, check, time. Returns plain dict rows.

Latency: one warp, one dependent chain, %clock64 around the loop -> cycles per PTX instruction.
Throughput: `ilp` chains per thread, `warps` per block, `blocks_per_sm` x SMs blocks, the loop
long enough (~2 ms) that the launch is noise; rates are elements (an f16x2 instruction makes 2
per thread) and SASS ops per clock per SM at the SM clock the kernel itself measured.

Every figure is divided by the instruction count read from the SASS the driver produced (a
fused three-input max counts as the two PTX maxima it carries), and every launch's output is
checked against the host's reference: a kernel that computes the wrong thing is an error row.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from mmabench import hardware, measure
from mmabench.compiler import loader
from mmabench.instructions import bench as base
from mmabench.instructions.bench import POISON
from mmabench.softmax import reference
from mmabench.softmax.catalogue import SoftmaxForm
from mmabench.softmax.offline import loop_body, per_instruction
from mmabench.softmax.render import DEFAULT_UNROLL, render


@dataclass
class Built(loader.Built):
    ilp: int
    unroll: int
    sass_ops: dict          # the counted opcodes in one loop trip
    others: dict            # every other opcode of the loop's steps (sign flips, packs)

    @property
    def label(self) -> str:
        return f"ilp{self.ilp}"

    @property
    def sass_per_ptx(self) -> Fraction:
        """Counted SASS ops per PTX instruction, as the loop shows (1/2 where max is fused)."""
        return Fraction(sum(self.sass_ops.values()), self.per_trip)

    def sass_fields(self) -> dict:
        return {"sass_ops_per_trip": sum(self.sass_ops.values()),
                "sass_per_instruction": per_instruction(self.sass_ops, self.per_trip),
                "others_per_instruction": per_instruction(self.others, self.per_trip)}


def build(form: SoftmaxForm, ilp: int, unroll: int = DEFAULT_UNROLL) -> Built:
    """Render, JIT through the driver, disassemble what it made and count the instruction."""
    ptx = render(form, ilp, unroll)
    kernel, text, per_trip = base.build(form, ptx, "softmax_chain", ilp * unroll,
                                        f"ILP {ilp} x unroll {unroll}")
    counted, others = loop_body(form, text, hardware.device_arch())
    return Built(form, ptx, kernel, text, per_trip, ilp, unroll, counted, others)


@dataclass
class Inputs:
    a: object                  # device uint32 [2, 32]
    b: object                  # device uint32 [32]
    c: object                  # device uint32 [ilp, 32]
    words: reference.Words     # the same, on the host


def make_inputs(form: SoftmaxForm, ilp: int, rng: np.random.Generator) -> Inputs:
    import cupy

    w = reference.make_words(form, ilp, rng)
    return Inputs(cupy.asarray(w.a), cupy.asarray(w.b), cupy.asarray(w.c), w)


def check(form: SoftmaxForm, out, inputs: Inputs, steps: int) -> float:
    import cupy

    return reference.check(form, cupy.asnumpy(out), inputs.words, steps)


def verify_exact(built: Built, rng: np.random.Generator) -> None:
    """One step per chain (the prologue, zero loop trips) on fresh data, then a short run of
    the loop: both must give the host's answer (bit for bit, ex2 within its bound)."""
    import cupy

    form, ilp = built.form, built.ilp
    for iters in (0, 3):
        inputs = make_inputs(form, ilp, rng)
        d = cupy.full((1, ilp, 32, 1), POISON, dtype=cupy.uint32)
        t = cupy.zeros((1, 4), dtype=cupy.uint64)
        built.kernel.function((1,), (32,), (inputs.a, inputs.b, inputs.c, d, t, np.uint32(iters)))
        check(form, d, inputs, 1 + iters * built.unroll)


def measure_latency(built: Built, rng: np.random.Generator, iters: int = 2048,
                    policy: measure.Policy | None = None) -> dict:
    """Cycles per PTX instruction of one dependent chain in one warp (built with ILP 1)."""
    inputs = make_inputs(built.form, 1, rng)
    row, d = base.warp_chain_latency(built, inputs, 1, iters, policy)
    steps = 1 + iters * built.unroll
    # a fused op carries two dependent maxima: its own latency is twice the per-PTX figure
    return {**row, **built.sass_fields(),
            "latency_cycles_per_sass_op": row["latency_cycles"] / float(built.sass_per_ptx),
            "check_max_abs_err": check(built.form, d, inputs, steps)}


class Point(base.WarpPoint):
    """One throughput launch: `blocks_per_sm` x `sms` blocks of `warps` warps."""

    def make_inputs(self, rng: np.random.Generator) -> Inputs:
        return make_inputs(self.built.form, self.built.ilp, rng)

    @property
    def elements(self) -> int:
        return self.instructions * self.built.form.elements

    def rate_fields(self, m: measure.Measurement) -> dict:
        """The base's FLOP rates, and the ones this family reports: elements and counted SASS
        ops (per thread) per clock per SM, at the clock the kernel measured."""
        row = super().rate_fields(m)
        per_clock_sm = m.median_ms * 1e-3 * (m.sm_clock_mhz or float("nan")) * 1e6 * self.sms
        lane_ops = self.instructions * 32 * self.built.sass_per_ptx
        return {**row, "elements": self.elements,
                "gelements_per_s": self.elements / (m.median_ms * 1e-3) / 1e9,
                "elements_per_clk_per_sm": self.elements / per_clock_sm,
                "sass_ops_per_clk_per_sm": float(lane_ops) / per_clock_sm,
                **self.built.sass_fields()}

    def check(self) -> float:
        return check(self.built.form, self.d, self.inputs, self.steps)
