"""The softmax instruction family without a GPU: rendering, assembly for every target, what each
instruction becomes in SASS, the host reference the GPU checks use, registry and CLI."""

from __future__ import annotations

import numpy as np
import pytest

from mmabench import hardware
from mmabench.compiler import toolchain
from mmabench.core.errors import MeasurementError, UserError
from mmabench.softmax import catalogue, reference
from mmabench.softmax.offline import check_form
from mmabench.softmax.render import DEFAULT_UNROLL, render

TARGETS = ["sm_80", "sm_86", "sm_89", "sm_90", "sm_100", "sm_120"]

# What ptxas 13 makes of one PTX instruction, per form and architecture (read from nvdisasm):
# fma.f16x2 is split between the FMA and the MMA pipe on sm_80 and sm_90; two maxima fuse into
# one three-input op on sm_90 (f16x2) and sm_100 (both); the f16x2 exponential is one MUFU per
# half; cvt's opcode names its types from sm_89 on.
SASS = {
    "ex2.f32": {"*": "MUFU.EX2 x1"},
    "ex2.f16x2": {"*": "MUFU.EX2.F16 x2"},
    "ex2.bf16x2": {"*": "MUFU.EX2.BF16 x2"},
    "fma.f32": {"*": "FFMA x1"},
    "fma.f16x2": {"sm_80": "HFMA2 x1/2, HFMA2.MMA x1/2", "sm_90": "HFMA2 x1/2, HFMA2.MMA x1/2",
                  "*": "HFMA2 x1"},
    "max.f32": {"sm_100": "FMNMX3 x1/2", "*": "FMNMX x1"},
    "max.f16x2": {"sm_90": "VHMNMX x1/2", "sm_100": "VHMNMX x1/2", "*": "HMNMX2 x1"},
    "cvt.f16x2.f32": {"sm_80": "F2FP.PACK_AB x1", "sm_86": "F2FP.PACK_AB x1",
                      "*": "F2FP.F16.F32.PACK_AB x1"},
}


@pytest.mark.parametrize("form", catalogue.FORMS, ids=lambda f: f.name)
@pytest.mark.parametrize("arch", TARGETS)
def test_every_form_becomes_the_recorded_sass_with_every_step_in_its_loop(form, arch):
    if not form.runs_on(arch):
        with pytest.raises(UserError, match=f"needs sm_{form.min_sm}"):
            check_form(form, arch)
        return
    row = check_form(form, arch, ilp=4)
    assert row["ok"], row
    assert row["sass_per_trip"] == row["expected_per_trip"] == 4 * DEFAULT_UNROLL
    want = SASS[form.name]
    assert row["sass_per_instruction"] == want.get(arch, want["*"])


def test_only_bf16_needs_a_sign_flip_of_its_own_in_the_loop():
    """ptxas folds the negation of x <- 2^-x into MUFU's operand for f32 and f16, not for bf16;
    no other form has anything but its own opcodes (and the loop counter) in the loop."""
    rows = {f.name: check_form(f, "sm_90") for f in catalogue.FORMS}
    assert rows["ex2.bf16x2"]["others_per_instruction"] == "HFMA2.BF16_V2 x1, PRMT x1"
    assert rows["ex2.f16x2"]["others_per_instruction"] == "PRMT x1/16"   # repacked once a trip
    assert all(r["others_per_instruction"] == "-" for name, r in rows.items()
               if not name.startswith(("ex2.bf16", "ex2.f16")))


@pytest.mark.parametrize("form", [catalogue.by_name(n) for n in ("max.f16x2", "fma.f16x2",
                                                                 "cvt.f16x2.f32", "ex2.f32")],
                         ids=lambda f: f.name)
@pytest.mark.parametrize("ilp", [1, 3, 16])
def test_every_chain_is_stored_and_survives(form, ilp):
    ptx = render(form, ilp)
    assert ptx.count("st.global") == ilp + 4                 # each chain, and the 4 clocks
    text = toolchain.disassemble(toolchain.assemble(ptx, "sm_90").cubin)
    assert form.sass_for("sm_90").mma_per_trip(text) == ilp * DEFAULT_UNROLL


def test_a_chain_never_stored_is_dropped_by_ptxas_and_the_count_says_so():
    form = catalogue.by_name("max.f16x2")
    ptx = render(form, 3).replace("    st.global.b32    [%addr+0], %x0;\n", "")
    text = toolchain.disassemble(toolchain.assemble(ptx, "sm_90").cubin)
    per_trip, problem = form.sass_for("sm_90").loop_check(text, 3 * DEFAULT_UNROLL)
    assert per_trip == 2 * DEFAULT_UNROLL
    assert problem == (f"the loop's {DEFAULT_UNROLL} VHMNMX carry {2 * DEFAULT_UNROLL} PTX "
                       f"instructions per trip, expected {3 * DEFAULT_UNROLL}")


def test_fused_ops_count_as_the_instructions_they_carry():
    low = catalogue.by_name("max.f32").sass_for("sm_100")
    assert low.ptx_count({"FMNMX3": 8, "FMNMX": 2}) == 18
    ex2 = catalogue.by_name("ex2.f16x2").sass_for("sm_90")
    assert ex2.ptx_count({"MUFU.EX2.F16": 32}) == 16
    with pytest.raises(ValueError, match="33 MUFU.EX2.F16 is not a whole number"):
        ex2.ptx_count({"MUFU.EX2.F16": 33})        # half an f16x2 exponential


def test_ptx_declares_the_version_and_target_of_its_form():
    for form in catalogue.FORMS:
        head = render(form, 1)
        assert f".version {form.ptx_version}" in head and f".target sm_{form.min_sm}" in head
        assert '.pragma "nounroll"' in head and form.instruction in head
    assert ".version 7.8" in render(catalogue.by_name("ex2.bf16x2"), 1)


def test_bad_input_is_one_clear_error():
    form = catalogue.FORMS[0]
    with pytest.raises(UserError, match="accepted: 1..16"):
        render(form, 0)
    with pytest.raises(UserError, match="even"):
        render(form, 1, unroll=3)
    with pytest.raises(UserError, match="ex2.bf16x2 needs sm_90 or newer; sm_89"):
        catalogue.by_name("ex2.bf16x2").sass_for("sm_89")
    with pytest.raises(UserError, match="accepted: ex2.f32"):
        catalogue.by_name("exp.f16")
    with pytest.raises(UserError, match="no softmax form matches"):
        catalogue.select(["cvt"], ["bf16"])


def test_catalogue_twins_and_counts():
    by = catalogue.by_name
    assert by("ex2.f16x2").twin is by("ex2.f32") and by("fma.f32").twin is by("fma.f16x2")
    assert by("ex2.bf16x2").twin is None and by("cvt.f16x2.f32").twin is None
    assert (by("max.f16x2").elements, by("max.f32").elements) == (64, 32)
    assert by("fma.f16x2").flops == 128 and by("ex2.f32").flops == 32
    assert {f.name for f in catalogue.select(["ex2"])} == {"ex2.f32", "ex2.f16x2", "ex2.bf16x2"}


def test_registry_lists_each_form_twice_with_its_twin():
    from mmabench.compiler.registry import FAMILIES, all_kernels

    assert FAMILIES["softmax"] == "mmabench.softmax.registry"
    specs = all_kernels(["softmax"])
    assert len(specs) == 2 * len(catalogue.FORMS)
    names = {s.name for s in specs}
    assert all(s.twin is None or s.twin in names for s in specs)
    bf16 = next(s for s in specs if s.name == "softmax.ex2.bf16x2.thr")
    assert bf16.supports("sm_90") and not bf16.supports("sm_89") and bf16.twin is None
    ex2 = next(s for s in specs if s.name == "softmax.ex2.f16x2.lat")
    assert ex2.twin == "softmax.ex2.f32.lat" and ex2.tags["key_opcodes"] == ("MUFU.EX2.F16",)


def test_regs_report_shows_the_key_opcodes():
    from mmabench.compiler.cli import main_table
    from mmabench.compiler.report import compile_report

    rows = compile_report(kernels=["softmax.max.f16x2.thr"], archs=["sm_90"], jobs=1)
    assert rows[0]["key_ops"] == "HMNMX2 x4, VHMNMX x32"     # 4 prologue maxima stay apart
    text = main_table(rows)
    assert "key ops (static)" in text and "HMNMX2 x4; VHMNMX x32" in text


# ---------------------------------------------------------------- the host reference

def _words(name, ilp, rng):
    form = catalogue.by_name(name)
    return form, reference.make_words(form, ilp, rng)


@pytest.mark.parametrize("name", ["fma.f32", "fma.f16x2"])
def test_fma_chains_stay_at_their_first_step(name, rng):
    """+a*b then -a*b: after any number of step pairs the chain is within rounding of c + a*b."""
    form, w = _words(name, 3, rng)
    a, b, c = (reference.decode(form, x) for x in (w.a[0], w.b, w.c))
    dtype = np.float32 if form.type == "f32" else np.float16
    first = reference.decode(form, reference.exact_chain(form, w, 1))
    assert np.array_equal(first, (c + a * b).astype(dtype).astype(np.float64))  # one rounding
    late = reference.decode(form, reference.exact_chain(form, w, 1 + 16 * 10 ** 6))
    ulp = 2.0 ** (-22 if form.type == "f32" else -9)                           # |x| < 4
    assert np.abs(late - (c + a * b)).max() <= 2 * ulp


def test_max_and_cvt_chains_end_where_they_must(rng):
    form, w = _words("max.f16x2", 2, rng)
    a0, a1, c = reference.decode(form, w.a[0]), reference.decode(form, w.a[1]), reference.decode(form, w.c)
    assert np.array_equal(reference.decode(form, reference.exact_chain(form, w, 1)), np.maximum(c, a0))
    assert np.array_equal(reference.decode(form, reference.exact_chain(form, w, 33)),
                          np.maximum(np.maximum(c, a0), a1))
    form, w = _words("cvt.f16x2.f32", 2, rng)
    one = reference.exact_chain(form, w, 1)
    hi = w.b.view(np.float32).astype(np.float16).view(np.uint16)
    lo = w.c.view(np.float32).astype(np.float16).view(np.uint16)
    assert np.array_equal(one, (hi.astype(np.uint32)[None] << 16) | lo)
    settled = reference.exact_chain(form, w, 1 + 16 * 10 ** 6)
    assert np.array_equal(reference.exact_chain(form, w, 3 + 16 * 10 ** 6), settled)


@pytest.mark.parametrize("name", ["max.f32", "cvt.f16x2.f32", "fma.f16x2"])
def test_check_is_bit_exact_and_refuses_a_wrong_or_unwritten_chain(name, rng):
    form, w = _words(name, 2, rng)
    steps = 1 + 16 * 50
    good = np.broadcast_to(reference.exact_chain(form, w, steps)[None, ..., None], (3, 2, 32, 1)).copy()
    assert reference.check(form, good, w, steps) == 0.0
    bad = good.copy()
    bad[2, 1, 7, 0] ^= 1
    with pytest.raises(MeasurementError, match=r"1 of 192 chains differ .* \(warp 2, chain 1, lane 7"):
        reference.check(form, bad, w, steps)
    bad[:] = 0xFFFFFFFF                  # the poison an unwritten output keeps
    with pytest.raises(MeasurementError):
        reference.check(form, bad, w, steps)


@pytest.mark.parametrize("name", ["ex2.f32", "ex2.f16x2", "ex2.bf16x2"])
def test_ex2_check_holds_a_rounded_chain_and_refuses_the_wrong_sign(name, rng):
    form, w = _words(name, 2, rng)
    x = reference.decode(form, w.c)
    for _ in range(40):     # what a GPU computes: 2^-x, rounded to the type at each step
        x = reference.decode(form, reference.encode(form, np.exp2(-x)))
    out = reference.encode(form, x)[None, ..., None]
    assert reference.check(form, out, w, 40) < 2.0 ** -7
    one = reference.encode(form, np.exp2(-reference.decode(form, w.c)))[None, ..., None]
    assert reference.check(form, one, w, 1) >= 0
    wrong = reference.encode(form, np.exp2(reference.decode(form, w.c)))[None, ..., None]
    with pytest.raises(MeasurementError, match="off by"):
        reference.check(form, wrong, w, 1)
    with pytest.raises(MeasurementError, match="not finite"):
        reference.check(form, np.full_like(out, 0xFFFFFFFF), w, 40)


def test_bf16_words_round_to_nearest_even():
    form = catalogue.by_name("ex2.bf16x2")
    vals = np.array([[1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8]])     # ties: to 1, and to 1 + 2^-6
    assert np.array_equal(reference.decode(form, reference.encode(form, vals)),
                          [[1.0, 1 + 2.0 ** -6]])


# ---------------------------------------------------------------- CLI and tables

def _cli(argv, capsys):
    from mmabench.cli import main

    rc = main(argv)
    return rc, capsys.readouterr()


def test_offline_cli_prints_the_sass_table(tmp_path, capsys):
    rc, out = _cli(["softmax", "--offline", "--arch", "sm_89,sm_90", "--op", "ex2,max",
                    "--results", str(tmp_path)], capsys)
    assert rc == 0
    assert "not on sm_89 (needs sm_90+)" in out.out
    assert "VHMNMX x1/2" in out.out and "MUFU.EX2.BF16 x2" in out.out
    assert list(tmp_path.rglob("*softmax-offline*.csv"))


@pytest.mark.parametrize("argv, message", [
    (["softmax", "--op", "exp"], "unknown operation 'exp'; accepted: ex2, fma, max, cvt"),
    (["softmax", "--type", "f64", "--offline"], "unknown element type 'f64'"),
    (["softmax", "--offline", "--arch", "sm_70"], "unknown architecture 'sm_70'"),
    (["softmax", "--offline", "--ilp", "4"], "--ilp applies only to the measurements"),
    (["softmax", "--ilp", "17"], "bad --ilp list '17'; accepted: integers 1..16"),
    (["softmax", "--quick", "--full"], "--quick and --full exclude each other"),
])
def test_bad_command_lines_are_one_line(argv, message, capsys, tmp_path):
    rc, out = _cli(argv + ["--results", str(tmp_path)], capsys)
    lines = out.err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and message in lines[0]


@pytest.mark.skipif(hardware.unavailable_reason() is None, reason="a GPU is present: it would run")
def test_measuring_without_a_gpu_is_one_line(capsys, tmp_path):
    rc, out = _cli(["softmax", "--quick", "--results", str(tmp_path)], capsys)
    assert rc == 2 and len(out.err.strip().splitlines()) == 1


def _row(form, **more):
    base = {"form": form.name, "instruction": form.instruction, "status": "ok",
            "sass_per_instruction": "HFMA2 x1/2, HFMA2.MMA x1/2",
            "others_per_instruction": "HFMA2.BF16_V2 x1, PRMT x1"}
    return {**base, **more}


def test_summary_fits_120_columns_with_its_widest_cells():
    from mmabench.reporting import tables
    from mmabench.softmax.suite import summary

    flags = {k: v for p in ("", "f16_", "f32_") for k, v in
             ((p + "throttled", True), (p + "power_above_limit", True), (p + "throttle", "sw_power_cap"),
              (p + "sm_clock_mhz", 1980.0), (p + "power_w", 700.0))}
    rows = []
    for form in catalogue.FORMS:
        rows.append(_row(form, kind="latency", latency_cycles=17.9))
        rows.append(_row(form, kind="throughput", saturating=True, warps_per_block=16, ilp=16,
                         blocks_per_sm=4, elements_per_clk_per_sm=250.4,
                         sass_ops_per_clk_per_sm=62.6, gelements_per_s=65432.1, **flags))
    rows.append({"form": "max.f16x2 vs max.f32", "kind": "comparison", "status": "ok",
                 "warps_per_block": 16, "ilp": 16, "blocks_per_sm": 4,
                 "f16_elements_per_clk_per_sm": 250.4, "f32_elements_per_clk_per_sm": 63.9,
                 "ratio_f16_over_f32": 1.96, "ratio_f16_over_f32_lo": 1.9,
                 "ratio_f16_over_f32_hi": 2.01, **flags})
    rows.append(_row(catalogue.FORMS[0], kind="throughput", status="error", warps_per_block=8,
                     ilp=4, blocks_per_sm=1, error="ex2.f32: off by 0.5"))
    text = summary(rows)
    assert max(map(len, text.splitlines())) <= tables.WIDTH, text
    assert "max.f16x2 vs max.f32" in text and "250.4" in text and "cvt.rn.f16x2.f32" in text
    assert "error: ex2.f32 throughput w8 ilp4 b1: ex2.f32: off by 0.5" in text
