"""Kernels assembled by one ptxas start (compiler/ptx_batch.py, toolchain.assemble_many): the same
code and resource report per kernel as compiling each alone, and a kernel compiled alone
wherever the batch could not tell it apart."""

from __future__ import annotations

import pytest

from mmabench.compiler import ptx_batch, registry, toolchain
from mmabench.compiler import report as creport
from mmabench.compiler.resources import parse_ptxas_log

HEADER = ".version 8.0\n.target sm_80\n.address_size 64\n"


def _kernel(entry: str, extra: str = "", body: str = "") -> str:
    return (f"// a comment naming {entry}\n{HEADER}{extra}"
            f".visible .entry {entry}(\n    .param .u64 out\n)\n.maxntid 32, 1, 1\n{{\n"
            "    .reg .b64 %rd<3>;\n    .reg .b32 %r<3>;\n"
            f"    ld.param.u64 %rd1, [out];\n    mov.u32 %r1, 7;\n{body}"
            "    st.global.u32 [%rd1], %r1;\n$done:\n    ret;\n}\n")


SHARED = ".shared .align 16 .b8 tile[256];\n"
USES_TILE = "    mov.u32 %r2, tile;\n    st.shared.u32 [%r2], %r1;\n"


# ---- reading and joining modules (no ptxas) ------------------------------------------------

def test_a_module_names_its_functions_and_variables():
    module = ptx_batch.module_of(_kernel("k", SHARED + ".global .align 4 .u32 unused = 3;\n"
                                         ".extern .shared .align 16 .b8 dyn[];\n", USES_TILE))
    assert module.header == HEADER.strip()
    assert module.names == ("tile", "unused", "dyn", "k")
    assert "a comment" not in module.body


@pytest.mark.parametrize("extra, body", [
    (".global .align 4 .u32 g = 3;\n", "    ld.global.u32 %r2, [g];\n"),     # a global in use
    (".const .align 4 .u32 c = 3;\n", "    ld.const.u32 %r2, [c];\n"),      # a constant in use
    (".global .u32 a, b;\n", ""),                                            # two names at once
    ('.file 1 "k.cu"\n', ""),                                                # debug information
])
def test_a_module_the_batch_cannot_keep_apart_is_refused(extra, body):
    assert ptx_batch.module_of(_kernel("k", extra, body)) is None


def test_joined_modules_keep_each_kernels_names_apart():
    first = ptx_batch.module_of(_kernel("k", SHARED, USES_TILE))
    second = ptx_batch.module_of(_kernel("k", SHARED + ".shared .b8 tile_b[16];\n", USES_TILE))
    text = ptx_batch.join([first, second])
    assert text.count(".version") == 1
    for i in (0, 1):
        assert f".entry k__mmb{i}(" in text and f"tile__mmb{i}[256]" in text
        assert f"mov.u32 %r2, tile__mmb{i};" in text
    assert "tile_b__mmb1[16]" in text and "$done:" in text and "tile_b__mmb0" not in text
    other = ptx_batch.module_of(_kernel("k").replace("sm_80", "sm_86"))
    with pytest.raises(ValueError):
        ptx_batch.join([first, other])


def test_a_log_line_that_names_no_kernel_makes_every_kernel_compile_alone():
    modules = [ptx_batch.module_of(_kernel("k")), ptx_batch.module_of(_kernel("k"))]
    log = ("ptxas info    : Compiling entry function 'k__mmb0' for 'sm_80'\n"
           "ptxas info    : Function properties for k__mmb0\n"
           "    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
           "ptxas info    : Used 8 registers, used 0 barriers\n"
           "ptxas warning : something about the module\n")
    assert ptx_batch.split(b"", log, modules) == [None, None]


# ---- on the installed ptxas ----------------------------------------------------------------

# every family, hand-written PTX and NVRTC output
SAMPLE = [("mma.m16n8k16.f16.*", "sm_80"), ("mma.m16n8k16.f16.*", "sm_120"),
          ("softmax.ex2.*", "sm_90"), ("mma.m16n8k32.e4m3.*", "sm_89"),
          ("wgmma.m64n64k16.f16.acc_f*.ss.sw128.*", "sm_90a"),
          ("attn_d64_sf16_of*_delayed_*", "sm_86"), ("hopper_d64_sf16q_of*", "sm_90a"),
          ("gemm.wgmma.*", "sm_90a")]


@pytest.mark.parametrize("pattern, target", SAMPLE)
def test_a_kernel_assembled_in_a_batch_is_the_kernel_assembled_alone(pattern, target, monkeypatch,
                                                                       tmp_path):
    specs = [s for s in creport.select_kernels([pattern], all_kernels=True) if s.supports(target)]
    assert len(specs) >= 2 and all(not s.ptxas_options for s in specs)
    _check_batch_equals_alone(monkeypatch, tmp_path, [(s.entry, s.ptx(target)) for s in specs],
                              target, ())


def test_ptxas_options_and_their_notes_reach_each_kernel_of_a_batch(monkeypatch, tmp_path):
    (spec,) = creport.select_kernels(["demo.spill.cap32"], all_kernels=True)
    assert spec.ptxas_options
    ptx = spec.ptx("sm_86")
    resources = _check_batch_equals_alone(monkeypatch, tmp_path, [(spec.entry, ptx)] * 3, "sm_86",
                                          tuple(spec.ptxas_options))
    assert resources.registers <= 32 and resources.spills


def _check_batch_equals_alone(monkeypatch, tmp_path, kernels, target, options):
    """Assembled alone and in batches: the same code and resource report for every kernel; one
    ptxas start per PTX header, a kernel alone in its header compiled alone."""
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path / "alone"))
    alone = [toolchain.assemble(ptx, target, options) for _, ptx in kernels]
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path / "batch"))
    starts = _count_ptxas_starts(monkeypatch)
    batched = toolchain.assemble_many([ptx for _, ptx in kernels], target, options)
    headers = [ptx_batch.module_of(ptx).header for _, ptx in kernels]
    assert len(starts) == len(set(headers))
    for (entry, _), header, one, many in zip(kernels, headers, alone, batched):
        assert bool(many.batched_code) == (headers.count(header) > 1)
        assert many.code == one.code, entry
        resources = parse_ptxas_log(many.log, entry, target)
        assert resources == parse_ptxas_log(one.log, entry, target), entry
    return resources


def _count_ptxas_starts(monkeypatch) -> list[int]:
    starts = []
    real = toolchain._run_ptxas

    def counting(ptxas, opts, ptx, arch):
        starts.append(ptx.count(".entry"))
        return real(ptxas, opts, ptx, arch)

    monkeypatch.setattr(toolchain, "_run_ptxas", counting)
    return starts


def test_a_broken_kernel_fails_alone_and_the_others_are_built(monkeypatch, tmp_path):
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path))
    good = [_kernel("a", SHARED, USES_TILE), _kernel("b")]
    broken = _kernel("c", body="    not.an.instruction %r1;\n")
    result = toolchain.assemble_many([good[0], broken, good[1]], "sm_80")
    assert isinstance(result[1], toolchain.CompileError) and "ptxas sm_80 failed" in str(result[1])
    for asm, entry in ((result[0], "a"), (result[2], "b")):
        assert parse_ptxas_log(asm.log, entry, "sm_80").registers > 0
    assert parse_ptxas_log(result[0].log, "a", "sm_80").static_smem_bytes == 256


def test_batched_builds_are_cached_per_kernel(monkeypatch, tmp_path):
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path))
    kernels = [_kernel("a", SHARED, USES_TILE), _kernel("b"), _kernel("c")]
    first = toolchain.assemble_many(kernels, "sm_80")
    starts = _count_ptxas_starts(monkeypatch)
    again = toolchain.assemble_many(kernels[:2], "sm_80")       # another batch, same kernels
    assert starts == [] and [a.code for a in again] == [a.code for a in first[:2]]
    assert [a.log for a in again] == [a.log for a in first[:2]]
    own = toolchain.assemble(kernels[0], "sm_80")                # a whole cubin: compiled alone
    assert starts == [1] and own.cubin and own.code == first[0].code


def test_the_report_rows_are_the_same_with_and_without_batches(monkeypatch, tmp_path):
    specs = creport.select_kernels(["mma.m16n8k16.*", "softmax.ex2.*"], all_kernels=True)
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path / "batched"))
    batched = [b.row for b in creport.compile_builds(specs, ["sm_80", "sm_90"], jobs=2)]
    monkeypatch.setattr(creport, "CHUNK_MAX", 1)                 # one kernel per ptxas start
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path / "alone"))
    alone = [b.row for b in creport.compile_builds(specs, ["sm_80", "sm_90"], jobs=2)]
    assert batched == alone and sum(r["status"] == "ok" for r in alone) >= 8


def test_work_chunks_keep_one_family_and_architecture_and_every_pair_once():
    specs = [s for s in registry.all_kernels(["mma", "softmax"])][:8]
    pairs = [(s, a) for a in ("sm_80", "sm_86") for s in specs]
    for jobs in (1, 2, 64):
        chunks = creport.work_chunks(pairs, jobs)
        assert [p for c in chunks for p in c] == pairs
        assert all(len({(s.family, a) for s, a in c}) == 1 for c in chunks)
        assert max(map(len, chunks)) <= creport.CHUNK_MAX
    assert len(creport.work_chunks(pairs, 64)) == len(pairs)      # many workers: one pair each


def test_work_chunks_shrink_towards_the_end_so_that_workers_finish_together():
    (spec,) = registry.all_kernels(["mma"])[:1]
    sizes = [len(c) for c in creport.work_chunks([(spec, "sm_80")] * 200, 2)]
    assert sizes[0] == creport.CHUNK_MAX and sizes[-1] == 1 and sum(sizes) == 200
    assert sizes == sorted(sizes, reverse=True)


def test_the_driver_crosscheck_gets_each_kernels_own_cubin(monkeypatch, tmp_path):
    """A batched build has no cubin of its own; what the driver loads is the kernel compiled alone."""
    from mmabench import hardware
    from mmabench.compiler import crosscheck

    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(hardware, "require_gpu", lambda: None)
    monkeypatch.setattr(hardware, "device_arch", lambda: "sm_86")
    loaded = []

    def driver_attributes(cubin, entry, threads, smem):
        loaded.append(cubin)
        return {}

    monkeypatch.setattr(crosscheck, "driver_attributes", driver_attributes)
    monkeypatch.setattr(creport, "CHUNKS_PER_WORKER", 1)          # all four in one chunk
    starts = _count_ptxas_starts(monkeypatch)
    specs = creport.select_kernels(["mma.m16n8k16.f16.*"], all_kernels=True)
    rows = crosscheck.crosscheck(specs, jobs=1)
    assert len(rows) == len(loaded) == len(specs) == 4
    assert starts == [4, 1, 1, 1, 1]                # the batch, then each alone for the driver
    for spec, cubin in zip(specs, loaded):
        own = toolchain.assemble(spec.ptx("sm_86"), "sm_86", tuple(spec.ptxas_options))
        assert cubin == own.cubin


def test_a_kernel_with_a_device_function_keeps_its_whole_report_in_a_batch(monkeypatch, tmp_path):
    """The callee's own 'Function properties' lines and a warning that names the entry go to
    that kernel, as its own compile reports them."""
    helper = (".func (.param .b32 out) down(.param .b32 x)\n{\n    .reg .pred %p;\n"
              "    .reg .b32 %t<3>;\n    ld.param.b32 %t1, [x];\n    setp.eq.s32 %p, %t1, 0;\n"
              "    @%p bra $end;\n    sub.s32 %t2, %t1, 1;\n    { .param .b32 y; .param .b32 r;\n"
              "    st.param.b32 [y], %t2; call.uni (r), down, (y); }\n$end:\n"
              "    st.param.b32 [out], %t1;\n    ret;\n}\n")
    calls = ("    { .param .b32 y; .param .b32 r; st.param.b32 [y], %r1;\n"
             "    call.uni (r), down, (y); ld.param.b32 %r2, [r]; }\n    add.s32 %r1, %r1, %r2;\n")
    kernels = [("k", _kernel("k", helper, calls)), ("b", _kernel("b"))]
    resources = _check_batch_equals_alone(monkeypatch, tmp_path, kernels, "sm_80", ())
    assert resources.entry == "b"
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path / "batch"))
    (recursive, _) = toolchain.assemble_many([ptx for _, ptx in kernels], "sm_80")   # cached
    assert "Function properties for down" in recursive.log and recursive.batched_code
    assert any("statically determined" in n for n in parse_ptxas_log(recursive.log, "k", "sm_80").notes)
