"""Attention without a GPU: input checks, the variant table, the float64 reference, the CLI."""

import math

import numpy as np
import pytest

from mmabench.attention import build, checks, variants
from mmabench.attention.reference import attention_f64, attention_naive, default_scale, error_metrics
from mmabench.core.errors import UserError


def _arrays(shape=(1, 2, 17, 64), dtype=np.float16):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(shape).astype(dtype) for _ in range(3)]


# ---- input checks ------------------------------------------------------------------------

def test_good_inputs_give_their_shape():
    q, k, v = _arrays()
    s = checks.check_tensors(q, k, v)
    assert (s.batch, s.heads, s.seq, s.dim) == (1, 2, 17, 64)
    assert s.flops(False) == 4 * 2 * 17 * 17 * 64 and s.flops(True) == s.flops(False) / 2


@pytest.mark.parametrize("dim", [32, 80, 96, 512])
def test_unsupported_head_dim_is_named(dim):
    q, k, v = _arrays((1, 1, 8, dim))
    with pytest.raises(UserError, match=rf"head dim {dim} not supported.*64, 128, 256"):
        checks.check_tensors(q, k, v)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
def test_wrong_dtype_is_named(dtype):
    q, k, v = _arrays(dtype=dtype)
    with pytest.raises(UserError, match="dtype .*accepted: float16"):
        checks.check_tensors(q, k, v)


def test_non_contiguous_layout_is_rejected():
    q, k, v = _arrays((1, 17, 2, 64))
    qt = q.transpose(0, 2, 1, 3)              # [B, N, H, d] memory viewed as [B, H, N, d]
    kt, vt = k.transpose(0, 2, 1, 3), v.transpose(0, 2, 1, 3)
    with pytest.raises(UserError, match="not contiguous"):
        checks.check_tensors(qt, kt, vt)


def test_wrong_rank_is_rejected():
    q = np.zeros((2, 17, 64), np.float16)
    with pytest.raises(UserError, match="4-D"):
        checks.check_tensors(q, q, q)


def test_zero_length_sequence_is_rejected():
    q = np.zeros((1, 2, 0, 64), np.float16)
    with pytest.raises(UserError, match="N >= 1"):
        checks.check_tensors(q, q, q)
    with pytest.raises(UserError, match="N >= 1"):
        checks.check_shape(1, 1, 0, 64)


def test_mismatched_shapes_are_named():
    q, k, v = _arrays()
    k2 = np.zeros((1, 2, 18, 64), np.float16)
    with pytest.raises(UserError, match="same shape.*k=\\(1, 2, 18, 64\\)"):
        checks.check_tensors(q, k2, v)
    with pytest.raises(UserError, match="same shape"):
        checks.check_tensors(q, k, v, out=np.zeros((1, 2, 17, 128), np.float16))


def test_shape_too_large_for_memory():
    s = checks.check_shape(64, 32, 1 << 20, 128)
    with pytest.raises(UserError, match="GiB .*free"):
        checks.check_memory(s, free_bytes=80 * 2**30)
    checks.check_memory(checks.check_shape(1, 1, 1024, 128), free_bytes=80 * 2**30)


def test_grid_limit_on_rows():
    t = variants.Tiles(4, 1, 64)
    s = checks.check_shape(1, 1, 65535 * t.br + 1, 64)
    with pytest.raises(UserError, match="row blocks"):
        checks.check_grid(s, t)
    assert checks.check_grid(checks.check_shape(2, 3, 65, 64), t) == (6, 2)


def test_non_array_is_rejected():
    with pytest.raises(UserError, match="not an array"):
        checks.check_tensors([1, 2], None, None)


# ---- variants as data ---------------------------------------------------------------------

def test_every_combination_exists_once_with_its_own_tiles():
    vs = variants.all_variants()
    assert len(vs) == len(variants.DIMS) * len(variants.S_MODES) * len(variants.O_MODES) * len(variants.NORMS)
    assert len({v.name for v in vs}) == len(vs)
    for v in vs:
        assert v.tiles.valid_for(v.dim) is None
        assert v.name.startswith(v.base_name) and v.tiles.tag in v.name


def test_bad_variant_choices_are_named():
    with pytest.raises(UserError, match="S accumulator 'bf16'"):
        variants.variant(64, "bf16", "f32")
    with pytest.raises(UserError, match="head dim 96"):
        variants.variant(96, "f32", "f32")
    with pytest.raises(UserError, match="cannot build"):
        variants.variant(256, "f32", "f32", tiles=variants.Tiles(4, 2, 128))


def test_registry_specs_have_twins_with_equal_tiles():
    from mmabench.compiler.registry import KernelSpec
    from mmabench.attention.registry import kernel_specs
    specs = kernel_specs()
    by = {s.name: s for s in specs}
    assert all(isinstance(s, KernelSpec) and s.family == "attention" for s in specs)
    assert len(by) == len(specs)
    for s in specs:
        if s.acc == "S=f32,O=f32":
            assert s.twin is None
        else:
            twin = by[s.twin]
            assert twin.acc == "S=f32,O=f32" and twin.tags["tiles"] == s.tags["tiles"]
            assert twin.tags["dim"] == s.tags["dim"] and twin.tags["norm"] == s.tags["norm"]


def test_render_puts_the_variant_in_front_of_the_source():
    v = variants.variant(128, "f16q", "f16f32", "inloop")
    src = build.render(v)
    for key, val in v.defines().items():
        assert f"#define {key} {val}\n" in src
    # header-free: NVRTC, given no include path, compiles it
    assert not any(o.startswith(("-I", "--include-path")) for o in build.NVRTC_OPTIONS)
    assert f".entry {v.entry}(" in build.ptx_for(v)


# ---- reference ----------------------------------------------------------------------------

@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("n", [1, 5, 13])
def test_reference_matches_naive_loops(n, causal):
    rng = np.random.default_rng(n)
    q, k, v = (rng.standard_normal((2, 1, n, 8)) for _ in range(3))
    ref = attention_f64(q, k, v, causal, rows=4)
    naive = attention_naive(q, k, v, causal)
    assert np.allclose(ref, naive, rtol=1e-12, atol=1e-12)


def test_reference_scale_default_and_causal_first_row():
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((1, 1, 6, 64)) for _ in range(3))
    assert default_scale(64) == 0.125
    out = attention_f64(q, k, v, causal=True)
    assert np.allclose(out[0, 0, 0], v[0, 0, 0])          # row 0 sees key 0 only
    big = attention_f64(q * 100, k, v, causal=False, scale=1.0)  # no overflow in float64
    assert np.isfinite(big).all()


def test_reference_differs_when_the_mask_or_scale_differs():
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((1, 1, 9, 16)) for _ in range(3))
    assert not np.allclose(attention_f64(q, k, v, True), attention_f64(q, k, v, False))
    assert not np.allclose(attention_f64(q, k, v, scale=0.5), attention_f64(q, k, v))


def test_error_metrics_count_nonfinite_and_measure_error():
    ref = np.ones((4, 4))
    out = ref.copy()
    out[1, 1] = 1.5
    m = error_metrics(out, ref)
    assert m["nonfinite"] == 0 and math.isclose(m["max_abs_err"], 0.5)
    assert math.isclose(m["rel_l2_err"], 0.5 / 4)
    out[0, 0] = np.nan                      # one NaN: infinitely wrong, not left out
    m = error_metrics(out, ref)
    assert m["nonfinite"] == 1 and m["max_abs_err"] == math.inf and m["rel_l2_err"] == math.inf


# ---- CLI -------------------------------------------------------------------------------------

def _cli(argv):
    import argparse
    from mmabench.attention import cli
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["attention", *argv])


@pytest.mark.parametrize("argv, match", [
    (["--dim", "96"], "--dim list '96'; accepted: 64,128,256"),
    (["--acc-s", "f8"], "S accumulator 'f8'"),
    (["--acc-o", "bf16"], "O accumulator 'bf16'"),
    (["--norm", "never"], "normalization 'never'"),
    (["--seq", "0"], "--seq"),
])
def test_cli_rejects_bad_choices_before_any_gpu_work(argv, match):
    from mmabench.attention import cli
    with pytest.raises(UserError, match=match):
        cli.run(_cli(argv))


def test_cli_selects_the_product_of_its_lists():
    from mmabench.attention import cli
    argv = ["--dim", "64,128", "--acc-s", "f16q", "--acc-o", "f32,f16", "--norm", "inloop"]
    for kernel in ("fa2", "hopper"):
        vs = cli.selected_variants(_cli(argv + ["--kernel", kernel]))
        assert sorted((v.dim, v.acc_o) for v in vs) == [(64, "f16"), (64, "f32"), (128, "f16"), (128, "f32")]
        assert {v.acc_s for v in vs} == {"f16q"} and {v.norm for v in vs} == {"inloop"}
        assert {v.kernel for v in vs} == {kernel}
    # offline (no GPU named) the default takes both kernels
    assert {v.kernel for v in cli.selected_variants(_cli(argv))} == {"fa2", "hopper"}


def _numerics_row(scheme, series, point, rel, nonfinite=0, **extra):
    return dict(dict(scheme=scheme, series=series, point=point, rel_l2_err=rel, nonfinite=nonfinite,
                     max_abs_qk=1e3, max_abs_ref=1.0), **extra)


def test_numerics_limits_name_the_first_lossy_and_the_first_overflowing_point():
    from mmabench.attention.numerics import limits

    base, f16 = "S=f32 O=f32 delayed", "S=f16 O=f32 delayed"
    rows = [_numerics_row(base, "logits", p, 1e-4) for p in ("qk x1", "qk x4", "qk x48")]
    rows += [_numerics_row(f16, "logits", "qk x1", 2e-4),       # within 4x: fine
             _numerics_row(f16, "logits", "qk x4", 5e-3),       # first lossy point
             _numerics_row(f16, "logits", "qk x48", float("nan"), nonfinite=7, max_abs_qk=1.5e5),
             # read back from CSV: a row without the all-heads count holds NaN there
             _numerics_row("PyTorch fp16 (yardstick)", "logits", "qk x1", 1e-4, nonfinite_all=float("nan"))]
    text = limits(rows)
    line = next(x for x in text.splitlines() if x.startswith(f16))
    assert "qk x4" in line and "qk x48 (max|q.k| 1.5e+05)" in line
    assert next(x for x in text.splitlines() if x.startswith(base)).split()[-2:] == ["-", "-"]
    assert next(x for x in text.splitlines() if x.startswith("PyTorch")).split()[-2:] == ["-", "-"]
    assert "\\|" in limits(rows, markdown=True)  # cell pipes escaped in Markdown


def test_numerics_marks_each_kernel_against_its_own_f32_f32_scheme():
    from mmabench.attention import variants
    from mmabench.attention.numerics import _scheme, base_of, limits

    hop = _scheme(variants.hopper_variant(64, "f16p", "f16"))
    assert hop == "hopper S=f16p O=f16 delayed" and base_of(hop) == "hopper S=f32 O=f32 delayed"
    assert base_of("S=f16 O=f16 delayed") == "S=f32 O=f32 delayed"
    # the FA2-class base is far more accurate than the Hopper one here: the Hopper f16 scheme at
    # 3x its own base is not lossy, though it is 30x the FA2-class base
    rows = [_numerics_row("S=f32 O=f32 delayed", "logits", "qk x1", 1e-5),
            _numerics_row("hopper S=f32 O=f32 delayed", "logits", "qk x1", 1e-4),
            _numerics_row(hop, "logits", "qk x1", 3e-4)]
    line = next(x for x in limits(rows).splitlines() if x.startswith(hop))
    assert line.split()[-2:] == ["-", "-"]


def test_markdown_table_escapes_pipes():
    from mmabench.reporting import tables

    text = tables.table(["a|b", "c"], [["x|y", 1]], markdown=True)
    assert all(line.count("|") - line.count("\\|") == 3 for line in text.splitlines())


# ---- alignment: refused before any launch ---------------------------------------------------------

class _FakeDev:
    """A contiguous fp16 [B, H, N, d] device array as the checks see it: CuPy-style `.data.ptr`
    or torch-style `data_ptr()`."""

    def __init__(self, ptr, shape=(1, 2, 17, 64), torch_style=False):
        self.shape, self.dtype = shape, np.dtype(np.float16)
        self.flags = {"C_CONTIGUOUS": True}
        if torch_style:
            self.data_ptr = lambda: ptr
        else:
            self.data = type("Mem", (), {"ptr": ptr})()


@pytest.mark.parametrize("torch_style", [False, True], ids=["cupy", "torch"])
@pytest.mark.parametrize("which", ["q", "k", "v", "out"])
def test_misaligned_base_is_refused_naming_the_offset(which, torch_style):
    good = {n: _FakeDev(0x7f0000000000 + 0x10000 * i, torch_style=torch_style)
            for i, n in enumerate(("q", "k", "v", "out"))}
    good[which] = _FakeDev(0x7f0000100002, torch_style=torch_style)
    with pytest.raises(UserError, match=rf"^{which} starts 2 bytes past a 16-byte boundary.*accepted: a 16-byte aligned base"):
        checks.check_tensors(good["q"], good["k"], good["v"], out=good["out"])


def test_aligned_device_arrays_pass():
    q, k, v = (_FakeDev(0x7f0000000000 + 0x100 * i) for i in range(3))
    assert checks.check_tensors(q, k, v).seq == 17


def test_misaligned_numpy_view_is_refused():
    base = np.zeros(1 + 2 * 17 * 64 + 8, np.float16)
    start = next(i for i in range(8) if (base[i:].__array_interface__["data"][0] % 16) == 2)
    view = base[start:start + 2 * 17 * 64].reshape(1, 2, 17, 64)
    assert view.flags["C_CONTIGUOUS"]
    with pytest.raises(UserError, match="2 bytes past a 16-byte boundary"):
        checks.check_tensors(view, view, view)


def test_attention_compares_in_the_sustained_regime_unless_asked_for_burst():
    import argparse

    from mmabench.attention.cli import timing_policy

    def policy(**given):
        return timing_policy(argparse.Namespace(**{"regime": None, "cold": False, "rounds": None,
                                                   "exhaustive": False, **given}))

    assert (policy().regime, policy().rounds, policy().block_ms) == ("sustained", 5, 200.0)
    assert (policy(cold=True).regime, policy(cold=True).mode) == ("burst", "cold")
    assert policy(regime="burst").regime == "burst"
    assert policy(regime="burst", rounds=3).rounds == 3
    for bad, accepted in ((dict(regime="fast"), "sustained, burst"),
                          (dict(regime="sustained", cold=True), "burst"),
                          (dict(rounds=3), "5..100 in the sustained regime"),
                          (dict(regime="burst", rounds=0), "1..100")):
        with pytest.raises(UserError, match=accepted):
            policy(**bad)
