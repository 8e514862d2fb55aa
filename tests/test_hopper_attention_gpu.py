"""The Hopper attention kernel on an sm_90 GPU: every shipped variant against the float64
reference on odd shapes (N = 1, 17, 4097; batch x heads = 15), fresh inputs, poisoned output;
the public attention() picks it; it runs with no local memory."""

import pytest

pytestmark = pytest.mark.gpu


@pytest.fixture(autouse=True)
def _hopper_only():
    from mmabench import hardware
    if hardware.unavailable_reason() or hardware.device_arch() != "sm_90":
        pytest.skip("needs an sm_90 GPU")


@pytest.mark.parametrize("dim", [64, 128, 256])
def test_f32_f32_meets_flashattention_rule_on_odd_shapes(dim, seed):
    from mmabench.attention import selfcheck, variants
    vs = [variants.hopper_variant(dim, "f32", "f32", norm) for norm in variants.NORMS]
    rows = selfcheck.correctness(vs, seqs=[1, 17, 4097], batch=3, heads=5, seed=seed)
    assert not [(r["variant"], r["seq"], r["error"]) for r in rows if r["status"] != "ok"]
    for r in rows:   # FlashAttention's rule: <= 2 x PyTorch fp16's error (+ 1e-4 at tiny N)
        assert r["max_abs_err"] <= 2 * r["yard_max_abs_err"] + 1e-4, r["variant"]


@pytest.mark.parametrize("option", [{"overlap": True}, {"poly": 2}, {"pingpong": True}],
                         ids=["overlap", "poly", "pingpong"])
def test_the_tile_options_are_as_correct(option, seed):
    """The softmax kept ahead of the P.V wait (overlap), a quarter of the exponentials by
    polynomial (poly) and turns between the consumer warpgroups (pingpong; N = 1 runs no turn)
    compute the same attention, to FlashAttention's rule."""
    from dataclasses import replace
    from mmabench.attention import selfcheck, variants
    vs = [variants.hopper_variant(d, "f32", "f32") for d in (64, 128, 256)]
    vs = [v.with_tiles(replace(v.tiles, **option)) for v in vs]
    rows = selfcheck.correctness(vs, seqs=[1, 17, 4097], batch=3, heads=5, seed=seed)
    assert not [(r["variant"], r["seq"], r["error"]) for r in rows if r["status"] != "ok"]
    for r in rows:
        assert r["max_abs_err"] <= 2 * r["yard_max_abs_err"] + 1e-4, r["variant"]


def test_lazy_rescaling_keeps_each_accumulator_within_its_rule(seed):
    """Conditional rescaling (p up to 2^8 with O f32, 2^2 with O f16) computes the same attention:
    f32/f32 to FlashAttention's rule, S f16p / O f16 to the bf16 rule."""
    from dataclasses import replace
    from mmabench.attention import selfcheck, variants
    vs = [variants.hopper_variant(d, s, o) for d in (64, 128, 256) for s, o in (("f32", "f32"), ("f16p", "f16"))]
    vs = [v.with_tiles(replace(v.tiles, lazy=True)) for v in vs]
    rows = selfcheck.correctness(vs, seqs=[1, 17, 4097], batch=3, heads=5, seed=seed)
    assert not [(r["variant"], r["seq"], r["error"]) for r in rows if r["status"] != "ok"]
    for r in rows:
        if "_of32_" in r["variant"]:
            assert r["max_abs_err"] <= 2 * r["yard_max_abs_err"] + 1e-4, r["variant"]
        else:
            assert r["passes_bf16_rule"] and r["nonfinite_all"] == 0, r["variant"]


def test_the_packed_polynomial_keeps_f16p_within_the_bf16_rule(seed):
    """A quarter of the packed softmax's exponentials by the f16x2 polynomial, also with lazy
    rescaling on an f16 O (p up to 2^2), on odd shapes: finite, and within the bf16 rule."""
    from dataclasses import replace
    from mmabench.attention import selfcheck, variants
    vs = [variants.hopper_variant(d, "f16p", "f16") for d in (64, 128, 256)]
    vs = [v.with_tiles(replace(v.tiles, poly=2, lazy=lazy)) for v in vs for lazy in (False, True)]
    rows = selfcheck.correctness(vs, seqs=[1, 17, 4097], batch=3, heads=5, seed=seed)
    assert not [(r["variant"], r["seq"], r["error"]) for r in rows if r["status"] != "ok"]
    assert all(r["passes_bf16_rule"] and r["nonfinite_all"] == 0 for r in rows)


@pytest.mark.parametrize("dim", [64, 128, 256])
def test_f16_variants_are_finite_and_checked(dim, seed):
    from mmabench.attention import selfcheck, variants
    vs = [v for v in variants.all_hopper_variants(dims=(dim,)) if not v.is_reference_acc]
    rows = selfcheck.correctness(vs, seqs=[17, 1000], batch=3, heads=5, seed=seed)
    assert not [(r["variant"], r["seq"], r["error"]) for r in rows if r["status"] != "ok"]
    assert all(r["nonfinite_all"] == 0 for r in rows)
    # the rule for an f16 accumulator: no worse than 2 x bf16 attention's error
    assert not [(r["variant"], r["seq"], r["max_abs_err"], r["bf16_yard_max_abs_err"])
                for r in rows if not r["passes_bf16_rule"]]


def test_public_attention_runs_the_hopper_kernel_without_local_memory():
    import cupy
    from mmabench.attention import launch, selfcheck
    from mmabench.attention.reference import attention_f64
    rng = cupy.random.default_rng(1)
    q, k, v = (rng.standard_normal((1, 3, 300, 128), dtype=cupy.float32).astype(cupy.float16)
               for _ in range(3))
    out = launch.attention(q, k, v, causal=True)
    plan = next(p for p in launch._PLANS.values())
    assert plan.maps is not None                      # the Hopper kernel's tensor maps
    ref = attention_f64(q, k, v, causal=True)
    assert float(abs(out.astype(cupy.float64) - cupy.asarray(ref)).max()) < 2e-3
    from mmabench.attention import build, variants
    assert build.load(variants.hopper_variant(128, "f32", "f32")).local_bytes == 0
    del selfcheck
