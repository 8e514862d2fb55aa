"""The wgmma GEMM on a real Hopper GPU: exact results on small integers (proves descriptors,
swizzle and accumulator layout against the hardware), random data within the float64 bound, and
a smoke run of the whole comparison (Triton, cuBLAS) at a small size."""

import numpy as np
import pytest

from mmabench import hardware
from mmabench.gemm import validate, variants
from mmabench.gemm.bench import QUICK_POLICY, run, summary, wgmma_once

pytestmark = pytest.mark.gpu


def _hopper():
    if hardware.device_arch() != "sm_90":
        pytest.skip("wgmma needs an sm_90 GPU")


def _operand(v, x: np.ndarray):
    """x (fp16 values an e4m3 holds exactly, for an FP8 variant) on the GPU as the variant takes
    it: fp16, or e4m3 bytes as uint8."""
    import cupy

    if not v.fp8:
        return cupy.asarray(x)
    import torch

    return cupy.from_dlpack(torch.from_numpy(x).cuda().to(torch.float8_e4m3fn).view(torch.uint8))


@pytest.mark.parametrize("v", variants.all_variants(), ids=lambda v: v.name)
@pytest.mark.parametrize("shape", [(256, 512, 256), (384, 768, 512)])
def test_integer_data_gives_the_exact_product(v, shape):
    """|C| <= 2*2*K = 2048 at K=512: every partial sum is an integer exact in f16 and f32."""

    _hopper()
    m, n, k = shape
    rng = np.random.default_rng(7)
    a = rng.integers(-2, 3, (m, k)).astype(np.float16)
    b = rng.integers(-2, 3, (n, k)).astype(np.float16)
    c = wgmma_once(v, _operand(v, a), _operand(v, b)).get().astype(np.float64)
    if v.resident:
        want = (a[:, :64].astype(np.float64) @ b[:, :64].astype(np.float64).T) * (k // 64)
    else:
        want = a.astype(np.float64) @ b.astype(np.float64).T
    assert np.abs(want).max() <= 2048
    np.testing.assert_array_equal(c, want)


@pytest.mark.parametrize("v", variants.all_variants(), ids=lambda v: v.name)
def test_random_data_within_the_documented_bound(v):
    _hopper()
    inputs = validate.make_inputs(512, 512, 2048, seed=3)
    if v.fp8:   # the same values rounded to e4m3, against the float64 product of the rounded ones
        import torch

        from mmabench.gemm.bench import _fp8_operands

        fp8, why = _fp8_operands(inputs, torch.from_dlpack(inputs.a), torch.from_dlpack(inputs.b))
        assert fp8 is not None, why
        got = validate.check(wgmma_once(v, fp8.inputs.a, fp8.inputs.b), inputs, fp8.reference, "fp8")
        assert got["max_err_over_bound"] <= 1 and got["rel_rms_err"] < 5e-3
        return
    ref = validate.reference(inputs, resident=v.resident)
    c = wgmma_once(v, inputs.a, inputs.b)
    got = validate.check(c, inputs, ref, v.acc)
    assert got["max_err_over_bound"] <= 1
    # f16 accumulation is less accurate than f32, measurably
    assert got["rel_rms_err"] < (5e-3 if v.acc == "f16" else 5e-4)


TMA = [v for v in variants.all_variants() if v.tma]


@pytest.mark.parametrize("v", TMA, ids=lambda v: v.name)
@pytest.mark.parametrize("shape", [(1000, 1000, 1000), (77, 514, 72), (300, 2050, 8),
                                   (4000, 4352, 200)])   # more tiles than SMs: persistent loops
def test_tma_kernel_is_exact_on_shapes_that_are_not_tile_multiples(v, shape):
    """TMA zero-fills the boxes past M, N and K; the epilogue stores only inside C (the poison
    around it would show any stray store as a wrong or NaN element)."""

    _hopper()
    m, n, k = shape
    k = -(-k // (v.bk // 8)) * (v.bk // 8)      # TMA rows of 16 bytes: K a multiple of 8 fp16, 16 e4m3
    if v.store_c:
        n = -(-n // 8) * 8                       # the TMA store writes 16-byte rows of C
    rng = np.random.default_rng(11)
    a = rng.integers(-2, 3, (m, k)).astype(np.float16)
    b = rng.integers(-2, 3, (n, k)).astype(np.float16)
    c = wgmma_once(v, _operand(v, a), _operand(v, b)).get().astype(np.float64)
    np.testing.assert_array_equal(c, a.astype(np.float64) @ b.astype(np.float64).T)


def test_tma_gemm_refuses_a_shape_tma_cannot_read_in_one_line():
    import cupy

    from mmabench.core.errors import UserError

    _hopper()
    a, b = cupy.zeros((128, 100), cupy.float16), cupy.zeros((256, 100), cupy.float16)
    with pytest.raises(UserError, match="K=100"):
        wgmma_once(TMA[0], a, b)


def test_comparison_smoke(tmp_path):
    folder, rows = run(1024, policy=QUICK_POLICY, results_root=tmp_path, seed=1)
    by = {r["key"]: r for r in rows}
    text = summary(rows)
    assert "f16/f32 speed" in text
    for key in ("cublas.gemmEx.f16", "cublas.gemmEx.f32"):
        assert by[key]["status"] == "ok", by[key]
        assert by[key]["tflops"] > 0
    assert by["cublas.gemmEx.f16"]["f16_over_f32"] > 0
    for key, r in by.items():
        assert r["status"] in ("ok", "unavailable", "unsupported"), (key, r["error"])
    if hardware.device_arch() == "sm_90":
        r16, r32 = by["wgmma.pipelined.f16"], by["wgmma.pipelined.f32"]
        assert r16["tensor_op"].startswith("HGMMA.64x256x16.F16") and r32["tensor_op"].startswith("HGMMA.64x256x16.F32")
        assert r16["registers"] < r32["registers"]
        assert r16["f16_over_f32_lo"] <= r16["f16_over_f32"] <= r16["f16_over_f32_hi"]
        for tag in ("128", "128.persistent", "128.ctma", "128.persistent.ctma", "pingpong", "128.mc2",
                    "128.ctma.mc2"):
            for key in (f"tma.{tag}.f32", f"tma.{tag}.f16"):
                assert by[key]["status"] == "ok" and by[key]["tflops"] > 0, by[key]
        assert by["tma.256.f16"]["f16_over_f32"] > 0       # against the f32 128-row tile
        assert by["tma.256.persistent.f16"]["f16_over_f32"] > 0
        assert by["tma.pingpong.f16"]["f16_over_f32"] > 0    # against the f32 ping-pong (64-row tiles)
        for key in ("tma.e4m3.128x256.f32", "tma.e4m3.128x256.f16", "tma.e4m3.256x256.f16",
                    "tma.e4m3.128x128.promote.f32"):
            assert by[key]["status"] == "ok" and by[key]["tflops"] > 0, by[key]
            assert by[key]["tensor_op"].startswith("QGMMA.64x")
    first = "triton-nn.128x256x64.w8s3"
    if f"{first}.f16" in by:
        for layout in ("nn", "nt"):
            r16, r32 = by[f"triton-{layout}.128x256x64.w8s3.f16"], by[f"triton-{layout}.128x256x64.w8s3.f32"]
            assert r16["status"] == r32["status"] == "ok", (r16["error"], r32["error"])
            assert ".f16.f16.f16" in r16["ptx_wgmma"] and r16["registers"] < r32["registers"]
            # what Triton built: the f16 accumulator's wgmma is waited for in every K step
            assert r16["pipeline"] == "drained" and r16["ttgir_dot_wait_pendings"] == "0"
    else:
        assert {by[f"triton-{lay}.{acc}"]["status"] for lay in ("nn", "nt") for acc in ("f16", "f32")} == {"unavailable"}
    fp8 = [by["cublaslt.fp8.promoted"], by["cublaslt.fp8.fast"]]
    if hardware.device_arch() in ("sm_89", "sm_90"):
        for r in fp8:
            assert r["status"] == "ok" and r["tflops"] > 0, r["error"]
        assert fp8[0]["rel_rms_err"] <= fp8[1]["rel_rms_err"] * 1.5   # promotion is not less accurate
    assert (folder.path / "gemm.csv").exists()
