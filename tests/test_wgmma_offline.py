"""The wgmma instruction kernels without a GPU: catalogue, tile layouts and descriptors, register
fragments, rendering, assembly for sm_90a with the SASS checked, the registry and the CLI."""

import re

import numpy as np
import pytest

from mmabench.compiler import sass, toolchain
from mmabench.core.errors import UserError
from mmabench.arith import formats
from mmabench.instructions.form import Lowering
from mmabench.wgmma import catalogue
from mmabench.wgmma import fragments as fr
from mmabench.wgmma import layout
from mmabench.wgmma.bench import make_inputs, product
from mmabench.wgmma.catalogue import WgmmaForm
from mmabench.wgmma.offline import check_form, waits_problem
from mmabench.wgmma.render import LATENCY, Pipeline, pipeline, render

BASE_FORMS = [WgmmaForm(n, ab, acc) for ab, acc in catalogue.TYPE_ACC for n in catalogue.NS]
VARIANTS = [(a, s) for a in catalogue.A_SOURCES for s in catalogue.SWIZZLES]


def _variant(i, form):
    a_src, swizzle = VARIANTS[i % len(VARIANTS)]
    return WgmmaForm(form.n, form.ab_type, form.acc, a_src, swizzle)


# every instruction form (type x acc x N), each in one of the four operand variants, rotating so
# every variant meets every type and most N
ROTATED = [_variant(i + j, f) for j, (ab, acc) in enumerate(catalogue.TYPE_ACC)
           for i, f in enumerate(f for f in BASE_FORMS if (f.ab_type, f.acc) == (ab, acc))]


# ---------------------------------------------------------------- catalogue

def test_catalogue_has_every_form_of_the_issue():
    assert {(f.ab_type, f.acc) for f in catalogue.FORMS} == set(catalogue.TYPE_ACC)
    assert ("bf16", "f16") not in catalogue.TYPE_ACC          # bf16 accumulates in f32 only
    assert {f.n for f in catalogue.FORMS} == {8, 16, 32, 64, 128, 256}
    assert len(catalogue.FORMS) == 7 * 6 * 2 * 2
    f = WgmmaForm(256, "f16", "f32")
    assert (f.k, f.c_regs, f.twin.c_regs, f.flops) == (16, 128, 64, 2 * 64 * 256 * 16)
    assert WgmmaForm(256, "e4m3", "f32").k == 32 and WgmmaForm(256, "e4m3", "f16").c_regs == 64
    assert WgmmaForm(64, "bf16", "f32").twin is None
    assert f.instruction == "wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16"
    assert f.sass == "HGMMA.64x256x16.F32" and f.twin.sass == "HGMMA.64x256x16.F16"
    assert WgmmaForm(64, "bf16", "f32").sass == "HGMMA.64x64x16.F32.BF16"
    assert WgmmaForm(128, "e5m2", "f16").sass == "QGMMA.64x128x32.F16.E5M2.E5M2"
    assert catalogue.by_name(f.name) == f
    with pytest.raises(UserError, match="unknown wgmma form"):
        catalogue.by_name("m64n256k16.f16.acc_f64.ss.sw128")
    with pytest.raises(UserError, match="bf16 with f32"):
        catalogue.select(accs=["f16"], ab_types=["bf16"])


# ---------------------------------------------------------------- descriptors and layouts

def test_descriptor_encoding_matches_hand_worked_values():
    # start 0x400 -> 0x40; LBO 128 -> 8 << 16; SBO 1024 -> 64 << 32; swizzle 128B -> 1 << 62
    assert layout.encode_descriptor(0x400, 128, 1024, 0) == 0x0000_0040_0008_0040
    assert layout.encode_descriptor(0x400, 16, 1024, 1) == 0x4000_0040_0001_0040
    assert layout.encode_descriptor(0x10, 16, 16, 3, base_offset=7) == (
        1 | 1 << 16 | 1 << 32 | 7 << 49 | 3 << 62)
    assert layout.TileLayout("none").descriptor(0x400) == 0x0000_0040_0008_0040
    assert layout.TileLayout("128b").descriptor(0x400) == 0x4000_0040_0001_0040
    d = layout.decode_descriptor(layout.TileLayout("128b").descriptor(0x3F00))
    assert d == {"start": 0x3F00, "lbo": 16, "sbo": 1024, "base_offset": 0, "swizzle_mode": 1}
    with pytest.raises(ValueError):
        layout.encode_descriptor(8, 16, 16, 0)          # not 16-byte aligned
    with pytest.raises(ValueError):
        layout.encode_descriptor(1 << 18, 16, 16, 0)    # beyond the 14-bit field


def test_layout_offsets_hand_worked():
    none, sw = layout.TileLayout("none").offsets(16), layout.TileLayout("128b").offsets(16)
    # no swizzle: row 9 (group 1, row 1 of its core matrix), K-byte 37 (chunk 2, byte 5)
    assert none[9, 37] == 1024 + 2 * 128 + 1 * 16 + 5
    # 128B swizzle: row 9 -> row 1 of atom 1; chunk 2 XOR 1 = 3
    assert sw[9, 37] == 1024 + 1 * 128 + 3 * 16 + 5
    assert sw[0, 37] == 37 and sw[7, 0] == 7 * 128 + 7 * 16


@pytest.mark.parametrize("swizzle", catalogue.SWIZZLES)
@pytest.mark.parametrize("rows", [8, 64, 256])
def test_layout_packing_round_trips_and_is_a_permutation(swizzle, rows):
    tile = layout.TileLayout(swizzle)
    data = np.random.default_rng(rows).integers(0, 256, (rows, 128), dtype=np.uint8)
    image = tile.pack(data)
    assert image.size == rows * 128
    assert np.array_equal(np.sort(tile.offsets(rows).ravel()), np.arange(rows * 128))
    assert np.array_equal(tile.unpack(image, rows), data)


def _hardware_read(image, tile, start, rows, nbytes=32):
    """Independent model of how the tensor core fetches a K-major tile through a descriptor:
    core matrices at start + i*SBO + j*LBO (no swizzle), or 128-byte rows whose address bits
    [4:6] are XORed with bits [7:9] (128B swizzle, Swizzle<3,4,3>)."""
    d = layout.decode_descriptor(tile.descriptor(start))
    out = np.zeros((rows, nbytes), dtype=np.uint8)
    for r in range(rows):
        for b in range(nbytes):
            if d["swizzle_mode"] == 0:
                addr = d["start"] + (r // 8) * d["sbo"] + (b // 16) * d["lbo"] + (r % 8) * 16 + b % 16
            else:
                lin = d["start"] + (r // 8) * d["sbo"] + (r % 8) * 128 + b
                addr = lin ^ (((lin >> 7) & 7) << 4)
            out[r, b] = image[addr]
    return out


@pytest.mark.parametrize("swizzle", catalogue.SWIZZLES)
@pytest.mark.parametrize("ab_type", ["f16", "e4m3"])
def test_each_k_slice_descriptor_reads_its_slice(swizzle, ab_type):
    form = WgmmaForm(16, ab_type, "f32", "ss", swizzle)
    tile = layout.TileLayout(swizzle)
    rng = np.random.default_rng(1)
    a = fr.quantize(rng.uniform(-2, 2, (64, 4 * form.k)), ab_type)
    image = tile.pack(fr.row_bytes(a, ab_type))
    for s in range(layout.SLICES):
        got = _hardware_read(image, tile, s * tile.slice_step, 64)
        bits = got.view(np.uint16) if form.elem_bytes == 2 else got
        assert np.array_equal(fr.from_bits(bits, ab_type), a[:, s * form.k:(s + 1) * form.k]), s
    # the kernel steps the descriptor's start field by the same amount
    ptx = render(form, LATENCY)
    steps = [int(x) for x in re.findall(r"add\.s64\s+%db(\d), %db0, (\d+);", ptx) for x in x[1:]]
    assert steps == [s * tile.slice_step >> 4 for s in (1, 2, 3)]
    assert f"mov.u32         %dhi, {tile.descriptor(0) >> 32};" in ptx


# ---------------------------------------------------------------- fragments

def test_d_fragment_layout_hand_worked():
    rows, cols = fr.d_coords(16)
    assert [(rows[0, e], cols[0, e]) for e in range(4)] == [(0, 0), (0, 1), (8, 0), (8, 1)]
    assert (rows[5, 4], cols[5, 4]) == (1, 10)        # lane 5: group 1, q 1; second n8 block
    assert (rows[37, 2], cols[37, 2]) == (25, 2)      # warp 1 owns rows 16..31
    assert (rows[127, 7], cols[127, 7]) == (63, 15)
    for n in catalogue.NS:
        r, c = fr.d_coords(n)
        assert len(set(zip(r.ravel().tolist(), c.ravel().tolist()))) == 64 * n


def test_a_fragment_layout_hand_worked():
    r16, c16 = fr.a_coords(2)
    assert [(r16[1, e], c16[1, e]) for e in range(8)] == [
        (0, 2), (0, 3), (8, 2), (8, 3), (0, 10), (0, 11), (8, 10), (8, 11)]
    r8, c8 = fr.a_coords(1)
    assert [(r8[33, e], c8[33, e]) for e in (0, 3, 4, 8, 15)] == [
        (16, 4), (16, 7), (24, 4), (16, 20), (24, 23)]
    for rr, cc, k in ((r16, c16, 16), (r8, c8, 32)):
        assert len(set(zip(rr.ravel().tolist(), cc.ravel().tolist()))) == 64 * k


@pytest.mark.parametrize("acc", ["f16", "f32"])
def test_accumulator_fragments_round_trip(acc):
    form = WgmmaForm(64, "f16", acc)
    m = fr.quantize(np.random.default_rng(0).uniform(-4, 4, (64, 64)), acc)
    words = fr.d_fragment(form, m)
    assert words.shape == (128, form.c_regs)
    assert np.array_equal(fr.d_matrix(form, words), m)
    assert np.array_equal(fr.d_values(form, words), fr.in_fragment_order(form, m))
    if acc == "f16":   # element 2i in the low half of register i
        assert words[0, 0] & 0xFFFF == np.float16(m[0, 0]).view(np.uint16)
        assert words[0, 0] >> 16 == np.float16(m[0, 1]).view(np.uint16)


def test_a_register_fragment_packs_low_element_first():
    form = WgmmaForm(64, "e4m3", "f32", "rs")
    a = fr.quantize(np.random.default_rng(2).uniform(-4, 4, (64, 32)), "e4m3")
    words = fr.a_fragment(form, a)
    assert words.shape == (128, 4)
    rows, cols = fr.a_coords(1)
    assert words[0, 0] & 0xFF == formats.fp8_encode(a[rows[0, 0], cols[0, 0]], "e4m3")
    assert (words[0, 0] >> 24) & 0xFF == formats.fp8_encode(a[rows[0, 3], cols[0, 3]], "e4m3")


def test_fp8_codec():
    table = {f: formats.fp8_decode(np.arange(256), f) for f in ("e4m3", "e5m2")}
    assert table["e4m3"][0x7E] == 448 and np.isnan(table["e4m3"][0x7F])
    assert table["e5m2"][0x7B] == 57344 and np.isinf(table["e5m2"][0x7C])
    assert table["e4m3"][0x01] == 2.0 ** -9                             # smallest subnormal
    assert list(fr.to_bits(np.array([1.0, -3.0, 1.0625, 1.1875, 1e6]), "e4m3")) == [
        0x38, 0xC4, 0x38, 0x3A, 0x7E]                                   # ties to even, saturate
    ints = np.arange(-3, 4, dtype=float)
    for f in ("e4m3", "e5m2"):
        assert np.array_equal(fr.quantize(ints, f), ints)               # exact-check data


@pytest.mark.parametrize("type_", ["e4m3", "e5m2"])
def test_one_fp8_codec_agrees_with_the_nearest_even_code_of_the_table(type_):
    """The wgmma packer's codes are those its own table search gave before there was one codec:
    the nearest finite code, ties to the even one, saturating; only a negative value that rounds
    to zero now keeps its sign (0x80), as cvt.rn does."""
    from mmabench.mma import fragments as mma_fr

    assert fr.fp8_encode is mma_fr.fp8_encode is formats.fp8_encode
    positive = formats.fp8_decode(np.arange(128), type_)
    codes = np.arange(128)[np.isfinite(positive)]
    mags = positive[np.isfinite(positive)]
    rng = np.random.default_rng(7)
    x = np.concatenate([mags, (mags[1:] + mags[:-1]) / 2, [mags[-1] * 4, 0.0],
                        rng.uniform(-2 * mags[-1], 2 * mags[-1], 5000),
                        rng.standard_normal(5000) * mags[1] * 4])
    x = np.concatenate([x, -x])
    dist = np.abs(np.minimum(np.abs(x), mags[-1])[:, None] - mags[None, :])
    best = dist == dist.min(axis=1, keepdims=True)
    pick = np.where(best.sum(axis=1) > 1, codes[np.argmax(best & (codes % 2 == 0), axis=1)],
                    codes[np.argmax(best, axis=1)])
    expected = np.where(np.signbit(x), pick | 0x80, pick)
    np.testing.assert_array_equal(fr.to_bits(x, type_), expected)
    values = formats.fp8_decode(expected, type_)
    np.testing.assert_array_equal(fr.from_bits(fr.to_bits(values, type_), type_), values)


@pytest.mark.parametrize("form", [WgmmaForm(64, "f16", "f16", "rs", "none"),
                                  WgmmaForm(32, "e5m2", "f32", "ss", "128b")], ids=str)
def test_exact_inputs_stay_in_the_exact_integer_range(form):
    inputs = make_inputs(form, 2, np.random.default_rng(3), exact=True, device=False)
    assert np.abs(inputs.scale).max() < 2048               # f16 integers are exact below 2048
    assert np.array_equal(inputs.expected, inputs.c_mats + product(form, inputs.a_mat, inputs.bt_mat))


# ---------------------------------------------------------------- rendering and assembly

def test_render_rejects_bad_pipelines():
    f = WgmmaForm(256, "f16", "f32")
    with pytest.raises(UserError, match="do not fit"):
        render(f, pipeline(2, 4))                  # 2 x 128 accumulator registers
    with pytest.raises(UserError, match="multiple of 8"):
        render(WgmmaForm(64, "f16", "f32"), Pipeline(1, 1, 0, 6))
    with pytest.raises(UserError, match="must divide"):
        render(WgmmaForm(64, "f16", "f32"), Pipeline(1, 3, 0, 8))
    assert pipeline(1, 16).unroll == 16 and pipeline(2, 4).unroll == 8


def test_rendered_ptx_targets_sm_90a_and_stores_every_accumulator():
    f = WgmmaForm(128, "e4m3", "f16", "rs", "none")
    ptx = render(f, pipeline(2, 4))
    assert ".target sm_90a" in ptx and ".version 8.0" in ptx
    stored = sum(len(m.split(",")) for m in re.findall(r"st\.global(?:\.v\d)?\.b32\s+\[[^]]+\], \{?([^;}]+)", ptx))
    assert stored == 2 * f.c_regs
    body = ptx.split("$loop:")[1].split("$after:")[0]
    assert body.count("wgmma.commit_group") == 16 // 4 and body.count("wait_group.sync.aligned 1") == 4
    assert body.count(", -1, 1;") == 8                  # the "-" half of the steps (FP8: no trans)


@pytest.mark.parametrize("form", ROTATED, ids=lambda f: f.name)
def test_every_form_assembles_for_sm_90a_with_its_opcode_pipelined(form):
    row = check_form(form)
    assert row["ok"], row
    assert row["target"] == "sm_90a"
    text = toolchain.disassemble(toolchain.assemble(render(form, LATENCY), "sm_90a").cubin)
    assert sass.loop_count(text, form.sass) == LATENCY.per_trip
    hist = sass.histogram(text)
    other = form.twin.sass if form.twin else None
    assert other is None or other not in hist          # f16 acc hides no F32 GMMA, nor conversely
    assert all(op == form.sass for op in hist if "GMMA" in op)


def test_accumulator_registers_as_documented():
    r32 = check_form(WgmmaForm(256, "f16", "f32"), pipe=pipeline(1, 4))["registers"]
    r16 = check_form(WgmmaForm(256, "f16", "f16"), pipe=pipeline(1, 4))["registers"]
    assert r32 >= 128 and r16 >= 64 and r32 - r16 >= 48


def test_sass_check_catches_a_serialized_pipeline():
    form = WgmmaForm(64, "f16", "f32")
    pipe = pipeline(1, 4)
    text = toolchain.disassemble(toolchain.assemble(render(form, pipe), "sm_90a").cubin)
    assert Lowering(form.sass).loop_check(text, pipe.per_trip) == (pipe.per_trip, "")
    assert waits_problem(form, pipe, text) == ""
    # one extra wait per wgmma, as a serialized pipeline has
    lines = text.splitlines()
    hacked = []
    for line in lines:
        hacked.append(line)
        m = re.match(r"(\s*/\*)([0-9a-f]{4,})(\*/\s+)HGMMA", line)
        if m:
            hacked.append(f"{m.group(1)}{int(m.group(2), 16) + 8:04x}{m.group(3)}"
                          "WARPGROUP.DEPBAR.LE gsb0, 0x0 ;")
    assert "serialized" in waits_problem(form, pipe, "\n".join(hacked))
    assert "per loop trip" in Lowering(form.sass).loop_check(text, pipeline(2, 4).per_trip)[1]


def test_sass_parser_reads_gmma_opcodes():
    text = ("        /*05a0*/                   HGMMA.64x256x16.F32 R24, R164, gdesc[UR8], R24 ;\n"
            "        /*05c0*/                   QGMMA.64x128x32.F16.E4M3.E4M3 R56, gdesc[UR4].negA, R56, gsb0 ;\n"
            "        /*05d0*/                   HMMA.16816.F32 R4, R8, R12, R4 ;\n")
    assert [i.opcode for i in sass.parse(text)[0]] == [
        "HGMMA.64x256x16.F32", "QGMMA.64x128x32.F16.E4M3.E4M3", "HMMA.16816.F32"]


def test_unsupported_arch_is_a_clear_error():
    for arch in ("sm_80", "sm_89", "sm_100", "sm_120"):
        with pytest.raises(UserError, match="wgmma needs sm_90a"):
            check_form(WgmmaForm(64, "f16", "f32"), arch)
    from mmabench.instructions.suite import unsupported_rows
    from mmabench.wgmma.suite import UNSUPPORTED, Wgmma, summary
    form = WgmmaForm(64, "f16", "f32")
    assert form.runs_on("sm_90") and not form.runs_on("sm_100") and not form.runs_on("sm_89")
    rows = unsupported_rows(Wgmma(), catalogue.select(ns=[64]), "sm_89")
    assert {r["status"] for r in rows} == {"unsupported"}
    assert UNSUPPORTED in rows[0]["error"] and "not supported on this GPU" in summary(rows)


# ---------------------------------------------------------------- registry and CLI

def test_registry_family_and_twins():
    from mmabench.compiler.registry import FAMILIES, all_kernels

    assert "wgmma" in FAMILIES
    specs = all_kernels(["wgmma"])
    assert len(specs) == 2 * len(catalogue.FORMS)
    names = {s.name for s in specs}
    assert all(s.twin is None or s.twin in names for s in specs)
    spec = next(s for s in specs if s.name == "wgmma.m64n256k16.f16.acc_f16.ss.sw128.thr")
    assert spec.supports("sm_90a") and not spec.supports("sm_90") and not spec.supports("sm_89")
    assert spec.tags["acc_regs_per_thread"] == 64 and spec.tags["report_default"]
    assert ".target sm_90a" in spec.ptx("sm_90a")


def test_regs_report_diff_acc_shows_the_accumulator_registers():
    from mmabench.compiler.report import compile_report, diff_acc

    rows = compile_report(kernels=["wgmma.m64n256k16.f16.acc_f*.ss.sw128.thr"],
                          archs=["sm_90", "sm_80", "sm_100"], jobs=2)
    ok = {r["kernel"]: r for r in rows if r["status"] == "ok"}
    assert {r["target"] for r in ok.values()} == {"sm_90a"}
    assert {r["status"] for r in rows if r["arch"] != "sm_90"} == {"n/a"}
    (d,) = [d for d in diff_acc(rows) if d["status"] == "ok"]
    assert d["regs_f32"] >= 128 and d["regs_f16"] < d["regs_f32"]


def test_cli_offline_and_input_errors(capsys):
    from mmabench.cli import main

    assert main(["wgmma", "--offline", "--n", "16", "--type", "bf16"]) == 0
    out = capsys.readouterr().out
    assert "HGMMA.64x16x16.F32.BF16" in out and "ok" in out
    assert main(["wgmma", "--offline", "--arch", "sm_89", "--n", "16", "--type", "f16"]) == 0
    assert "wgmma needs sm_90a" in capsys.readouterr().out
    assert main(["wgmma", "--n", "24"]) == 2
    assert main(["wgmma", "--type", "fp8"]) == 2
    assert main(["wgmma", "--a", "smem"]) == 2
    assert main(["wgmma", "--quick", "--full"]) == 2
    assert main(["wgmma", "--dump-layout", "x"]) == 2
    err = capsys.readouterr().err
    assert "accepted: 8,16,32,64,128,256" in err and "accepted: f16, bf16, e4m3, e5m2" in err


def test_cli_default_selection():
    import argparse
    from mmabench.cli import build_parser
    from mmabench.wgmma.cli import selected_forms

    args = build_parser().parse_args(["wgmma"])
    forms = selected_forms(args)
    assert {f.n for f in forms} == set(catalogue.DEFAULT_NS)
    assert {(f.a_src, f.swizzle) for f in forms} == {("ss", "128b")} and len(forms) == 28
    full = selected_forms(build_parser().parse_args(["wgmma", "--full"]))
    assert len(full) == len(catalogue.FORMS)
    assert isinstance(args, argparse.Namespace)


# ---------------------------------------------------------------- the host path, end to end

def _emulate(form, inputs):
    """What a correct wgmma computes from the kernel's operands (one step on K-slice 0), using
    the independent tile-fetch model above and the A register map: u32 [1, ilp, 128, c_regs]."""
    tile = layout.TileLayout(form.swizzle)

    def values(raw):
        return fr.from_bits(raw.view(np.uint16) if form.elem_bytes == 2 else raw, form.ab_type)

    b = values(_hardware_read(inputs.b, tile, 0, form.n))
    if form.a_src == "ss":
        a = values(_hardware_read(inputs.a, tile, 0, 64))
    else:
        rows, cols = fr.a_coords(form.elem_bytes)
        elems = np.ascontiguousarray(inputs.a[0]).view(np.uint16 if form.elem_bytes == 2 else np.uint8)
        a = np.full((64, form.k), np.nan)
        a[rows, cols] = fr.from_bits(elems, form.ab_type)
    c = fr.d_matrix(form, inputs.c)
    d = fr.quantize(c + (a @ b.T)[None], form.acc)
    return np.stack([fr.d_fragment(form, dj) for dj in d])[None]


@pytest.fixture
def numpy_as_cupy(monkeypatch):
    import sys
    import types
    fake = types.SimpleNamespace(float32=np.float32, float16=np.float16, float64=np.float64,
                                 isfinite=np.isfinite, asarray=np.asarray, abs=np.abs)
    monkeypatch.setitem(sys.modules, "cupy", fake)


@pytest.mark.parametrize("form", [WgmmaForm(16, "f16", "f16", "ss", "128b"),
                                  WgmmaForm(64, "bf16", "f32", "rs", "none"),
                                  WgmmaForm(32, "e4m3", "f32", "rs", "128b"),
                                  WgmmaForm(8, "e5m2", "f16", "ss", "none")], ids=str)
def test_exact_check_passes_a_correct_result_and_diagnoses_a_wrong_one(form, numpy_as_cupy):
    from mmabench.wgmma import bench

    inputs = bench.make_inputs(form, 2, np.random.default_rng(5), exact=True, device=False)
    d = _emulate(form, inputs)
    assert bench.check(form, d, inputs, 0, exact=True) == 0
    bad = d.copy()
    bad[0, 1, 37, 0] ^= 1 << 22 if form.acc == "f32" else 1 << 9   # a mantissa bit, chain 1
    with pytest.raises(bench.MeasurementError, match="1 elements"):
        bench.check(form, bad, inputs, 0, exact=True)
    got = fr.d_matrix(form, bad[0])
    text = bench.diagnose(form, got[1], inputs, 1)
    r, c = fr.d_coords(form.n)
    assert f"(row {r[37, 0]}, col {c[37, 0]})" in text and "1 of" in text
    untouched = fr.d_matrix(form, np.asarray(inputs.c))[0]
    assert "C untouched" in bench.diagnose(form, untouched, inputs, 0)
    with pytest.raises(bench.MeasurementError, match="not finite"):
        bench.check(form, np.full_like(d, bench.POISON), inputs, 0, exact=True)


@pytest.mark.parametrize("form", [WgmmaForm(64, "f16", "f32", "ss", "128b"),
                                  WgmmaForm(64, "e4m3", "f16", "rs", "none")], ids=str)
def test_every_chain_nets_zero_per_trip(form):
    """In the loop, each accumulator gets +A_s then -A_s on each of the 4 K-slices, so the trip
    adds nothing in exact arithmetic (what lets the check expect C + A_0 B_0)."""
    ptx = render(form, pipeline(2, 4))
    body = ptx.split("$loop:")[1].split("$after:")[0]
    seen: dict[str, list[tuple[int, int]]] = {}
    for line in body.splitlines():
        if "wgmma.mma_async" not in line:
            continue
        acc = re.search(r"\{(%acc\d+),", line).group(1)
        s = int(re.search(r"%db(\d)", line).group(1))
        if form.a_src == "ss":
            assert f"%da{s}" in line                    # A and B read the same K-slice
        else:
            assert f"%a{4 * s}," in line
        sign = -1 if re.search(r", 1, -1, 1[,;]", line) else 1
        seen.setdefault(acc, []).append((s, sign))
    assert len(seen) == 2
    for steps in seen.values():
        assert steps == [(s, sign) for s in range(4) for sign in (1, -1)]
