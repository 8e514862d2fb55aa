"""The offline compiler report over the whole registry, from a cold compile cache."""

import sys
import types
from pathlib import Path

import pytest

from mmabench import hardware
from mmabench.compiler import registry, toolchain
from mmabench.compiler import compile_report, diff_acc, tool_messages
from mmabench.compiler import report as creport
from mmabench.compiler.demo_kernels import spill_ptx
from mmabench.core.errors import ToolMissing, UserError
from mmabench.compiler.registry import KernelSpec


@pytest.fixture(scope="module")
def cold_report(tmp_path_factory):
    """The instruction and demo kernels x every default arch, from an empty cache, 2 jobs."""
    cache = tmp_path_factory.mktemp("cold-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MMABENCH_CACHE", str(cache))
        rows = compile_report(families=["mma", "demo"], jobs=2)
    return rows, cache


def _ok(rows, **match):
    return [r for r in rows if r["status"] == "ok" and all(r[k] == v for k, v in match.items())]


def test_one_row_per_kernel_and_default_arch(cold_report):
    rows, cache = cold_report
    names = [s.name for s in registry.all_kernels(["mma", "demo"])]
    assert {(r["kernel"], r["arch"]) for r in rows} == {(n, a) for n in names for a in hardware.DEFAULT_ARCHS}
    assert not [r for r in rows if r["status"] != "ok"], \
        [(r["kernel"], r["arch"], r["message"]) for r in rows if r["status"] != "ok"]
    assert list(Path(cache).glob("*.ptxas.log")), "the report did not go through the compile cache"


@pytest.mark.slow
def test_cold_default_report_has_a_row_per_kernel_and_arch(tmp_path, monkeypatch):
    """`python -m mmabench regs` (the default selection) from a cold cache, two parallel
    compiles: one row for every kernel and default architecture, built there or not available
    on it (wgmma off sm_90a), none failed."""
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path))
    want = {(s.name, a) for s in creport.select_kernels() for a in hardware.DEFAULT_ARCHS}
    rows = compile_report(jobs=2)
    assert len(rows) == len(want) and {(r["kernel"], r["arch"]) for r in rows} == want
    bad = [(r["kernel"], r["arch"], r["message"]) for r in rows if r["status"] not in ("ok", "n/a")]
    assert not bad and sum(r["status"] == "ok" for r in rows) > len(rows) // 2, bad


def test_spilling_demo_spills_on_every_default_arch(cold_report):
    rows, _ = cold_report
    for arch in hardware.DEFAULT_ARCHS:
        (capped,) = _ok(rows, kernel="demo.spill.cap32", arch=arch)
        assert capped["regs"] <= 32
        assert capped["spill_store_bytes"] > 0 and capped["spill_load_bytes"] > 0, capped
        assert capped["n_STL"] > 0 and capped["n_LDL"] > 0          # and the SASS shows them
        assert capped["stack_frame_bytes"] > 0
        (free,) = _ok(rows, kernel="demo.spill.nocap", arch=arch)   # the control
        assert free["regs"] > 32 and free["spill_store_bytes"] == 0 and free["n_LDL"] == 0


def test_every_f16_accumulate_mma_kernel_uses_no_more_registers_than_its_f32_twin(cold_report):
    rows, _ = cold_report
    by = {(r["kernel"], r["arch"]): r for r in rows}
    pairs = [s for s in registry.all_kernels(["mma"]) if s.acc == "f16"]
    assert pairs and all(s.twin for s in pairs)
    for spec in pairs:
        for arch in hardware.DEFAULT_ARCHS:
            f16, f32 = by[(spec.name, arch)], by[(spec.twin, arch)]
            assert f16["status"] == f32["status"] == "ok"
            assert f16["regs"] <= f32["regs"], (spec.name, arch, f16["regs"], f32["regs"])
            assert f16["blocks_per_sm"] >= f32["blocks_per_sm"]


def test_sass_columns_show_the_instruction_each_mma_kernel_is_for(cold_report):
    rows, _ = cold_report
    for spec in registry.all_kernels(["mma"]):
        for r in _ok(rows, kernel=spec.name):
            ops = dict(op.split(" x") for op in r["tensor_ops"].split(", "))
            assert list(ops) == [spec.tags["sass"]], (spec.name, r["arch"], r["tensor_ops"])
            assert r["n_LDL"] == r["n_STL"] == 0
            assert '"' + spec.tags["sass"] + '"' in r["sass_histogram"]


def test_diff_acc_pairs_each_f16_kernel_with_its_twin(cold_report):
    rows, _ = cold_report
    diffs = diff_acc(rows)
    f16 = [s for s in registry.all_kernels(["mma", "demo"]) if "f16" in s.acc and s.twin]
    assert {(d["kernel"], d["arch"]) for d in diffs} == {(s.name, a) for s in f16 for a in hardware.DEFAULT_ARCHS}
    for d in diffs:
        assert d["regs_delta"] == d["regs_f16"] - d["regs_f32"] <= 0
        assert d["twin"].replace("acc_f32", "acc_f16") == d["kernel"]


def test_a_new_family_is_picked_up_without_touching_the_report(monkeypatch, tmp_path):
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path))
    fake = types.ModuleType("mmabench_test_fake_family")
    fake.kernel_specs = lambda: [
        KernelSpec(name="fake.plain", family="fake", entry="spill_demo", ptx=spill_ptx,
                   threads_per_block=64),
        KernelSpec(name="fake.needs_a", family="fake", entry="spill_demo", ptx=spill_ptx,
                   threads_per_block=64, min_sm=90, arch_suffix_needed="a"),
    ]
    monkeypatch.setitem(sys.modules, fake.__name__, fake)
    monkeypatch.setitem(registry.FAMILIES, "fake", fake.__name__)
    hidden = KernelSpec(name="fake.extended", family="fake", entry="spill_demo", ptx=spill_ptx,
                        threads_per_block=64, tags={"report_default": False})
    specs = fake.kernel_specs()
    fake.kernel_specs = lambda: specs + [hidden]
    default = [s.name for s in creport.select_kernels()]
    assert "fake.plain" in default and "fake.needs_a" in default and "fake.extended" not in default
    assert "fake.extended" in [s.name for s in creport.select_kernels(all_kernels=True)]
    rows = compile_report(families=["fake"], archs=["sm_80", "sm_90"], jobs=2)
    got = {(r["kernel"], r["arch"]): r for r in rows}
    assert ("fake.extended", "sm_80") in got             # naming the family includes it
    assert got[("fake.plain", "sm_80")]["status"] == "ok"
    assert got[("fake.needs_a", "sm_80")]["status"] == "n/a"
    needs_a = got[("fake.needs_a", "sm_90")]
    assert needs_a["status"] == "ok" and needs_a["target"] == "sm_90a"   # sm_90 -> sm_90a


def test_a_diff_only_twin_is_built_for_diff_acc_or_by_name_never_by_all_or_family(monkeypatch):
    fake = types.ModuleType("mmabench_test_twin_family")
    fake.kernel_specs = lambda: [
        KernelSpec(name="fake.f16", family="fake", entry="spill_demo", ptx=spill_ptx,
                   threads_per_block=64, acc="f16", twin="fake.f32_at_f16_tiles"),
        KernelSpec(name="fake.f32_at_f16_tiles", family="fake", entry="spill_demo", ptx=spill_ptx,
                   threads_per_block=64, acc="f32", tags={"diff_only": True}),
    ]
    monkeypatch.setitem(sys.modules, fake.__name__, fake)
    monkeypatch.setitem(registry.FAMILIES, "fake", fake.__name__)
    for chosen in (creport.select_kernels(all_kernels=True), creport.select_kernels(None, ["fake"])):
        names = [s.name for s in chosen]
        assert "fake.f16" in names and "fake.f32_at_f16_tiles" not in names
        assert "fake.f32_at_f16_tiles" in creport.diff_only_twins(chosen)
    with_twin = creport.with_twins(creport.select_kernels(None, ["fake"]))
    assert [s.name for s in with_twin] == ["fake.f16", "fake.f32_at_f16_tiles"]
    assert creport.has_acc_pairs(with_twin)
    assert [s.name for s in creport.select_kernels(["fake.f32_*"])] == ["fake.f32_at_f16_tiles"]
    assert "fake.f32_at_f16_tiles" not in creport.left_out_of_default()


def test_the_attention_twins_that_no_benchmark_runs_are_diff_only():
    from mmabench.attention import registry as attention_registry

    specs = attention_registry.kernel_specs()
    twins = [s for s in specs if s.tags["role"] == "twin"]
    assert twins and all(s.tags["diff_only"] for s in twins)
    assert not any(s.tags["diff_only"] for s in specs if s.tags["role"] == "variant")
    chosen = {s.name for s in creport.select_kernels(None, ["attention"])}
    assert chosen.isdisjoint(s.name for s in twins)
    assert {s.name for s in twins} <= {s.name for s in creport.with_twins(
        creport.select_kernels(None, ["attention"]))}


def test_too_old_ptxas_names_the_package_and_other_archs_still_report(monkeypatch, tmp_path):
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path))
    real = toolchain.tool_version
    monkeypatch.setattr(toolchain, "tool_version", lambda name: "12.4" if name == "ptxas" else real(name))
    rows = compile_report(kernels=["demo.spill.cap32"], archs=["sm_80", "sm_100", "sm_120"], jobs=2)
    status = {r["arch"]: r["status"] for r in rows}
    assert status == {"sm_80": "ok", "sm_100": "tool", "sm_120": "tool"}
    lines = tool_messages(rows)
    assert len(lines) == 1
    assert "pip install -U nvidia-cuda-nvcc" in lines[0]
    assert "sm_100" in lines[0] and "sm_120" in lines[0] and "12.8" in lines[0]


def test_missing_ptxas_is_one_line_with_the_package(monkeypatch):
    def no_ptxas(name):
        raise ToolMissing(f"{name} not found on PATH, under CUDA_HOME or in the NVIDIA wheels; "
                          f"install it with: pip install {toolchain.WHEEL_OF[name]}")
    monkeypatch.setattr(toolchain, "find_tool", no_ptxas)
    with pytest.raises(ToolMissing, match="pip install nvidia-cuda-nvcc"):
        compile_report(kernels=["demo.spill.cap32"], archs=["sm_80"])


def test_missing_nvdisasm_falls_back_to_cuobjdump(monkeypatch, tmp_path, no_nvdisasm):
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path))
    (row,) = compile_report(kernels=["mma.m16n8k16.f16.acc_f16.thr"], archs=["sm_90"])
    assert row["status"] == "ok" and row["sass_tool"].startswith("cuobjdump")
    assert row["tensor_ops"] == "HMMA.16816.F16 x68"


def test_a_cached_cubin_without_its_log_is_an_error_not_zero_spills(monkeypatch, tmp_path):
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path))
    (first,) = compile_report(kernels=["demo.spill.cap32"], archs=["sm_86"])
    assert first["status"] == "ok" and first["spill_store_bytes"] > 0
    logs = list(tmp_path.glob("*.ptxas.log"))
    assert logs
    for log in logs:
        log.write_text("")                    # a cache that kept the cubin but lost the log
    (again,) = compile_report(kernels=["demo.spill.cap32"], archs=["sm_86"])
    assert again["status"] == "error" and "refusing" in again["message"]
    assert "spill_store_bytes" not in again


def test_kernel_selection_by_pattern_and_bad_names():
    specs = creport.select_kernels(["mma.*.thr"])
    assert specs and all(s.name.endswith(".thr") for s in specs)
    with pytest.raises(UserError, match="accepted"):
        creport.select_kernels(["no.such.kernel"])
    with pytest.raises(UserError, match="accepted"):
        creport.select_kernels(None, ["nofamily"])


def test_ptx_newer_than_ptxas_is_a_tool_line_not_a_kernel_error(monkeypatch, tmp_path):
    """NVRTC newer than the ptxas found emits a PTX ISA that ptxas rejects: say what to install."""
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path))
    future = spill_ptx().replace(".version 7.0", ".version 99.9")
    spec = KernelSpec(name="future.isa", family="demo", entry="spill_demo",
                      ptx=lambda arch: future, threads_per_block=64)
    broken = KernelSpec(name="broken.family", family="demo", entry="spill_demo",
                        ptx=lambda arch: 1 / 0, threads_per_block=64)
    rows = compile_report(kernels=[spec, broken, "demo.spill.nocap"], archs=["sm_80"])
    by = {r["kernel"]: r for r in rows}
    assert by["future.isa"]["status"] == "tool"
    assert "99.9" in by["future.isa"]["message"] and "pip install -U nvidia-cuda-nvcc" in by["future.isa"]["message"]
    assert by["broken.family"]["status"] == "error" and "ZeroDivisionError" in by["broken.family"]["message"]
    assert by["demo.spill.nocap"]["status"] == "ok"
    assert any("99.9" in line for line in tool_messages(rows))


def test_a_kernel_that_cannot_launch_on_an_arch_is_not_compiled_there(monkeypatch):
    """Blocks needing more shared memory than the architecture gives one block cannot launch
    there: the row says so (n/a, one message per target) and ptxas never runs for it."""
    big = hardware.smem_per_block("sm_86") + 1024
    spec = KernelSpec(name="demo.big_smem", family="demo", entry="k", ptx=lambda arch: "never read",
                      threads_per_block=128, dynamic_smem_bytes=big)

    def no_ptxas(*a, **k):
        raise AssertionError("ptxas ran for a kernel that cannot launch")

    monkeypatch.setattr(toolchain, "assemble", no_ptxas)
    row = creport.build_one(spec, "sm_86").row
    assert row["status"] == "n/a"
    assert row["message"] == f"blocks of more than {hardware.smem_per_block('sm_86') // 1024} KiB of shared memory on sm_86"
