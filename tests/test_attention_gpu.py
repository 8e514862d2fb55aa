"""Attention on the GPU: every variant against the float64 reference, fresh inputs, poisoned
output; bad input refused before any launch. Skipped without a GPU."""

import numpy as np
import pytest

from mmabench.core.errors import UserError

pytestmark = pytest.mark.gpu

SEQS = [1, 17, 128, 1000, 4096]


def _normal_f16(rng, shape):
    """Standard normal fp16 values from the test's generator (host memory)."""
    return rng.standard_normal(shape, dtype=np.float32).astype(np.float16)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("dim", [64, 128, 256])
def test_f32_variants_meet_flashattention_rule(dim, causal, seed):
    from mmabench.attention import selfcheck, variants
    vs = [v for v in variants.all_variants(dims=(dim,)) if v.is_reference_acc]
    rows = selfcheck.correctness(vs, seqs=SEQS, causal_modes=(causal,), seed=seed)
    bad = [(r["variant"], r["seq"], r["error"]) for r in rows if r["status"] != "ok"]
    assert not bad
    for r in rows:   # the rule, restated: <= 2 x PyTorch fp16's error + 1e-4
        assert r["max_abs_err"] <= 2 * r["yard_max_abs_err"] + 1e-4


@pytest.mark.parametrize("dim", [64, 128, 256])
def test_f16_variants_are_finite_within_the_documented_bound(dim, seed):
    from mmabench.attention import selfcheck, variants
    vs = [v for v in variants.all_variants(dims=(dim,)) if not v.is_reference_acc]
    rows = selfcheck.correctness(vs, seqs=[17, 1000, 4096], seed=seed)
    bad = [(r["variant"], r["seq"], r["causal"], r["error"]) for r in rows if r["status"] != "ok"]
    assert not bad
    assert all(r["nonfinite_all"] == 0 for r in rows)


@pytest.mark.parametrize("smem_kib", [163, 99], ids=["sm80-limit", "sm86-89-limit"])
def test_tiles_cut_for_smaller_gpus_are_correct(smem_kib, seed):
    """The tiles a GPU with less shared memory per block runs (A100: 163 KiB, Ada/Ampere
    consumer: 99 KiB) are checked here, on the GPU at hand, with the same rule."""
    from mmabench.attention import selfcheck, variants
    cut = {}
    for v in variants.all_variants():
        f = variants.fit(v, smem_kib * 1024)
        if f is not v:
            cut.setdefault((f.dim, f.acc_s, f.acc_o, f.tiles), f)
    assert cut
    rows = selfcheck.correctness(list(cut.values()), seqs=[17, 1000], seed=seed)
    bad = [(r["variant"], r["seq"], r["error"]) for r in rows if r["status"] != "ok"]
    assert not bad
    for r in rows:
        if r["variant"].split("_")[2:4] == ["sf32", "of32"]:
            assert r["max_abs_err"] <= 2 * r["yard_max_abs_err"] + 1e-4


def test_unwritten_output_cannot_pass(rng):
    """The check poisons the output: a launcher that writes nothing fails it."""
    import cupy
    from mmabench.attention import bench, build, variants
    from mmabench.attention.launch import Launcher
    from mmabench.attention.reference import default_scale

    case = bench.Case(64, 100, False, 1, 2)
    q, k, v = bench.random_inputs(case.shape, rng)
    ref = bench.Reference(q, k, v, False, default_scale(64), 2, rng)
    out = cupy.empty_like(q)
    real = Launcher(build.load(variants.variant(64, "f32", "f32")), q, k, v, out, False)
    m, err = bench.check_variant(real, ref, real.loaded.variant)
    assert err is None

    class Idle:
        def __init__(self, inner):
            self.out = inner.out

        def __call__(self):
            pass

    m, err = bench.check_variant(Idle(real), ref, real.loaded.variant)
    assert err and "inf/NaN" in err


def test_wrong_answer_is_caught(rng):
    """Inputs swapped after the reference was taken: the check must fail, not pass."""
    import cupy
    from mmabench.attention import bench, build, variants
    from mmabench.attention.launch import Launcher
    from mmabench.attention.reference import default_scale

    case = bench.Case(128, 300, True, 1, 2)
    q, k, v = bench.random_inputs(case.shape, rng)
    ref = bench.Reference(q, k, v, True, default_scale(128), 2, rng)
    out = cupy.empty_like(q)
    wrong = Launcher(build.load(variants.variant(128, "f32", "f32")), q, k, v, out, False)  # not causal
    _, err = bench.check_variant(wrong, ref, wrong.loaded.variant)
    assert err and "max abs error" in err


def test_public_entry_takes_torch_and_cupy_and_refuses_bad_input(rng):
    import cupy
    from mmabench.attention import attention
    from mmabench.attention.reference import attention_f64

    q, k, v = (cupy.asarray(_normal_f16(rng, (1, 2, 33, 64))) for _ in range(3))
    out = attention(q, k, v, causal=True)
    ref = attention_f64(q, k, v, causal=True)
    assert float(cupy.abs(out.astype(cupy.float64) - ref).max()) < 5e-3
    with pytest.raises(UserError, match="float16"):
        attention(q.astype(cupy.float32), k, v)
    with pytest.raises(UserError, match="contiguous"):
        attention(q.transpose(0, 2, 1, 3), k.transpose(0, 2, 1, 3), v.transpose(0, 2, 1, 3))
    with pytest.raises(UserError, match="head dim"):
        z = cupy.zeros((1, 1, 8, 96), cupy.float16)
        attention(z, z, z)
    with pytest.raises(UserError, match="CuPy array or a CUDA torch tensor"):
        h = np.zeros((1, 1, 8, 64), np.float16)
        attention(h, h, h)
    torch = pytest.importorskip("torch")
    tq, tk, tv = (torch.from_numpy(_normal_f16(rng, (1, 2, 33, 128))).cuda() for _ in range(3))
    to = attention(tq, tk, tv)
    expect = torch.nn.functional.scaled_dot_product_attention(tq.double(), tk.double(), tv.double())
    assert isinstance(to, torch.Tensor) and float((to.double() - expect).abs().max()) < 5e-3


def test_benchmark_rows_carry_context_and_figures(tmp_path, seed):
    from mmabench.attention import bench, variants
    vs = [variants.variant(64, "f32", "f32"), variants.variant(64, "f16q", "f16")]
    from mmabench.measure import QUICK
    folder, rows = bench.run(vs, bench.cases([64], [512], [True], tokens=1024), seed=seed,
                             results_root=tmp_path, policy=QUICK, save_code=False)
    ours = [r for r in rows if r["impl"] == "mmabench"]
    # the two variants, plus the f16 one at the f32/f32 tiles when its tuned tiles differ
    assert len(ours) in (2, 3) and all(r["status"] == "ok" and r["tflops"] > 0 for r in ours)
    for r in ours:
        assert r["timing_mode"] == "batch" and r["samples"] >= QUICK.rounds
        assert r["sm_clock_mhz"] > 100 and r["sm_clock_source"] == "nvml"
        assert r["power_w"] > 10 and r["flop_per_clk_per_sm"] > 0
        key = "x_vs_f32f32_same_tiles" if r["variant"].endswith(bench.SAME_TILES) else "x_vs_f32f32"
        assert r[key + "_lo"] <= r[key] <= r[key + "_hi"]
        assert r[key + "_rounds"] == QUICK.rounds
    assert all(r["gpu_name"] and r["git_commit"] is not None for r in folder.rows)
    assert (folder.path / "attention.csv").exists()


def test_sustained_rows_each_carry_their_own_contenders_conditions(tmp_path, seed):
    """Sustained: every contender's row has its own power over its own >= 200 ms blocks (no row
    shows another row's reading), its temperature, and the regime in words."""
    from mmabench import measure
    from mmabench.attention import bench, variants
    vs = [variants.variant(64, "f32", "f32"), variants.variant(64, "f16q", "f16")]
    policy = measure.in_regime(measure.QUICK, "sustained")
    _, rows = bench.run(vs, bench.cases([64], [2048], [False], tokens=8192), seed=seed,
                        results_root=tmp_path, policy=policy, save_code=False)
    timed = [r for r in rows if r.get("status") == "ok"]
    assert len(timed) >= 2
    for r in timed:
        assert r["regime"] == "sustained" and r["samples"] == 5
        assert "settle" in r["regime_detail"] and r["temperature_c"] > 0
        # NVML_FI_DEV_POWER_INSTANT samples of its own blocks, else the energy counter's slope
        assert r["power_source"].startswith(("instant power samples", "energy counter"))
        assert r["power_w"] > 10 and r["sample_ms"] >= 200 and r["nvml_samples"] >= 5
    assert len({r["power_w"] for r in timed}) == len(timed)


def test_misaligned_view_is_refused_and_the_context_survives(rng):
    """A contiguous view 2 bytes past a 16-byte boundary used to fault ('misaligned address')
    and take the process's CUDA context with it; it must be refused before the launch, and
    the GPU must still work afterwards."""
    import cupy
    from mmabench.attention import attention, build, variants
    from mmabench.attention.launch import Launcher
    from mmabench.attention.reference import attention_f64

    shape = (1, 2, 64, 64)
    n = int(np.prod(shape))
    base = cupy.asarray(_normal_f16(rng, n + 8))
    bad = base[1:1 + n].reshape(shape)
    assert bad.flags.c_contiguous and bad.data.ptr % 16 == 2
    good = [cupy.asarray(_normal_f16(rng, shape)) for _ in range(3)]
    for i in range(3):
        args = list(good)
        args[i] = bad
        with pytest.raises(UserError, match="2 bytes past a 16-byte boundary"):
            attention(*args)
    with pytest.raises(UserError, match="out starts 2 bytes past"):
        attention(*good, out=bad)
    with pytest.raises(UserError, match="2 bytes past"):
        Launcher(build.load(variants.variant(64, "f32", "f32")), good[0], good[1], good[2], bad, False)
    out = attention(*good)                         # the context is intact: a real launch works
    cupy.cuda.runtime.deviceSynchronize()
    ref = attention_f64(*good)
    assert float(cupy.abs(out.astype(cupy.float64) - ref).max()) < 5e-3
    aligned = bad.copy()                           # the remedy the message names
    assert aligned.data.ptr % 16 == 0 and attention(aligned, good[1], good[2]).shape == shape
    torch = pytest.importorskip("torch")
    tb = torch.from_numpy(_normal_f16(rng, n + 8)).cuda()
    tview = tb[1:1 + n].view(*shape)
    assert tview.is_contiguous() and tview.data_ptr() % 16 == 2
    with pytest.raises(UserError, match="2 bytes past"):
        attention(tview, tview, tview)
    torch.cuda.synchronize()


def test_loaded_occupancy_uses_the_devices_warps_per_sm():
    """Not 64 assumed: the device's own limit (48 on sm_86/89/120), and it agrees with data/archs.csv."""
    from mmabench import hardware
    from mmabench.attention import build, variants
    loaded = build.load(build.fit_to_gpu(variants.variant(64, "f32", "f32")))
    arch = hardware.device_arch()
    if arch in hardware.arch_limits():
        assert loaded.max_warps_per_sm == hardware.max_warps_per_sm(arch)
    assert 0 < loaded.occupancy_pct <= 100
    assert loaded.occupancy_pct == 100.0 * loaded.max_blocks_per_sm * loaded.variant.tiles.warps / loaded.max_warps_per_sm
