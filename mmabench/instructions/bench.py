"""Measuring a form on the GPU: what every family shares.

A family's bench module renders its kernel, JITs it through `build` (which counts the form's
instruction in the loop of the SASS the driver made, so no figure is divided by a guess) into a
subclass of compiler.loader.Built that adds the chain shape (`ilp`, `unroll`, and `label` for
file names), makes its inputs, checks its outputs and subclasses `Point` for a throughput
launch; `measure_point` times such a launch and checks what it computed.
"""

from __future__ import annotations

from mmabench import hardware, measure
from mmabench.compiler import driver_jit, toolchain
from mmabench.compiler.loader import Built
from mmabench.core.errors import Infeasible, MeasurementError

POISON = 0xFFFFFFFF  # NaN as f32 and as a pair of f16: an unwritten output cannot pass
TARGET_MS = 2.0      # throughput launches are calibrated to about this long
# Throughput points: a few ms each, and very steady; the default stops at 0.5 % standard error.
POINT_POLICY = measure.Policy(warmup_ms=4.0, min_samples=5, max_samples=50, rel_error=0.005,
                              budget_s=0.25, rounds=5, samples_per_round=3)


def build(form, ptx: str, entry: str, expected_per_trip: int, what: str,
          check=None) -> tuple[driver_jit.JitKernel, str, int]:
    """JIT `ptx` through the driver, disassemble what it made and count the form's instruction
    in its loop: (kernel, SASS, per trip). MeasurementError, saying `what` was rendered, when the
    count is not `expected_per_trip` or `check(sass)` (a family's own) names a problem."""
    kernel = driver_jit.jit(ptx, entry)
    text = toolchain.disassemble(kernel.cubin)
    lowering = form.sass_for(hardware.device_arch())   # FP8 on sm_90: 2 x HMMA.16816 per mma
    per_trip, problem = lowering.loop_check(text, expected_per_trip)
    problem = problem or (check(text) if check else "")
    if problem:
        raise MeasurementError(f"{form.name}: {problem} ({what})")
    return kernel, text, per_trip


class Point(measure.ChainLaunch):
    """One throughput launch of a built form with fresh inputs, ready to launch and check:
    `blocks_per_sm` x `sms` blocks of `units` chain owners (a warp for mma.sync, a warpgroup for
    wgmma) of `unit_threads` threads each; every owner runs the kernel's `ilp` chains. A
    family's subclass makes the inputs (`make_inputs`), says which launch it is (`shape_fields`),
    checks the output (`check`) and may add row columns (`fields`)."""
    min_trips = 16

    def __init__(self, built: Built, rng, units: int, unit_threads: int, blocks_per_sm: int,
                 sms: int, target_ms: float = TARGET_MS, iters: int | None = None):
        import cupy

        self.built, self.sms = built, sms
        threads = units * unit_threads
        resident = built.max_blocks_per_sm(threads)
        if resident < blocks_per_sm:
            raise Infeasible(f"{resident} blocks of {threads} threads fit on an SM, "
                             f"{blocks_per_sm} wanted ({built.num_regs} registers/thread)")
        blocks = blocks_per_sm * sms
        self.owners = blocks * units
        d = cupy.full((self.owners, built.ilp, unit_threads, built.form.c_regs), POISON,
                      dtype=cupy.uint32)
        # a given trip count makes two points do the same work (interleaved comparisons)
        super().__init__(built.kernel.function, blocks, threads, self.make_inputs(rng), d,
                         warps=self.owners * unit_threads // 32, target_ms=target_ms, iters=iters,
                         min_trips=self.min_trips, poison=POISON)

    @property
    def steps(self) -> int:
        """Steps each chain took: the prologue's one, then `unroll` per loop trip."""
        return 1 + self.iters * self.built.unroll

    @property
    def instructions(self) -> int:
        b = self.built
        return self.owners * (b.per_trip * self.iters + b.ilp)

    @property
    def flops(self) -> int:
        return self.instructions * self.built.form.flops

    def make_inputs(self, rng):
        raise NotImplementedError

    def shape_fields(self) -> dict:
        raise NotImplementedError

    def check(self) -> float:
        raise NotImplementedError

    def fields(self, m: measure.Measurement) -> dict:
        """Row columns of this point timed by `m` (whose clock is the kernel's own)."""
        return {**self.shape_fields(), **self.rate_fields(m), "registers": self.built.num_regs}

    def rate_fields(self, m: measure.Measurement) -> dict:
        seconds = m.median_ms * 1e-3
        clock = m.sm_clock_mhz or float("nan")
        return {"grid_blocks": self.blocks, "iters": self.iters, "instructions": self.instructions,
                **m.fields(), "tflops": self.flops / seconds / 1e12,
                "flop_per_clk_per_sm": self.flops / (seconds * clock * 1e6 * self.sms)}


def measure_point(point: measure.ChainLaunch, policy: measure.Policy) -> dict:
    """Row columns of one throughput launch timed under `policy`, its output checked after."""
    m = measure.measure(point, policy, clock=point.clock)
    return {**point.fields(m), "check_max_abs_err": point.check()}


class WarpPoint(Point):
    """A throughput launch of a per-warp family (mma.sync, softmax): `blocks_per_sm` x `sms`
    blocks of `warps` warps, each warp running the kernel's `ilp` chains. The family's subclass
    makes the inputs and checks the output."""
    min_trips = 64

    def __init__(self, built: Built, rng, warps: int, blocks_per_sm: int, sms: int,
                 target_ms: float = TARGET_MS, iters: int | None = None):
        self.warps, self.blocks_per_sm = warps, blocks_per_sm
        super().__init__(built, rng, warps, 32, blocks_per_sm, sms, target_ms, iters)

    def shape_fields(self) -> dict:
        return {"warps_per_block": self.warps, "ilp": self.built.ilp,
                "blocks_per_sm": self.blocks_per_sm, "warps_per_sm": self.warps * self.blocks_per_sm}


LATENCY_POLICY = measure.Policy(warmup_ms=0, min_samples=5, max_samples=30, rel_error=0.001,
                                budget_s=0.5)


def warp_chain_latency(built: Built, inputs, c_regs: int, iters: int,
                       policy: measure.Policy | None = None):
    """One warp running one dependent chain (a kernel built with ILP 1) for `iters` loop trips:
    (measure.latency's row, the output array to check)."""
    import cupy

    if built.ilp != 1:
        raise ValueError("latency needs ILP 1")
    d = cupy.full((1, 1, 32, c_regs), POISON, dtype=cupy.uint32)
    chain = measure.ChainLaunch(built.kernel.function, 1, 32, inputs, d, warps=1, poison=POISON,
                                iters=iters)
    return measure.latency(chain, built.per_trip, policy or LATENCY_POLICY), d
