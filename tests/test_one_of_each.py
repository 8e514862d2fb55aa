"""One ptxas log parser, one `Resources`, one disassembly path (issue 8, structure)."""

import pytest

from mmabench.compiler import sass, toolchain
from mmabench.compiler import resources, sassinfo
from mmabench.core.errors import ToolMissing

DEMO = """
.version 7.0
.target sm_80
.address_size 64
.visible .entry twice(.param .u64 p) {
    .reg .u64 %a; .reg .f32 %f;
    ld.param.u64 %a, [p];
    ld.global.f32 %f, [%a];
    add.f32 %f, %f, %f;
    st.global.f32 [%a], %f;
    ret;
}
"""


# A ptxas -v log with two entries, spills and a coded advisory about the one asked for.
LOG = """ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function 'other' for 'sm_90'
ptxas info    : Function properties for other
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 40 registers, used 1 barriers, 380 bytes cmem[0]
ptxas info    : Compiling entry function '{entry}' for 'sm_90'
ptxas info    : Function properties for {entry}
    24 bytes stack frame, 16 bytes spill stores, 8 bytes spill loads
ptxas info    : Used 255 registers, used 1 barriers, 24 bytes cumulative stack size, 400 bytes cmem[0]
ptxas info    : (C7510) Potential Performance Loss: wgmma.mma_async instructions are serialized \
due to wgmma pipeline crossing function boundary at a function call in the function '{entry}'
"""


def test_attention_reads_ptxas_through_the_compiler_parser(monkeypatch):
    from mmabench.attention import build, variants
    v = variants.variant(64, "f32", "f32")
    log = LOG.format(entry=v.entry)
    with monkeypatch.context() as mp:      # ptxas's answer given: what attention makes of it
        mp.setattr(build, "ptx_for", lambda v, arch: "// not compiled")
        mp.setattr(toolchain, "assemble", lambda ptx, arch: toolchain.Assembled(arch, b"", log))
        _, res = build.assemble(v, "sm_90")
    assert res == resources.parse_ptxas_log(log, v.entry, "sm_90")
    assert (res.registers, res.spill_store_bytes, res.spill_load_bytes, res.stack_frame_bytes) == (
        255, 16, 8, 24)
    assert len(res.advised("wgmma serialized")) == 1
    _, res = build.assemble(v, "sm_90")                 # and the kernel itself, through ptxas
    assert isinstance(res, resources.Resources) and res.entry == v.entry and res.arch == "sm_90"
    assert (res.spill_stores, res.spill_loads, res.stack) == (
        res.spill_store_bytes, res.spill_load_bytes, res.stack_frame_bytes)


def test_gemm_reads_ptxas_through_the_compiler_parser():
    from mmabench.gemm import build, variants
    _, res = build.assemble(variants.Variant("f32", "resident"))
    assert isinstance(res, resources.Resources) and (res.entry, res.arch) == ("wgmma_gemm", "sm_90a")
    assert res.registers >= 128 and res.advised("wgmma serialized") == ()


def test_one_disassembler():
    cubin = toolchain.assemble(DEMO, "sm_80").cubin
    text, tool = toolchain.disassemble_with_tool(cubin)
    assert toolchain.disassemble(cubin) == text and tool.startswith("nvdisasm")
    assert sassinfo.Disassembler()(cubin, "sm_80") == (text, tool)


def test_the_reports_disassembler_falls_back_as_the_toolchain_does(no_nvdisasm):
    cubin = toolchain.assemble(DEMO, "sm_80").cubin
    fallback = toolchain.disassemble_with_tool(cubin)
    assert fallback[1].startswith("cuobjdump")
    assert sassinfo.Disassembler()(cubin, "sm_80") == fallback


def test_plain_disassembly_falls_back_to_cuobjdump(monkeypatch, tmp_path, no_nvdisasm):
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path))
    cubin = toolchain.assemble(DEMO, "sm_80").cubin
    text = toolchain.disassemble(cubin)
    instrs, _ = sass.parse(text)
    assert {i.function for i in instrs} == {"twice"}
    assert any(i.base == "FADD" for i in instrs)

    def none_at_all(name):
        raise ToolMissing(f"{name} missing; install it with: pip install nvidia-cuda-nvdisasm")
    monkeypatch.setattr(toolchain, "find_tool", none_at_all)
    with pytest.raises(ToolMissing, match="nvdisasm"):
        toolchain.disassemble(b"\x7fELF not really")


def test_one_cuda_source_path(tmp_path, monkeypatch):
    """attention and gemm render and compile their CUDA C++ through compiler.cuda_source."""
    import re

    from mmabench.compiler import cuda_source

    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path))
    src = tmp_path / "tiny.cu"
    src.write_text('extern "C" __global__ void tiny(float *x) { x[threadIdx.x] = VALUE; }\n')
    text = cuda_source.render(src, "tiny_v", {"VALUE": "2.0f"})
    assert text.startswith('// variant tiny_v\n#define VALUE 2.0f\n#line 1 "tiny.cu"\n')
    ptx = cuda_source.to_ptx(text, "tiny_v", "tiny", "compute_80", (), "7.0")
    assert re.search(r"^\.version 7\.0$", ptx, re.M) and ".entry tiny(" in ptx
    with pytest.raises(toolchain.CompileError, match="entry other missing"):
        cuda_source.to_ptx(text, "tiny_v", "other", "compute_80", (), "7.0")


def test_one_measurement_error_and_one_built_kernel_for_every_instruction_family():
    import dataclasses

    from mmabench.compiler import loader
    from mmabench.core import errors
    from mmabench.instructions import bench as base
    from mmabench.mma import bench as mma_bench
    from mmabench.wgmma import bench as wgmma_bench

    # the instruction base raises Infeasible (a launch shape that does not fit) for both
    assert base.Infeasible is errors.Infeasible and issubclass(base.Infeasible, errors.MeasurementError)
    for bench in (mma_bench, wgmma_bench):
        assert bench.MeasurementError is errors.MeasurementError
        assert issubclass(bench.Built, loader.Built)
        assert "num_regs" not in vars(bench.Built) and "max_blocks_per_sm" not in vars(bench.Built)
        common = [f.name for f in dataclasses.fields(bench.Built)][:5]
        assert common == ["form", "ptx", "kernel", "sass", "per_trip"]
