"""sm_89 builds taken from sm_86 (compiler/shared_code.py): only where ptxas really wrote the same
code, checked on the installed ptxas; every other case compiled as before."""

from __future__ import annotations

import pytest

from mmabench.compiler import registry, shared_code, toolchain
from mmabench.compiler import report as creport

# mma forms (sm_80+), an FP8 form (sm_89+ only), softmax kernels and the spill demo
KERNELS = ["mma.m16n8k16.f16.*", "mma.m16n8k32.e4m3.acc_f32.thr", "softmax.ex2.*", "demo.*"]
ARCHS = ["sm_86", "sm_89"]
MARKS = ("code_from", "code_checked_with")


def _assembled_for(monkeypatch, arch: str) -> list[str]:
    """The kernels ptxas is asked to assemble for `arch` from now on (one item per kernel, alone
    or in a batch)."""
    seen = []
    real = toolchain._run_ptxas

    def counting(ptxas, opts, ptx, target):
        if target == arch:
            seen.extend([ptx] * ptx.count(".entry"))
        return real(ptxas, opts, ptx, target)

    monkeypatch.setattr(toolchain, "_run_ptxas", counting)
    return seen


def _rows(monkeypatch, cache, share: bool):
    monkeypatch.setenv("MMABENCH_CACHE", str(cache))
    specs = creport.select_kernels(KERNELS, all_kernels=True)
    return [b.row for b in creport.compile_builds(specs, ARCHS, jobs=2, share_code=share)]


def test_sm89_takes_sm86_builds_that_equal_its_own(monkeypatch, tmp_path):
    compiled = _rows(monkeypatch, tmp_path / "each", share=False)
    sm89_ptxas = _assembled_for(monkeypatch, "sm_89")
    shared = _rows(monkeypatch, tmp_path / "shared", share=True)
    assert [(r["kernel"], r["arch"]) for r in shared] == [(r["kernel"], r["arch"]) for r in compiled]
    reused = [r for r in shared if r.get("code_from")]
    assert reused and all(r["arch"] == "sm_89" and r["code_from"] == "sm_86" for r in reused)
    for mine, theirs in zip(shared, compiled):      # the installed ptxas: the same rows either way
        assert {k: v for k, v in mine.items() if k not in MARKS} == theirs, mine["kernel"]
    # sm_89's own compiles: the FP8 kernel (not on sm_86) and one check per family
    sm89_ok = [r for r in shared if r["arch"] == "sm_89" and r["status"] == "ok"]
    assert len(sm89_ptxas) == len(sm89_ok) - len(reused)
    checks = {r["code_checked_with"] for r in reused}
    assert len(checks) == len({r["family"] for r in reused})
    assert all(not r.get("code_from") for r in shared if r["kernel"] in checks or "e4m3" in r["kernel"])


def test_a_family_whose_check_differs_is_compiled_for_sm89(monkeypatch, tmp_path):
    monkeypatch.setattr(shared_code, "agree", lambda *a: False)
    sm89_ptxas = _assembled_for(monkeypatch, "sm_89")
    rows = _rows(monkeypatch, tmp_path, share=True)
    assert not any(r.get("code_from") for r in rows)
    assert len(sm89_ptxas) == sum(r["arch"] == "sm_89" and r["status"] == "ok" for r in rows)


def test_a_kernel_whose_ptx_differs_between_the_two_is_compiled(monkeypatch, tmp_path):
    real = shared_code.same_ptx
    monkeypatch.setattr(shared_code, "same_ptx", lambda a, b: "spill_demo" not in a and real(a, b))
    rows = _rows(monkeypatch, tmp_path, share=True)
    demo = [r for r in rows if r["kernel"].startswith("demo.") and r["arch"] == "sm_89"]
    assert demo and not any(r.get("code_from") for r in demo)
    assert any(r.get("code_from") for r in rows if r["kernel"].startswith("mma."))


def test_same_ptx_ignores_only_the_target_line():
    body = ".version 8.0\n.target {}\n.address_size 64\n.visible .entry k() {{ ret; }}\n"
    assert shared_code.same_ptx(body.format("sm_86"), body.format("sm_89"))
    assert not shared_code.same_ptx(body.format("sm_86"), body.format("sm_86").replace("ret", "exit"))


@pytest.mark.parametrize("archs, expected", [
    (["sm_86", "sm_89"], True), (["sm_89"], False), (["sm_80", "sm_89"], False),
    (["sm_86", "sm_89", "sm_90"], True)])
def test_sm89_reuses_only_when_sm86_is_built_too(archs, expected):
    specs = creport.select_kernels(["mma.m16n8k16.f16.acc_f16.lat", "mma.m16n8k32.e4m3.acc_f32.thr"],
                                   all_kernels=True)
    plan = shared_code.reuse_plan(specs, archs, creport.target_for)
    assert plan == ({("mma.m16n8k16.f16.acc_f16.lat", "sm_89"): "sm_86"} if expected else {})


def test_no_attention_kernel_too_large_for_either_is_planned():
    specs = [s for s in registry.all_kernels(["attention"]) if not s.tags.get("diff_only")]
    plan = shared_code.reuse_plan(specs, ["sm_86", "sm_89"], creport.target_for)
    assert plan and all(s.dynamic_smem_bytes <= 99 * 1024 for s in specs if (s.name, "sm_89") in plan)
    assert not any(s.tags.get("kernel") == "hopper" for s in specs if (s.name, "sm_89") in plan)


@pytest.mark.parametrize("extra, reused", [([], True), (["--compile-each"], False)])
def test_regs_says_which_builds_it_took_from_another_architecture(monkeypatch, tmp_path, capsys,
                                                                  extra, reused):
    from mmabench.cli import main

    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path))
    assert main(["regs", "--kernel", "mma.m16n8k16.f16.*", "--arch", "sm_86,sm_89", "--no-save",
                 *extra]) == 0
    out = capsys.readouterr().out
    line = "sm_89: 3 builds are the sm_86 builds (byte-identical code and resources"
    assert (line in out) == reused
    assert "--compile-each compiles them" in out if reused else "sm_86 builds" not in out
