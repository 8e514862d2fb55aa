"""Reading ptxas -v resource reports: real standalone ptxas and NVRTC output, and the traps."""

import pytest

from mmabench.compiler import toolchain
from mmabench.compiler.resources import ResourceLogError, parse_ptxas_log, register_cap_overridden
from mmabench.compiler.demo_kernels import spill_ptx

# Real logs, copied from ptxas 13.0 (standalone) and NVRTC 13.5 (--ptxas-options=-v).
STANDALONE = """\
ptxas info    : Overriding maximum register limit 256 for 'k2' with  32 of maxrregcount option
ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function 'k3' for 'sm_80'
ptxas info    : Function properties for k3
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 8 registers, used 0 barriers, 360 bytes cmem[0]
ptxas info    : Compile time = 5.115 ms
ptxas info    : Compiling entry function 'k2' for 'sm_80'
ptxas info    : Function properties for k2
    64 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 24 registers, used 1 barriers, 64 bytes cumulative stack size, 1024 bytes smem, 360 bytes cmem[0]
ptxas info    : Compile time = 3.520 ms
ptxas info    : Function properties for _Z1fPf
    16 bytes stack frame, 4 bytes spill stores, 4 bytes spill loads
"""

NVRTC = (
    "ptxas info    : Overriding maximum register limit 256 for 'k' with  32 of maxrregcount option\n"
    "ptxas info    : 0 bytes gmem\n"
    "ptxas info    : Compiling entry function 'k2' for 'sm_80'\n"
    "ptxas info    : Function properties for k2\n"
    "ptxas         .     64 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
    "ptxas info    : Used 24 registers, used 1 barriers, 64 bytes cumulative stack size, "
    "1024 bytes smem, 360 bytes cmem[0]\n"
    "ptxas info    : Compile time = 19.006 ms\n"
    "ptxas info    : Function properties for _Z1fPf\n"
    "ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
    "ptxas info    : Compiling entry function 'k' for 'sm_80'\n"
    "ptxas info    : Function properties for k\n"
    "ptxas         .     144 bytes stack frame, 404 bytes spill stores, 408 bytes spill loads\n"
    "ptxas info    : Used 32 registers, used 0 barriers, 144 bytes cumulative stack size, "
    "364 bytes cmem[0]\n"
    "ptxas info    : Compile time = 16.651 ms\n\x00")


def test_standalone_log_every_field():
    r = parse_ptxas_log(STANDALONE, "k2", "sm_80")
    assert (r.registers, r.barriers, r.static_smem_bytes, r.cmem0_bytes) == (24, 1, 1024, 360)
    assert (r.stack_frame_bytes, r.spill_store_bytes, r.spill_load_bytes) == (64, 0, 0)
    assert r.cumulative_stack_bytes == 64 and r.log_format == "ptxas" and not r.spills
    # the callee's spills after k2's block are not k2's
    k3 = parse_ptxas_log(STANDALONE, "k3")
    assert (k3.registers, k3.barriers, k3.static_smem_bytes, k3.stack_frame_bytes) == (8, 0, 0, 0)


def test_nvrtc_log_format():
    k = parse_ptxas_log(NVRTC, "k", "sm_80")
    assert k.log_format == "nvrtc"
    assert (k.registers, k.spill_store_bytes, k.spill_load_bytes, k.stack_frame_bytes) == (32, 404, 408, 144)
    k2 = parse_ptxas_log(NVRTC, "k2")
    assert (k2.registers, k2.barriers, k2.static_smem_bytes) == (24, 1, 1024)


def test_missing_or_foreign_log_is_an_error_never_zero_spills():
    with pytest.raises(ResourceLogError, match="refusing"):
        parse_ptxas_log("", "k")
    with pytest.raises(ResourceLogError, match="k3 \\(sm_80\\)"):
        parse_ptxas_log(STANDALONE, "other_kernel")
    with pytest.raises(ResourceLogError):
        parse_ptxas_log(STANDALONE, "k2", "sm_90")           # compiled for another arch
    truncated = STANDALONE.split("ptxas info    : Used 24")[0]
    with pytest.raises(ResourceLogError, match="Used N registers"):
        parse_ptxas_log(truncated, "k2")


@pytest.mark.parametrize("arch", ["sm_80", "sm_90a", "sm_120"])
def test_real_standalone_ptxas_log(arch, tmp_path, monkeypatch):
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path))
    capped = toolchain.assemble(spill_ptx(), arch, ("-maxrregcount=32",))
    r = parse_ptxas_log(capped.log, "spill_demo", arch)
    assert r.arch == arch and r.registers <= 32
    assert r.spill_store_bytes > 0 and r.spill_load_bytes > 0 and r.stack_frame_bytes > 0
    free = parse_ptxas_log(toolchain.assemble(spill_ptx(), arch).log, "spill_demo", arch)
    assert free.registers > 32 and not free.spills


def test_real_nvrtc_log():
    try:
        from cupy_backends.cuda.libs import nvrtc
        nvrtc.getVersion()
    except Exception as exc:  # pragma: no cover - NVRTC is a dependency
        pytest.skip(f"NVRTC unavailable: {exc}")
    src = r'''
    extern "C" __global__ void hot(float* x, int n) {
        float a[40];
        for (int i = 0; i < 40; i++) a[i] = x[i * n + threadIdx.x];
        for (int j = 0; j < n; j++)
            for (int i = 0; i < 40; i++) a[i] = a[i] * a[(i + 1) % 40] + 1.f;
        for (int i = 0; i < 40; i++) x[i * n + threadIdx.x] = a[i];
    }'''
    prog = nvrtc.createProgram(src, "hot.cu", [], [])
    try:
        nvrtc.compileProgram(prog, ["--gpu-architecture=sm_80", "--ptxas-options=-v",
                                    "--maxrregcount=32"])
        log = nvrtc.getProgramLog(prog)
    finally:
        nvrtc.destroyProgram(prog)
    log = log.decode() if isinstance(log, bytes) else log
    r = parse_ptxas_log(log, "hot", "sm_80")
    assert r.log_format == "nvrtc"
    assert r.registers <= 32 and r.spill_store_bytes > 0


def test_launch_bounds_trap_is_named(tmp_path, monkeypatch):
    """.maxntid (what __launch_bounds__ becomes) makes ptxas ignore -maxrregcount, silently."""
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path))
    bounded = spill_ptx().replace(")\n{", ")\n.maxntid 128, 1, 1\n{", 1)
    assert ".maxntid" in bounded
    note = register_cap_overridden(bounded, "spill_demo", ("-maxrregcount=32",))
    assert note and ".maxntid" in note
    assert register_cap_overridden(spill_ptx(), "spill_demo", ("-maxrregcount=32",)) is None
    assert register_cap_overridden(bounded, "spill_demo", ()) is None
    # the premise, on the real ptxas: with the directive the cap does not apply
    r = parse_ptxas_log(toolchain.assemble(bounded, "sm_80", ("-maxrregcount=32",)).log,
                        "spill_demo", "sm_80")
    assert r.registers > 32 and not r.spills


# A wgmma whose pipeline crosses a (non-inlined) call, and a setmaxnreg ptxas cannot honour.
ADVISED = """
.version 8.0
.target sm_90a
.address_size 64
.func (.reg .f32 r) mm(.reg .b64 d)
{
  .reg .f32 %f<4>;
  mov.f32 %f0, 0f00000000; mov.f32 %f1, 0f00000000; mov.f32 %f2, 0f00000000; mov.f32 %f3, 0f00000000;
  wgmma.fence.sync.aligned;
  wgmma.mma_async.sync.aligned.m64n8k16.f32.f16.f16 {%f0,%f1,%f2,%f3}, d, d, 1, 1, 1, 0, 0;
  wgmma.commit_group.sync.aligned;
  wgmma.wait_group.sync.aligned 0;
  add.f32 r, %f0, %f3;
  ret;
}
.visible .entry k(.param .u64 p)
{
  .reg .b64 %d<2>; .reg .f32 %f<2>;
  ld.param.u64 %d1, [p];
  setmaxnreg.inc.sync.aligned.u32 240;
  call.uni (%f1), mm, (%d1);
  st.global.f32 [%d1], %f1;
  ret;
}
"""


def test_advisories_of_the_real_ptxas_are_read_as_data(tmp_path, monkeypatch):
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path))
    log = toolchain.assemble(ADVISED, "sm_90a").log
    r = parse_ptxas_log(log, "k", "sm_90a")
    (serialized,) = r.advised("wgmma serialized")
    assert serialized.startswith("(C7510)") and "'k'" in serialized
    (ignored,) = r.advised("setmaxnreg ignored")
    assert ignored.startswith("(C7508)")
    # an advisory that names another function is not this entry's
    other = log.replace("in the function 'k'", "in the function 'k_other'")
    assert parse_ptxas_log(other, "k", "sm_90a").advised("wgmma serialized") == ()
    # a clean kernel has none
    assert parse_ptxas_log(toolchain.assemble(spill_ptx(), "sm_90a").log, "spill_demo").advisories == ()


def test_every_serialization_cause_counts_whatever_its_code():
    """ptxas gives each cause of a serialized wgmma pipeline its own code; C7515 (a non-wgmma
    instruction writing the accumulator, as Triton 3.6's NT f32 GEMM triggers) is one of them."""
    log = ("ptxas info    : (C7515) Potential Performance Loss: wgmma.mma_async instructions are "
           "serialized due to non wgmma instructions defining accumulator registers of a wgmma between "
           "start and end of the pipeline stage in the function 'k'\n"
           "ptxas info    : Compiling entry function 'k' for 'sm_90a'\n"
           "ptxas info    : Function properties for k\n"
           "    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
           "ptxas info    : Used 175 registers, used 1 barriers\n")
    r = parse_ptxas_log(log, "k", "sm_90a")
    assert r.advised("wgmma serialized")[0].startswith("(C7515)")
    assert r.advised("setmaxnreg ignored") == ()
