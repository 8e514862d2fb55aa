"""The instruction-family base (mmabench.instructions) on a toy family of its own: one mma.sync
m16n8k8 form in both accumulators, with a PTX template written here. Registry, offline SASS
check and the run's loop (on a pretend GPU) go through the base exactly as mma and wgmma do."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass

import numpy as np
import pytest

from mmabench import hardware, measure, record
from mmabench.compiler.loader import Built
from mmabench.core.errors import Infeasible, MeasurementError, UserError
from mmabench.instructions import bench, offline, suite
from mmabench.instructions.form import Lowering, accumulator_pairs
from mmabench.instructions.ptx import regs, thread_address
from mmabench.instructions.registry import Kind, kernel_specs

TEMPLATE = """.version 7.0
.target sm_80
.address_size 64
.visible .entry toy(.param .u64 d_ptr, .param .u32 iters)
{
    .reg .pred  %p;
    .reg .u32   %i, %n;
    .reg .u64   %base, %off, %addr;
    .reg .b32   %a<2>, %b<1>;
    .reg ACC    %acc<NACC>;
LOADS
    ld.param.u32    %n, [iters];
    mov.u32         %i, 0;
$loop:
    .pragma "nounroll";
BODY
    add.u32         %i, %i, 1;
    setp.lt.u32     %p, %i, %n;
    @%p bra         $loop;
STORES
    ret;
}
"""


@dataclass(frozen=True)
class ToyForm:
    acc: str
    min_sm: int = 80
    shape = "m16n8k8"
    ab_type = "f16"

    @property
    def name(self) -> str:
        return f"toy.{self.shape}.acc_{self.acc}"

    @property
    def c_regs(self) -> int:
        return 4 if self.acc == "f32" else 2

    @property
    def flops(self) -> int:
        return 2 * 16 * 8 * 8

    @property
    def instruction(self) -> str:
        return f"mma.sync.aligned.m16n8k8.row.col.{self.acc}.f16.f16.{self.acc}"

    @property
    def twin(self) -> "ToyForm":
        return ToyForm("f32" if self.acc == "f16" else "f16", self.min_sm)

    def runs_on(self, arch: str) -> bool:
        return hardware.arch_number(arch) >= self.min_sm

    def sass_for(self, arch: str) -> Lowering:
        if not self.runs_on(arch):
            raise UserError(f"{self.name} needs sm_{self.min_sm}")
        return Lowering(f"HMMA.1688.{self.acc.upper()}")


FORMS = [ToyForm("f16"), ToyForm("f32")]
UNROLL = 4


def render(form: ToyForm, ilp: int) -> str:
    nc = form.c_regs
    chains = [f"{{{regs('acc', j * nc, nc)}}}" for j in range(ilp)]
    loads = thread_address("d_ptr", "%i", 4, ("    mov.u32         %i, 0;",)) + [
        "    ld.global.b32   %a0, [%addr];", "    ld.global.b32   %a1, [%addr+4];",
        "    ld.global.b32   %b0, [%addr+8];"]
    loads += [f"    ld.global.b32   %acc{r}, [%addr+{4 * r}];" for r in range(ilp * nc)]
    body = [f"    {form.instruction} {acc}, {{%a0, %a1}}, {{%b0}}, {acc};"
            for _ in range(UNROLL) for acc in chains]
    stores = [f"    st.global.b32   [%addr+{4 * r}], %acc{r};" for r in range(ilp * nc)]
    return (TEMPLATE.replace("NACC", str(ilp * nc))
            .replace("ACC", ".f32" if form.acc == "f32" else ".b32").replace("LOADS", "\n".join(loads))
            .replace("BODY", "\n".join(body)).replace("STORES", "\n".join(stores)))


KINDS = (Kind("lat", 1, 32), Kind("thr", 2, 64))


def test_registry_lists_each_form_and_kind_with_its_twin():
    specs = kernel_specs(FORMS, family="toy", prefix="toy", entry="toy", render=render,
                         kinds=KINDS, tags=lambda form, kind: {"ilp": kind.config})
    assert [s.name for s in specs] == ["toy.toy.m16n8k8.acc_f16.lat", "toy.toy.m16n8k8.acc_f16.thr",
                                       "toy.toy.m16n8k8.acc_f32.lat", "toy.toy.m16n8k8.acc_f32.thr"]
    assert specs[1].twin == "toy.toy.m16n8k8.acc_f32.thr" and specs[1].threads_per_block == 64
    assert specs[3].tags == {"form": "toy.m16n8k8.acc_f32", "ilp": 2}
    assert specs[0].supports("sm_80") and not specs[0].supports("sm_75")
    assert specs[1].ptx("sm_90") == render(FORMS[0], 2)
    assert [(a.name, b.name) for a, b in accumulator_pairs(FORMS)] == [(FORMS[0].name, FORMS[1].name)]
    assert accumulator_pairs(FORMS[:1]) == []


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.acc)
def test_offline_check_counts_the_opcode_and_refuses_any_other(form):
    ptx = render(form, 3)
    c = offline.check(ptx, "sm_80", form.sass_for("sm_80"), 3 * UNROLL)
    assert c.ok, c.problems
    assert c.per_trip == 3 * UNROLL and c.tensor_ops == {form.sass_for("sm_80").opcode: 3 * UNROLL}
    # a count the render did not make, and the other accumulator's opcode, are both named
    short = offline.check(ptx, "sm_80", form.sass_for("sm_80"), 3 * UNROLL + 1)
    assert not short.ok and "per loop trip in SASS, expected 13" in short.problems[0]
    other = offline.check(ptx, "sm_80", form.twin.sass_for("sm_80"), 3 * UNROLL)
    assert other.per_trip == 0 and "no loop contains" in other.problems[0]
    assert f"other tensor opcodes beside {form.twin.sass_for('sm_80').opcode}" in other.problems[1]


# ---------------------------------------------------------------- the run, on a pretend GPU

@dataclass
class ToyBuilt(Built):
    ilp: int

    @property
    def unroll(self) -> int:
        return UNROLL

    @property
    def label(self) -> str:
        return f"ilp{self.ilp}"


@dataclass(frozen=True)
class Shape:
    ilp: int
    blocks: int

    @property
    def kernel(self) -> int:
        return self.ilp

    @property
    def fields(self) -> dict:
        return {"ilp": self.ilp, "blocks_per_sm": self.blocks}

    @property
    def label(self) -> str:
        return f"ilp{self.ilp} b{self.blocks}"


@dataclass(frozen=True)
class Sweep:
    policy: measure.Policy = measure.Policy(rounds=3)

    def points(self, form):
        return [Shape(ilp, blocks) for ilp in (1, 2) for blocks in (1, 2, 3)]


class Toy(suite.Family):
    """Builds nothing on a GPU: each hook records its call and returns made-up figures."""
    name = "toy"
    latency_kernel = 1
    latency_fields = {"ilp": 1, "blocks_per_sm": None}

    def __init__(self, broken_ilp=None):
        self.builds, self.broken_ilp = [], broken_ilp

    def form_fields(self, form, arch):
        return {"form": form.name, "acc": form.acc}

    def build(self, form, ilp, throughput):
        self.builds.append((form.acc, ilp, throughput))
        if ilp == self.broken_ilp:
            raise MeasurementError(f"{form.name}: 3 HMMA per loop trip in SASS, expected 8")
        return ToyBuilt(form, render(form, ilp), None, "SASS", ilp * UNROLL, ilp)

    def verify_exact(self, built, rng):
        pass

    def measure_latency(self, built, rng):
        return {"latency_cycles": 33.0}

    def launch(self, built, rng, shape, sms, iters=None):
        if shape.blocks == 3:
            raise Infeasible("2 blocks of 64 threads fit on an SM, 3 wanted")
        return types.SimpleNamespace(built=built, shape=shape, iters=iters or 100)

    def shape_of(self, row):
        return Shape(int(row["ilp"]), int(row["blocks_per_sm"]))


points_policies: list = []      # the policy of each comparison pretend_gpu's run made


@pytest.fixture
def pretend_gpu(monkeypatch):
    monkeypatch.setattr(hardware, "require_gpu", lambda: None)
    monkeypatch.setattr(hardware, "device_arch", lambda: "sm_86")
    monkeypatch.setattr(record, "gpu_context", lambda: {"gpu_name": "Toy GPU", "sm_count": 4})
    monkeypatch.setattr(record, "software_context", lambda: {"mmabench_version": "toy"})
    monkeypatch.setattr(record.RunFolder, "save_gpu_state", lambda self, label: None)
    monkeypatch.setattr(suite, "precompile", lambda family, plan: None)   # threads on a GPU

    def measure_point(point, policy):
        tflops = 10.0 * point.shape.ilp * point.shape.blocks * (2 if point.built.form.acc == "f16" else 1)
        return {**point.shape.fields, "tflops": tflops, "sm_clock_mhz": 1500.0}

    monkeypatch.setattr(bench, "measure_point", measure_point)
    compared = []
    points_policies.clear()

    def compare_twins(points, policy, keys):
        compared.append(points)
        points_policies.append(policy)
        return {"ratio_f16_over_f32": 2.0, "comparison": "2.00x"}

    monkeypatch.setattr(suite.measure, "compare_twins", compare_twins)
    return compared


def test_run_builds_each_kernel_once_and_compares_the_twins_at_the_f32_best_shape(
        pretend_gpu, tmp_path):
    family = Toy()
    folder, rows = suite.run(family, FORMS + [ToyForm("f16", min_sm=90)], Sweep(), seed=0,
                             results_root=tmp_path)
    unsupported, rows = rows[0], rows[1:]
    assert unsupported["status"] == "unsupported" and "needs sm_90+" in unsupported["error"]
    # per form: the latency kernel, then one build per ILP for its three launch shapes
    assert family.builds[:3] == [("f16", 1, False), ("f16", 1, True), ("f16", 2, True)]
    kinds = [(r["form"][-3:], r["kind"], r["status"], r.get("ilp"), r.get("blocks_per_sm"))
             for r in rows]
    assert kinds[:7] == [("f16", "latency", "ok", 1, None),
                         ("f16", "throughput", "ok", 1, 1), ("f16", "throughput", "ok", 1, 2),
                         ("f16", "throughput", "skipped", 1, 3),
                         ("f16", "throughput", "ok", 2, 1), ("f16", "throughput", "ok", 2, 2),
                         ("f16", "throughput", "skipped", 2, 3)]
    assert all(r["gpu_name"] == "Toy GPU" and r["timestamp"] for r in rows)
    best = [r for r in rows if r.get("saturating") is True]
    assert [(r["acc"], r["ilp"], r["blocks_per_sm"]) for r in best] == [("f16", 2, 2), ("f32", 2, 2)]
    # the comparison rebuilds both twins at the f32 form's best shape, with equal trip counts
    (comp,) = [r for r in rows if r["kind"] == "comparison"]
    assert comp["form"] == "toy.m16n8k8" and comp["status"] == "ok" and comp["ilp"] == 2
    assert comp["acc"] == "f16 vs f32" and comp["ratio_f16_over_f32"] == 2.0
    (points,) = pretend_gpu
    assert points["f16"].iters == points["f32"].iters and points["f32"].shape == Shape(2, 2)
    # compared in the sustained regime by default (at least 5 rounds), burst on request
    assert (points_policies[0].regime, points_policies[0].rounds) == ("sustained", 5)
    suite.run(family, FORMS, Sweep(), seed=0, results_root=tmp_path, regime="burst")
    assert (points_policies[-1].regime, points_policies[-1].rounds) == ("burst", 3)
    assert (folder.path / "ptx" / "toy.m16n8k8.acc_f32.lat.ptx").read_text() == render(FORMS[1], 1)
    assert (folder.path / "sass" / "toy.m16n8k8.acc_f32.ilp2.sass").read_text() == "SASS"
    assert (folder.path / "toy.csv").exists()


def test_the_precompile_pass_builds_each_kernel_of_the_run_once():
    family = Toy()
    plan = {form: Sweep().points(form) for form in FORMS}
    jobs = suite.builds_of(family, plan)
    # per form: the latency chain, and one build per ILP (its three block counts share it)
    assert [(form.acc, kernel, throughput) for form, kernel, throughput in jobs] == [
        (acc, kernel, throughput) for acc in ("f16", "f32")
        for kernel, throughput in ((1, False), (1, True), (2, True))]


def test_a_kernel_that_fails_its_check_gives_an_error_row_per_shape(pretend_gpu, tmp_path):
    family = Toy(broken_ilp=2)
    _, rows = suite.run(family, FORMS[:1], Sweep(), results_root=tmp_path, compare=False)
    errors = [r for r in rows if r["status"] == "error"]
    assert [(r["ilp"], r["blocks_per_sm"]) for r in errors] == [(2, 1), (2, 2), (2, 3)]
    assert all("expected 8" in r["error"] for r in errors)
    assert family.builds.count(("f16", 2, True)) == 1       # tried once, not once per shape


# ---------------------------------------------------------------- a throughput launch

class ToyPoint(bench.Point):
    def make_inputs(self, rng):
        return types.SimpleNamespace(a=None, b=None, c=None)

    def shape_fields(self):
        return {"blocks_per_sm": self.blocks // self.sms}

    def check(self):
        return 0.0


@pytest.fixture
def numpy_as_cupy(monkeypatch):
    fake = types.SimpleNamespace(full=np.full, zeros=np.zeros, uint32=np.uint32, uint64=np.uint64)
    monkeypatch.setitem(sys.modules, "cupy", fake)


class ResidentBuilt(ToyBuilt):
    num_regs = 40

    def max_blocks_per_sm(self, threads: int) -> int:
        return 2048 // threads


def test_point_counts_its_work_and_refuses_a_shape_that_does_not_fit(numpy_as_cupy):
    built = ResidentBuilt(FORMS[1], "", types.SimpleNamespace(function=None), "", 2 * UNROLL, 2)
    with pytest.raises(Infeasible, match="16 blocks of 128 threads fit on an SM, 17 wanted"):
        ToyPoint(built, None, units=4, unit_threads=32, blocks_per_sm=17, sms=10, iters=5)
    point = ToyPoint(built, None, units=4, unit_threads=32, blocks_per_sm=2, sms=10, iters=5)
    assert point.d.shape == (80, 2, 32, 4) and (point.d == bench.POISON).all()
    assert point.steps == 1 + 5 * UNROLL
    assert point.instructions == 80 * (2 * UNROLL * 5 + 2)        # + each chain's prologue step
    assert point.flops == point.instructions * 2048
    m = types.SimpleNamespace(median_ms=2.0, sm_clock_mhz=1000.0, fields=lambda: {"samples": 9})
    row = point.fields(m)
    assert row["blocks_per_sm"] == 2 and row["registers"] == 40 and row["samples"] == 9
    assert row["tflops"] == pytest.approx(point.flops / 2e-3 / 1e12)
    assert row["flop_per_clk_per_sm"] == pytest.approx(point.flops / (2e-3 * 1e9 * 10))


@pytest.mark.parametrize("given", [None, 12345])
def test_every_row_records_the_seed_of_its_inputs_and_the_run_says_it(pretend_gpu, tmp_path,
                                                                      capsys, given):
    import json

    folder, rows = suite.run(Toy(), FORMS, Sweep(), seed=given, results_root=tmp_path)
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("seed ")]
    seed = int(line.split()[1].rstrip(";"))
    assert line == f"seed {seed}; rerun with --seed {seed}" and (given is None or seed == given)
    assert {r["seed"] for r in rows} == {seed}
    assert json.loads((folder.path / "context.json").read_text())["seed"] == seed
