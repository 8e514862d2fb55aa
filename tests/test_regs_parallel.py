"""The regs report's work plan: the same rows whether compiled serially or by parallel workers,
the SASS columns from batched raw disassembly equal to disassembling each cubin whole, and no
kernel compiled for an architecture the registry says it does not exist on."""

from __future__ import annotations

import pytest

from mmabench.compiler import registry, toolchain
from mmabench.compiler import report as creport

# A small subset across families: mma forms (sm_86 and sm_89 often share code), an FP8 form
# (sm_89+), a wgmma kernel (sm_90a only) and the spill demo.
SUBSET = ["mma.m16n8k16.f16.*", "mma.m16n8k8.f16.acc_f16.thr", "mma.m16n8k32.e4m3.acc_f32.thr",
          "wgmma.m64n256k16.f16.acc_f32.ss.sw128.thr", "demo.*"]
ARCHS = ["sm_80", "sm_86", "sm_89", "sm_90", "sm_120"]


def _rows(monkeypatch, cache, jobs):
    monkeypatch.setenv("MMABENCH_CACHE", str(cache))     # cold, so the workers really compile
    return creport.compile_report(SUBSET, ARCHS, jobs=jobs, all_kernels=True)


def test_parallel_rows_equal_serial_rows(monkeypatch, tmp_path):
    serial = _rows(monkeypatch, tmp_path / "serial", jobs=1)
    parallel = _rows(monkeypatch, tmp_path / "parallel", jobs=4)
    assert [(r["kernel"], r["arch"]) for r in parallel] == [(r["kernel"], r["arch"]) for r in serial]
    assert parallel == serial
    assert sum(r["status"] == "ok" for r in serial) > 20
    assert all("sass_histogram" in r for r in serial if r["status"] == "ok")


def test_batched_sass_columns_equal_whole_cubin_disassembly(monkeypatch, tmp_path):
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path))
    specs = creport.select_kernels(SUBSET, all_kernels=True)
    builds = creport.compile_builds(specs, ARCHS, jobs=2)
    run = creport._Run()
    # the per-cubin path in the report's architecture order (which decodes shared code first)
    by_arch = sorted((b for b in builds if b.row["status"] == "ok"), key=lambda b: ARCHS.index(b.arch))
    for b in by_arch:
        whole = creport.Build(b.spec, b.arch, b.target, {"status": "ok"}, cubin=creport.cubin_of(b))
        creport.add_sass(whole, run)
        assert {k: b.row[k] for k in whole.row} == whole.row, (b.spec.name, b.target)


def test_no_kernel_is_compiled_for_an_architecture_it_does_not_exist_on(monkeypatch, tmp_path):
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path))
    assembled, made_ptx = [], []
    real_ptxas, real_ptx = toolchain._run_ptxas, creport._Run.ptx

    def counting_ptxas(ptxas, opts, ptx, arch):      # alone or in a batch: every kernel
        assembled.extend([arch] * ptx.count(".entry"))
        return real_ptxas(ptxas, opts, ptx, arch)

    def counting_ptx(self, spec, target):
        made_ptx.append((spec.name, target))
        return real_ptx(self, spec, target)

    monkeypatch.setattr(toolchain, "_run_ptxas", counting_ptxas)
    monkeypatch.setattr(creport._Run, "ptx", counting_ptx)
    specs = {s.name: s for s in registry.all_kernels(["mma_fp8", "wgmma"])}
    chosen = ["mma.m16n8k32.e4m3.acc_f16.lat", "wgmma.m64n8k16.f16.acc_f16.ss.nosw.lat"]
    rows = creport.compile_report(chosen, ARCHS, jobs=2, all_kernels=True)
    ok = [(r["kernel"], r["target"]) for r in rows if r["status"] == "ok"]
    assert sorted(made_ptx) == sorted(ok)
    assert len(assembled) == len(ok)
    assert all(specs[k].supports(t) for k, t in ok)
    not_built = {(r["kernel"], r["arch"]) for r in rows if r["status"] == "n/a"}
    assert not_built == {("mma.m16n8k32.e4m3.acc_f16.lat", "sm_80"), ("mma.m16n8k32.e4m3.acc_f16.lat", "sm_86"),
                         *{("wgmma.m64n8k16.f16.acc_f16.ss.nosw.lat", a) for a in ARCHS if a != "sm_90"}}


@pytest.mark.parametrize("count, most, expected", [
    (0, 5, []), (3, 5, [3]), (10, 5, [5, 5]), (11, 5, [4, 4, 3]), (5, 1, [1] * 5), (4, 0, [1] * 4)])
def test_raw_disassembly_pieces_hold_every_word_once(count, most, expected):
    from mmabench.compiler import sassinfo

    items = list(range(count))
    pieces = sassinfo._pieces(items, most)
    assert [len(p) for p in pieces] == expected and [i for p in pieces for i in p] == items


def test_raw_disassembly_calls_are_few_but_several_per_worker():
    from mmabench.compiler import sassinfo

    mb = 1 << 20
    assert sassinfo.chunk_limit(16 * mb, 2) == 16 * mb // 6 + 1          # ~3 calls per worker
    assert sassinfo.chunk_limit(16 * mb, 1) == sassinfo.RAW_CHUNK_MAX_BYTES
    assert sassinfo.chunk_limit(mb, 64) == sassinfo.RAW_CHUNK_MIN_BYTES
