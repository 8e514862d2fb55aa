"""FP8 mma.sync (m16n8k32, e4m3/e5m2, f16/f32 accumulators): the catalogue's per-arch SASS record
against ptxas, the 8-bit fragment layout, exact FP8 encode/decode; on a GPU, one instruction
against numpy on exactly representable data (which proves the layout on the hardware)."""

import math

import numpy as np
import pytest

from mmabench.compiler import driver_jit, sass, toolchain
from mmabench import hardware
from mmabench.core.errors import UserError
from mmabench.mma import catalogue
from mmabench.mma import fragments as fr
from mmabench.mma.offline import check_form
from mmabench.mma.render import DEFAULT_UNROLL, render

FP8 = catalogue.FP8_FORMS


def test_catalogue_has_every_pairing_with_both_accumulators():
    got = {(f.ab_type, f.b_type, f.acc) for f in FP8}
    assert got == {(a, b, acc) for a in ("e4m3", "e5m2") for b in ("e4m3", "e5m2") for acc in ("f16", "f32")}
    mixed = catalogue.by_name("m16n8k32.e4m3.e5m2.acc_f32")
    assert mixed.instruction == "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e5m2.f32"
    assert mixed.twin.name == "m16n8k32.e4m3.e5m2.acc_f16"
    assert mixed.flops == 2 * 16 * 8 * 32
    assert len(catalogue.select(ab_types=["e4m3", "e5m2"])) == 8
    assert {f.name for f in catalogue.select(ab_types=["e4m3"])} == {"m16n8k32.e4m3.acc_f16",
                                                                     "m16n8k32.e4m3.acc_f32"}
    # the f16/bf16 forms are not picked up by an FP8 filter, nor FP8 by an f16 one; no type
    # filter means the f16/bf16 forms
    assert all(f.ab_type == "f16" for f in catalogue.select(ab_types=["f16"]))
    assert catalogue.select() == catalogue.FORMS
    assert len(catalogue.select(accs=["f32"], ab_types=["e4m3", "e5m2"])) == 4


def test_ptx_versions_are_the_lowest_ptxas_accepts():
    """f32 accumulation needs PTX ISA 8.4, f16 accumulation 8.7: one step lower must fail."""
    for form in (catalogue.by_name("m16n8k32.e4m3.acc_f32"), catalogue.by_name("m16n8k32.e5m2.acc_f16")):
        ptx = render(form, 1)
        assert f".version {form.ptx_version}" in ptx and ".target sm_89" in ptx
        toolchain.assemble(ptx, "sm_89")
        lower = {"8.4": "8.3", "8.7": "8.6"}[form.ptx_version]
        with pytest.raises(toolchain.CompileError, match="requires PTX ISA"):
            toolchain.assemble(ptx.replace(f".version {form.ptx_version}", f".version {lower}"), "sm_89")


@pytest.mark.parametrize("form", FP8, ids=lambda f: f.name)
@pytest.mark.parametrize("arch", ["sm_89", "sm_90", "sm_90a", "sm_100", "sm_120"])
def test_sass_per_arch_matches_the_record(form, arch):
    row = check_form(form, arch, ilp=4)
    assert row["ok"], row
    low = form.sass_for(arch)
    text = toolchain.disassemble(toolchain.assemble(render(form, 4), arch).cubin)
    hist = sass.histogram(text)
    loop = next(lp for lp in sass.loops(text) if lp.count(low.opcode))
    assert loop.count(low.opcode) == low.per_mma * 4 * DEFAULT_UNROLL
    if low.native:
        assert low.opcode.startswith("QMMA.16832.") and not any(op.startswith("HMMA") for op in hist)
    else:
        # emulated: no QMMA anywhere; each mma's B is unpacked (4 F2FP) and its product added
        assert not any(op.startswith("QMMA") for op in hist)
        b_unpack = f"F2FP.F16.{form.b_type.upper()}.UNPACK_B"
        assert loop.count(b_unpack) >= 4 * 4 * DEFAULT_UNROLL
        add = "FADD" if form.acc == "f32" else "HADD2"
        assert loop.count(add) == form.c_regs * 4 * DEFAULT_UNROLL


def test_hopper_has_no_native_fp8_mma_sync_but_ada_and_blackwell_geforce_do():
    form = catalogue.by_name("m16n8k32.e4m3.acc_f32")
    assert form.sass_for("sm_89").native and form.sass_for("sm_120").native
    assert not form.sass_for("sm_90").native and not form.sass_for("sm_90a").native
    assert form.sass_for("sm_90").opcode == "HMMA.16816.F32" and form.sass_for("sm_90").per_mma == 2
    with pytest.raises(UserError, match="needs sm_89"):
        form.sass_for("sm_86")
    with pytest.raises(UserError, match="no SASS record"):
        form.sass_for("sm_110")


def test_without_fresh_b_ptxas_collapses_the_emulated_chain():
    """The reason for fresh_b: loop-invariant operands let ptxas compute A.B once per trip."""
    from dataclasses import replace

    form = replace(catalogue.by_name("m16n8k32.e4m3.acc_f32"), fresh_b=False)
    text = toolchain.disassemble(toolchain.assemble(render(form, 4), "sm_90").cubin)
    loop = next(lp for lp in sass.loops(text) if lp.count("HMMA.16816.F32"))
    assert loop.count("HMMA.16816.F32") < 2 * 4 * DEFAULT_UNROLL
    assert "ld.volatile.shared" not in render(form, 4)
    assert render(catalogue.by_name("m16n8k32.e4m3.acc_f32"), 4).count("ld.volatile.shared.v2.b32") == 4 * DEFAULT_UNROLL


def test_mma_fp8_family_is_registered():
    from mmabench.compiler.registry import all_kernels

    specs = all_kernels(["mma_fp8"])
    assert len(specs) == 2 * len(FP8)
    by = {s.name: s for s in specs}
    s = by["mma.m16n8k32.e4m3.acc_f16.thr"]
    assert s.twin == "mma.m16n8k32.e4m3.acc_f32.thr" and s.min_sm == 89
    assert not s.supports("sm_86") and s.supports("sm_90")
    assert s.tags["sass_by_arch"]["sm_90"] == "HMMA.16816.F16"
    assert s.tags["sass_by_arch"]["sm_89"] == "QMMA.16832.F16.E4M3.E4M3"


# ---- fragments ---------------------------------------------------------------------------

@pytest.mark.parametrize("form", FP8, ids=lambda f: f.name)
def test_8bit_fragments_cover_each_matrix_once_and_pack_low_byte_first(form):
    m, n, k = form.mnk
    for kind, shape in (("A", (m, k)), ("B", (k, n))):
        rows, cols = fr._lane_coords(kind, fr._elements(form, kind), bits=8)
        assert len(set(zip(rows.ravel().tolist(), cols.ravel().tolist()))) == shape[0] * shape[1]
    a = np.zeros((m, k))
    a[1, 4] = 1.0                       # lane 5 (group 1, t 1), element 0: register 0, byte 0
    a[9, 23] = -2.0                     # lane 5, element 15: register 3, byte 3
    words = fr.to_fragments(form, "A", a)
    assert words.shape == (32, 4)
    one, minus_two = fr.fp8_encode(np.array([1.0, -2.0]), form.ab_type)
    assert words[5, 0] == one and words[5, 3] == int(minus_two) << 24
    b = np.zeros((k, n))
    b[23, 1] = 1.0                      # lane 5, element 7: register 1, byte 3
    bw = fr.to_fragments(form, "B", b)
    assert bw.shape == (32, 2) and bw[5, 1] == int(fr.fp8_encode(np.array([1.0]), form.b_type)[0]) << 24
    assert np.count_nonzero(bw) == 1


def test_8bit_layout_matches_the_ptx_isa_formula():
    rows, cols = fr._lane_coords("A", 16, bits=8)
    # PTX ISA m16n8k32: row = groupID for a0..a3, a8..a11, else groupID + 8;
    # col = 4 * threadID_in_group + (i & 3), + 16 for i >= 8
    for lane in (0, 7, 30):
        g, t = lane // 4, lane % 4
        for i in range(16):
            assert rows[lane, i] == (g if (i < 4 or 8 <= i < 12) else g + 8)
            assert cols[lane, i] == 4 * t + (i & 3) + (16 if i >= 8 else 0)
    rows, cols = fr._lane_coords("B", 8, bits=8)
    assert (rows[30, 5], cols[30, 5]) == (4 * 2 + 1 + 16, 7)


# ---- FP8 encode / decode -------------------------------------------------------------------

HAND = {  # value -> code, worked by hand from the bit layouts
    "e4m3": [(1.0, 0x38), (-2.0, 0xC0), (448.0, 0x7E), (-448.0, 0xFE), (2.0 ** -6, 0x08),
             (2.0 ** -9, 0x01), (7 * 2.0 ** -9, 0x07), (0.0, 0x00), (-0.0, 0x80), (1.125, 0x39),
             (1.0625, 0x38),            # half-way 1.0 / 1.125 -> even mantissa (1.0)
             (1.1875, 0x3A),            # half-way 1.125 / 1.25 -> even (1.25)
             (240.0, 0x77), (3.0, 0x44), (0.3, 0x2A)],
    "e5m2": [(1.0, 0x3C), (-2.0, 0xC0), (57344.0, 0x7B), (2.0 ** -14, 0x04), (2.0 ** -16, 0x01),
             (1.25, 0x3D), (1.125, 0x3C), (1.375, 0x3E), (3.0, 0x42), (-0.0, 0x80)],
}


@pytest.mark.parametrize("type_", ["e4m3", "e5m2"])
def test_fp8_hand_worked_values(type_):
    values = np.array([v for v, _ in HAND[type_]])
    codes = np.array([c for _, c in HAND[type_]], dtype=np.uint8)
    np.testing.assert_array_equal(fr.fp8_encode(values, type_), codes)
    back = fr.fp8_decode(codes, type_)
    exact = [v for v, c in HAND[type_] if v not in (1.0625, 1.1875, 1.125, 1.375, 0.3) or type_ == "e4m3" and v == 1.125]
    for v in exact:
        assert back[list(values).index(v)] == v


def test_fp8_range_saturation_and_specials():
    assert fr.fp8_decode(np.array([0x7F, 0xFF]), "e4m3").tolist() == [pytest.approx(math.nan, nan_ok=True)] * 2
    assert math.isnan(fr.fp8_decode(np.array([0x7F]), "e4m3")[0])
    assert fr.fp8_decode(np.array([0x7C, 0xFC]), "e5m2").tolist() == [math.inf, -math.inf]
    assert math.isnan(fr.fp8_decode(np.array([0x7D]), "e5m2")[0])
    table = fr.fp8_decode(np.arange(256), "e4m3")
    assert np.nanmax(table) == 448.0 and np.nanmin(np.abs(table[table != 0])) == 2.0 ** -9
    table = fr.fp8_decode(np.arange(256), "e5m2")
    assert np.nanmax(table[np.isfinite(table)]) == 57344.0
    # saturation (satfinite) vs overflow
    assert fr.fp8_encode(np.array([500.0, -1e9, np.inf]), "e4m3").tolist() == [0x7E, 0xFE, 0x7E]
    assert fr.fp8_encode(np.array([464.0]), "e4m3")[0] == 0x7E          # rounds up past max: clamp
    assert fr.fp8_encode(np.array([460.0]), "e4m3")[0] == 0x7E          # rounds down to max
    assert fr.fp8_encode(np.array([1e6]), "e5m2", saturate=False)[0] == 0x7C
    assert fr.fp8_encode(np.array([1e6]), "e4m3", saturate=False)[0] == 0x7F
    assert math.isnan(fr.fp8_decode(fr.fp8_encode(np.array([np.nan]), "e5m2"), "e5m2")[0])
    # below half the smallest subnormal: zero; just above: the smallest subnormal
    assert fr.fp8_encode(np.array([2.0 ** -11, 2.0 ** -10 * 1.01]), "e4m3").tolist() == [0, 1]


@pytest.mark.parametrize("type_", ["e4m3", "e5m2"])
def test_fp8_every_finite_code_round_trips_and_rounding_is_nearest(type_):
    codes = np.arange(256, dtype=np.uint8)
    values = fr.fp8_decode(codes, type_)
    finite = np.isfinite(values)
    np.testing.assert_array_equal(fr.fp8_encode(values[finite], type_), codes[finite])
    grid = np.unique(values[finite])
    x = np.random.default_rng(1).uniform(-grid.max(), grid.max(), 20000)
    q = fr.quantize(x, type_)
    # nearest: no representable value is strictly closer
    nearest = grid[np.abs(grid[None, :] - x[:, None]).argmin(axis=1)]
    assert np.all(np.abs(q - x) <= np.abs(nearest - x))


@pytest.mark.parametrize("type_", ["e4m3", "e5m2"])
def test_fp8_against_ml_dtypes_if_installed(type_):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    dt = {"e4m3": ml_dtypes.float8_e4m3fn, "e5m2": ml_dtypes.float8_e5m2}[type_]
    codes = np.arange(256, dtype=np.uint8)
    ours = fr.fp8_decode(codes, type_)
    theirs = codes.view(dt).astype(np.float64)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_array_equal(ours[~np.isnan(ours)], theirs[~np.isnan(theirs)])
    big = {"e4m3": 448.0, "e5m2": 57344.0}[type_]
    x = np.random.default_rng(2).uniform(-big, big, 10000) * np.exp2(np.random.default_rng(3).integers(-20, 1, 10000))
    np.testing.assert_array_equal(fr.fp8_encode(x, type_), x.astype(dt).view(np.uint8))


# ---- on a GPU ----------------------------------------------------------------------------

def _run_one(form, a, b, c):
    """One instruction per chain (iters = 0), launched directly: D = C + A.B for 2 chains."""
    import cupy

    kernel = driver_jit.jit(render(form, 2), "mma_chain")
    a_words = np.stack([fr.to_fragments(form, "A", a), fr.to_fragments(form, "A", -a)])
    c_words = np.stack([fr.to_fragments(form, "C", cj) for cj in c])
    d = cupy.full((1, 2, 32, form.c_regs), 0xFFFFFFFF, dtype=cupy.uint32)   # poisoned
    t = cupy.zeros((1, 4), dtype=cupy.uint64)
    kernel.function((1,), (32,), (cupy.asarray(a_words), cupy.asarray(fr.to_fragments(form, "B", b)),
                                  cupy.asarray(c_words), d, t, np.uint32(0)))
    return fr.from_fragments_batch(form, cupy.asnumpy(d))[0], kernel


def _usable_fp8():
    arch = hardware.device_arch()
    return [f for f in FP8 if int(arch[3:].rstrip("a")) >= f.min_sm]


@pytest.mark.gpu
@pytest.mark.parametrize("form", FP8, ids=lambda f: f.name)
def test_gpu_one_fp8_instruction_is_exact_on_integer_data(form, rng):
    if form not in _usable_fp8():
        pytest.skip("form not on this GPU")
    m, n, k = form.mnk
    a = rng.integers(-3, 4, (m, k)).astype(float)       # exact in e4m3 and e5m2
    b = rng.integers(-3, 4, (k, n)).astype(float)
    c = rng.integers(-8, 9, (2, m, n)).astype(float)
    out, kernel = _run_one(form, a, b, c)
    np.testing.assert_array_equal(out, c + a @ b)
    # and the SASS the driver made is the one recorded for this GPU
    low = form.sass_for(hardware.device_arch())
    assert low.mma_per_trip(toolchain.disassemble(kernel.cubin)) == 2 * DEFAULT_UNROLL


@pytest.mark.gpu
@pytest.mark.parametrize("form", FP8, ids=lambda f: f.name)
def test_gpu_one_fp8_instruction_on_random_data(form, rng):
    if form not in _usable_fp8():
        pytest.skip("form not on this GPU")
    m, n, k = form.mnk
    a = fr.quantize_operand(form, "A", rng.uniform(-2, 2, (m, k)))
    b = fr.quantize_operand(form, "B", rng.uniform(-2, 2, (k, n)))
    c = fr.quantize_operand(form, "C", rng.uniform(-1, 1, (2, m, n)))
    out, _ = _run_one(form, a, b, c)
    expected = c + a @ b
    scale = np.abs(c) + np.abs(a) @ np.abs(b)
    # FP8 products are exact; the sum of 32 is not: FP8 tensor cores are reported to keep only
    # ~14 bits while accumulating (DeepSeek-V3 report, on Hopper wgmma), so the bound allows
    # 2^-12 (f32) and 2^-10 (f16, which also rounds the result) relative to sum |c| + |a||b|.
    # A wrong layout gives errors of the order of the values themselves.
    u = 2.0 ** -10 if form.acc == "f16" else 2.0 ** -12
    assert np.all(np.abs(out - expected) <= 2 * u * scale)
