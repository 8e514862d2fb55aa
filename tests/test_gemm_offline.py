"""The wgmma GEMM without a GPU: NVRTC compile for sm_90a, the SASS each accumulator must show,
no serialized wgmma (C7510), honest registers/spills, registry and CLI; the output check's bound
on simulated f16 / f32 accumulation (numpy)."""

import numpy as np
import pytest

from mmabench.compiler import toolchain
from mmabench.cli import main
from mmabench.core.errors import UserError
from mmabench.gemm import build, offline, validate, variants
from mmabench.gemm.triton_gemm import WGMMA_PTX

VARIANTS = variants.all_variants()


@pytest.mark.parametrize("v", VARIANTS, ids=lambda v: v.name)
def test_variant_compiles_for_sm90a_with_the_meant_wgmma_and_no_serialization(v):
    ptx = build.ptx_for(v)
    assert ".target sm_90a" in ptx and f".version {build.PTX_VERSION}" in ptx
    assert v.ptx_form in ptx
    r = offline.report(v)
    assert r["ok"], r
    assert r["hgmma"].startswith(v.wgmma_opcode)
    assert not r["wgmma_serialized"]
    assert "C7510" not in build.assemble(v)[0].log
    # honest figures: today no variant spills; if one starts to, this says so
    assert r["spill_store_bytes"] == r["spill_load_bytes"] == 0, r
    # the f32 epilogue converts (F2FP pack), the f16 one stores its registers as they are
    assert (r["n_f2fp_pack"] > 0) == (v.acc == "f32")


@pytest.mark.parametrize("mode", [m for m in variants.MODES if m != "tma"])
def test_f16_accumulator_uses_fewer_registers(mode):
    f16 = offline.report(variants.Variant("f16", mode))
    f32 = offline.report(variants.Variant("f32", mode))
    assert f16["registers"] < f32["registers"]
    assert f32["registers"] >= 128     # 128 f32 accumulators per thread for m64n256


def test_descriptor_and_pipeline_in_sass():
    text = toolchain.disassemble(build.assemble(variants.Variant("f32", "pipelined"))[0].cubin)
    # descriptor high word: swizzle mode 1 (128B) in bits 62-63, SBO 1024 B >> 4 = 64
    assert "0x40000040" in text
    assert "WARPGROUP.DEPBAR.LE gsb0, 0x1" in text      # one wgmma group kept in flight
    assert "WARPGROUP.DEPBAR.LE gsb0, 0x0" in text      # drained before the epilogue
    assert "LDGSTS.E.BYPASS.128" in text and "BAR.SYNC" in text
    assert "FENCE.VIEW.ASYNC.S" in text                 # fence.proxy.async before the wgmma
    assert "WARPGROUP.ARRIVE" in text


def test_registry_family_and_diff_acc(tmp_path, capsys):
    from mmabench.compiler.registry import all_kernels

    specs = {s.name: s for s in all_kernels(["gemm"])}
    assert set(specs) == {v.name for v in VARIANTS}
    s = specs["gemm.wgmma.pipelined.acc_f16"]
    assert s.twin == "gemm.wgmma.pipelined.acc_f32" and s.supports("sm_90a") and not s.supports("sm_90")
    assert main(["regs", "--family", "gemm", "--diff", "acc", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "gemm.wgmma.pipelined.acc_f16" in out and "gemm.wgmma.resident.acc_f32" in out


def test_cli_offline_and_bad_input(capsys):
    assert main(["gemm", "--offline", "--mode", "pipelined"]) == 0
    out = capsys.readouterr().out
    assert "HGMMA.64x256x16.F16" in out and "HGMMA.64x256x16.F32" in out and "resident" not in out
    assert main(["gemm", "--size", "1000"]) == 2
    assert "K a multiple of 16" in capsys.readouterr().err
    assert main(["gemm", "--mode", "bogus"]) == 2
    assert "accepted: resident, pipelined, tma" in capsys.readouterr().err
    with pytest.raises(UserError, match="whole tiles"):
        variants.check_shape(128, 256, 100)


def test_triton_ptx_form_is_read():
    ptx = ("wgmma.mma_async.sync.aligned.m64n256k16.f16.f16.f16 {%r1}, %rd1, %rd2, p, 1, 1, 0, 1;\n"
           "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 {%f1}, %rd1, %rd2, p, 1, 1, 0, 1;")
    assert sorted(".".join(m.groups()) for m in WGMMA_PTX.finditer(ptx)) == [
        "m64n128k16.f32.f16.f16", "m64n256k16.f16.f16.f16"]


# ---- the output check, on numpy data --------------------------------------------------------

def _simulate(a, b, acc):
    """C = A.B^T accumulated the way one wgmma per k16 step does: exact k16 dot, then one rounding
    of the accumulator (f16 or f32), then fp16 output."""
    c = np.zeros((a.shape[0], b.shape[0]), dtype=np.float64)
    dtype = np.float16 if acc == "f16" else np.float32
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    for j in range(0, a.shape[1], validate.CHUNK):
        c = (c + a64[:, j:j + 16] @ b64[:, j:j + 16].T).astype(dtype).astype(np.float64)
    return c.astype(np.float16)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    m, n, k = 256, 256, 2048
    a = rng.standard_normal((m, k)).astype(np.float16)
    b = rng.standard_normal((n, k)).astype(np.float16)
    inputs = validate.Inputs(a, b, np.array([0, 1, 37, 130, 255]))
    return inputs, validate.reference(inputs), validate.reference(inputs, resident=True)


@pytest.mark.parametrize("acc", ["f16", "f32"])
def test_check_accepts_the_accumulation_it_models(data, acc):
    inputs, ref, _ = data
    c = _simulate(inputs.a, inputs.b, acc)
    got = validate.check(c, inputs, ref, acc)
    assert got["max_err_over_bound"] <= 1
    if acc == "f16":   # f16 accumulation over K = 2048 is visibly less accurate, yet passes
        assert got["rel_rms_err"] > 1e-4
    np.testing.assert_allclose(ref.exact, inputs.a[inputs.rows].astype(float) @ inputs.b.astype(float).T)


def test_check_rejects_wrong_and_unwritten_outputs(data):
    inputs, ref, resident_ref = data
    good = _simulate(inputs.a, inputs.b, "f16")
    wrong = good.copy()
    wrong[37, 5] = -wrong[37, 5] + np.float16(1)
    with pytest.raises(validate.CheckFailed, match="beyond the bound"):
        validate.check(wrong, inputs, ref, "f16")
    unwritten = good.copy()
    unwritten[200, 3] = np.nan                 # not a sampled row: the NaN scan still sees it
    with pytest.raises(validate.CheckFailed, match="not finite"):
        validate.check(unwritten, inputs, ref, "f16")
    half_k = _simulate(inputs.a[:, :1024], inputs.b[:, :1024], "f32")   # a lost half of K
    with pytest.raises(validate.CheckFailed):
        validate.check(half_k, inputs, ref, "f32")
    with pytest.raises(validate.CheckFailed):   # the real product is not the resident one
        validate.check(_simulate(inputs.a, inputs.b, "f32"), inputs, resident_ref, "f32")


def test_resident_reference_repeats_the_first_k_tile(data):
    inputs, _, resident_ref = data
    k = inputs.a.shape[1]
    first = inputs.a[inputs.rows, :64].astype(float) @ inputs.b[:, :64].astype(float).T
    np.testing.assert_allclose(resident_ref.exact, first * (k // 64), rtol=1e-12)


def test_gemm_problems_are_sizes_then_shapes_and_bad_ones_are_one_line():
    from argparse import Namespace

    from mmabench.core.errors import UserError
    from mmabench.gemm.cli import problems

    assert problems(Namespace(size=None, shape=None)) == [(8192, 8192, 8192)]
    assert problems(Namespace(size="1024,4096", shape="256x8192x8192, 8192x8192x256")) == [
        (1024, 1024, 1024), (4096, 4096, 4096), (256, 8192, 8192), (8192, 8192, 256)]
    for size, shape, says in ((None, "8192x8192", "accepted MxNxK"), ("100", None, "K a multiple of 16"),
                              (None, "64x63x64", "N even"), ("0", None, "integers 16..65536")):
        with pytest.raises(UserError, match=says):
            problems(Namespace(size=size, shape=shape))


def test_sweep_summary_puts_each_problem_in_a_column_beside_cublas():
    from mmabench.gemm.bench import sweep_summary

    rows = []
    for m, n, k, ours, cublas in ((1024, 1024, 1024, 300.0, 400.0), (256, 8192, 8192, 500.0, 500.0)):
        rows += [{"impl": "tma", "key": "tma.128.f32", "acc": "f32", "m": m, "n": n, "k": k, "status": "ok",
                  "tflops": ours},
                 {"impl": "cublas gemmEx", "key": "cublas.gemmEx.f32", "acc": "f32", "m": m, "n": n, "k": k,
                  "status": "ok", "tflops": cublas},
                 {"impl": "wgmma pipelined", "key": "wgmma.pipelined.f32", "acc": "f32", "m": m, "n": n,
                  "k": k, "status": "unsupported" if m == 256 else "ok", "tflops": 200.0}]
    text = sweep_summary(rows)
    assert "1024" in text and "256x8192x8192" in text
    assert "300.0 (0.75)" in text and "500.0 (1.00)" in text and "unsupported" in text
