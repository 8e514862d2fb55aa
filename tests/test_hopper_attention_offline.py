"""The Hopper attention kernel (kernels/hopper_attention.cu) without a GPU: its variants, tiles,
tensor maps and wgmma wrappers as data, and every shipped variant assembled by ptxas for sm_90a
with no spills, no serialized wgmma, and the HGMMA per tile that its tiles mean."""

import json

import pytest

from mmabench.attention import checks, cli, hopper_maps, launch, variants
from mmabench.attention.variants import HopperTiles
from mmabench.core.errors import UserError
from mmabench.hopper import wgmma_wrappers


def test_wrappers_name_every_accumulator_register_once():
    text = wgmma_wrappers.wrapper("ss", 176, False)
    assert "m64n176k16.f32.f16.f16" in text and "REGS = 88" in text
    assert text.count('"+f"(d[') == 88 and "%87}, %88, %89" in text and "setp.ne.b32 p, %90" in text
    rs = wgmma_wrappers.wrapper("rs", 128, True)
    assert "REGS = 32" in rs and "{%32, %33, %34, %35}, %36, p, 1, 1, 1" in rs   # A regs, trans-b
    with pytest.raises(UserError, match="N = 8..256"):
        wgmma_wrappers.wrapper("ss", 100, False)


def test_tiles_say_what_cannot_build():
    assert HopperTiles(2, 128, 3).valid_for(128) is None
    assert "sm_90a only" in HopperTiles(2, 128, 3).valid_for(128, "sm_80")
    assert "shared memory" in HopperTiles(2, 128, 4).valid_for(256)
    assert "multiple of 16" in HopperTiles(2, 72, 2).valid_for(64)
    assert HopperTiles(2, 128, 4).fitted(128, 232448) == HopperTiles(2, 128, 3)
    with pytest.raises(UserError, match="f32 or f16q"):
        variants.hopper_variant(128, "f16", "f32")


def test_tensor_maps_are_three_dimensional_per_head():
    v = variants.hopper_variant(128, "f32", "f32", tiles=HopperTiles(2, 96, 3))
    q, k, vv, o = hopper_maps.tiles(v, checks.check_shape(3, 5, 17, 128))
    for t, rows in ((q, 128), (k, 96), (vv, 96), (o, 64)):
        args = t.encoder_args()
        assert args["rank"] == 3 and args["global_dims"] == (128, 17, 15)
        assert args["global_strides_bytes"] == (256, 17 * 128 * 2)
        assert args["box_dims"] == (64, rows, 1)


def test_kernel_choice():
    assert cli.kernels_for(None, "sm_90") == ("fa2", "hopper")
    assert cli.kernels_for(None, "sm_80") == ("fa2",)
    with pytest.raises(UserError, match="needs an sm_90 GPU"):
        cli.kernels_for("hopper", "sm_89")
    with pytest.raises(UserError, match="accepted"):
        cli.kernels_for("fa3", None)
    assert launch.default_variant(128, "f32", "f32", "delayed", "auto", "sm_90").kernel == "hopper"
    assert launch.default_variant(128, "f16", "f32", "delayed", "auto", "sm_90").kernel == "fa2"
    assert launch.default_variant(128, "f32", "f32", "delayed", "auto", "sm_80").kernel == "fa2"
    with pytest.raises(UserError, match="accepted"):
        launch.default_variant(128, "f32", "f32", "delayed", "fa3", "sm_90")


def test_registry_builds_hopper_variants_for_sm90a_only():
    from mmabench.attention.registry import kernel_specs
    from mmabench.compiler.report import target_for
    specs = [s for s in kernel_specs() if s.tags["kernel"] == "hopper"]
    assert len({s.name for s in specs}) >= len(variants.all_hopper_variants())
    assert all(target_for(s, "sm_90") == "sm_90a" and target_for(s, "sm_80") is None for s in specs)


@pytest.mark.parametrize("v", variants.all_hopper_variants(norms=("delayed",)), ids=lambda v: v.name)
def test_shipped_variant_assembles_clean(v):
    from mmabench.attention import offline
    row = offline.check_variant(v, "sm_90a")
    assert row["ok"], row["problems"]
    assert row["spill_stores"] == 0 and row["spill_loads"] == 0, v.name


def test_overlap_keeps_the_softmax_between_the_two_waits():
    """With overlap the SASS runs a tile's exponentials after the wait for S (DEPBAR 0x1) and
    before the wait for P.V (0x0); ptxas otherwise hoists the second wait above them."""
    from mmabench.attention import build
    from mmabench.compiler import toolchain
    v = variants.hopper_variant(128, "f32", "f32", tiles=HopperTiles(2, 128, 3, overlap=True))
    assert v.name.endswith("c2k128s3o") and v.tiles.label.endswith(" ovl")
    asm, res = build.assemble(v, "sm_90a")
    text = toolchain.disassemble(asm.cubin)
    after_s = text.index("WARPGROUP.DEPBAR.LE gsb0, 0x1")
    after_pv = text.index("WARPGROUP.DEPBAR.LE gsb0, 0x0", after_s)
    assert text[after_s:after_pv].count("MUFU.EX2") == 128 // 2 + 2    # p per element, 2 alphas
    assert res.spill_stores == 0


def test_tuned_entries_without_the_overlap_field_read_as_off(tmp_path):
    import json
    path = tmp_path / "tuned.json"
    path.write_text(json.dumps({"entries": [], "hopper_entries": [
        {"dim": 64, "acc_s": "f32", "acc_o": "f32", "norm": "delayed",
         "tiles": {"consumers": 3, "bc": 128, "stages": 4}}]}))
    assert variants.load_hopper_tuned(path)[(64, "f32", "f32", "delayed")] == HopperTiles(3, 128, 4, False)


@pytest.mark.parametrize("dim, tiles", [(128, HopperTiles(2, 128, 3, pingpong=True)),
                                        (64, HopperTiles(3, 128, 4, pingpong=True))],
                         ids=["2 consumers", "3 consumers"])
def test_pingpong_takes_turns_around_each_tiles_wgmmas(dim, tiles):
    """Ping-pong: in the loop, a warpgroup waits for its turn (BAR.SYNC, 256 threads) before its
    S wgmmas and passes the turn on (BAR.ARV) after its P.V wgmmas and before it waits for them;
    the turn barriers (ids after the per-warpgroup ones) get one hand-out before the loop and one
    take-back at the end, and ptxas keeps the wgmmas asynchronous (no C7519: the build would fail)."""
    import re
    from mmabench.attention import build
    from mmabench.compiler import toolchain
    v = variants.hopper_variant(dim, "f32", "f32", tiles=tiles)
    assert v.name.endswith("g") and v.tiles.label.endswith(" pp")
    asm, res = build.assemble(v, "sm_90a")
    assert res.spill_stores == 0 and res.spill_loads == 0
    lines = [x.split("*/", 1)[1].strip() for x in toolchain.disassemble(asm.cubin).splitlines()
             if re.search(r"/\*[0-9a-f]{4}\*/", x)]
    ops = [x for x in lines if re.match(r"(@\S+ )?(BAR\.|HGMMA|WARPGROUP\.DEPBAR)", x)]
    turn = 1 + tiles.consumers
    assert f"BAR.ARV {turn:#x}, 0x100 ;" in " ".join(ops)                  # the first turn, handed out
    assert f"BAR.SYNC.DEFER_BLOCKING {turn:#x}, 0x100 ;" in " ".join(ops)  # the surplus, taken back
    wait = next(i for i, x in enumerate(ops) if re.match(r"BAR\.SYNC\S* R\d+, 0x100", x))
    s_ops = [f"HGMMA.64x{tiles.bc}x16.F32"] * (dim // 16)
    assert [x.split()[0] for x in ops[wait + 1:wait + 1 + dim // 16]] == s_ops
    after = ops[wait + 1 + dim // 16:]
    pv = [x.split()[0] for x in after[:tiles.bc // 16]]
    assert pv == [f"HGMMA.64x{dim}x16.F32"] * (tiles.bc // 16)
    assert re.match(r"BAR\.ARV R\d+, 0x100", after[tiles.bc // 16])
    assert after[tiles.bc // 16 + 1].startswith("WARPGROUP.DEPBAR")


def test_packed_softmax_works_on_the_f16_accumulator():
    """S=f16p: the exponentials are MUFU.EX2.F16 (two per f16x2 pair), the row maxima VHMNMX,
    and the only f32 exponentials are the two row rescale factors per tile (twice: tile 0 is
    peeled); P is the accumulator itself, so no F2FP packs it."""
    from mmabench.attention import build
    from mmabench.compiler import sass, toolchain
    v = variants.hopper_variant(128, "f16p", "f16", tiles=HopperTiles(2, 128, 3))
    asm, res = build.assemble(v, "sm_90a")
    hist = sass.histogram(toolchain.disassemble(asm.cubin))
    assert hist["MUFU.EX2.F16"] == 2 * 64 and hist["MUFU.EX2"] == 2 * 2
    assert hist.get("VHMNMX", 0) + hist.get("HMNMX2", 0) > 0
    q = variants.hopper_variant(128, "f16q", "f16", tiles=HopperTiles(2, 128, 3))
    unpacked = sass.histogram(toolchain.disassemble(build.assemble(q, "sm_90a")[0].cubin))
    # per tile, P's 32 packs are gone and the two rows' -m splats come in (tile 0 is peeled)
    assert hist["F2FP.F16.F32.PACK_AB"] <= unpacked["F2FP.F16.F32.PACK_AB"] - 2 * 32 + 2 * 2
    assert res.spill_stores == 0
    with pytest.raises(UserError, match="accepted"):
        variants.variant(128, "f16p", "f32")           # the FA2-class kernel has no packed softmax


def test_poly_exp2_is_within_the_f16_rounding_of_p():
    from mmabench.attention import poly_exp
    err = poly_exp.max_relative_error()
    assert err < 1e-4 < 2.0 ** -11                   # P is rounded to f16 (2^-11) after it
    assert poly_exp.max_relative_error(-1.0, 0.0, 100_001) < 1e-4
    tiny = poly_exp.ex2_poly([float("-inf"), -1000.0])
    assert (tiny > 0).all() and (tiny < 1e-37).all()  # masked keys: f16 P rounds them to 0


def test_poly_moves_its_share_of_the_exponentials_off_mufu():
    from mmabench.attention import build
    from mmabench.compiler import sass, toolchain

    def hist(poly):
        v = variants.hopper_variant(128, "f32", "f32", tiles=HopperTiles(2, 128, 3, poly=poly))
        asm, res = build.assemble(v, "sm_90a")
        assert res.spill_stores == 0
        return sass.histogram(toolchain.disassemble(asm.cubin)), v
    base, _ = hist(0)
    moved, v = hist(2)
    assert v.tiles.tag.endswith("p2") and "poly2/8" in v.tiles.label
    # 64 exponentials per thread and tile, 2/8 of them by polynomial, + 2 row factors; tile 0 peeled
    assert base["MUFU.EX2"] == 2 * (64 + 2) and moved["MUFU.EX2"] == 2 * (48 + 2)
    assert moved["FFMA.FTZ"] >= base["FFMA.FTZ"] + 2 * 16 * 3      # three FMAs per polynomial


def test_the_packed_poly_exp2_is_about_as_close_as_f16_rounding():
    """Every f16 input of [-25, 3] through the kernel's f16x2 arithmetic (emulated bit for bit):
    within 0.82 f16 units in the last place of 2^x (correct rounding: 0.5), and masked keys
    (-inf, clamped at -25) give exactly 0."""
    import numpy as np
    from mmabench.attention import poly_exp
    err = poly_exp.f16_error(poly_exp.LOWEST_F16, poly_exp.HIGHEST_F16)
    assert err["inputs"] > 30_000 and err["max_ulp"] < 0.9 and err["max_relative"] < 2.0 ** -10.5
    y = poly_exp.ex2_poly_f16x2([float("-inf"), -1000.0, -25.0, -24.0, -14.0, 0.0, 3.0])
    assert list(y[:3]) == [0, 0, 0] and y[3] == 2.0 ** -24 and y[4] == 2.0 ** -14
    assert y[5] == 1 and y[6] == 8
    defines = poly_exp.defines()
    assert defines["HATTN_POLY_H_SCALE"] == "0x0c000c00u"          # 2^-12 in both halves
    assert np.float16(2.0 ** (poly_exp.LOWEST_F16 + poly_exp.EXPONENT_OFFSET_F16)) == poly_exp.SCALE_F16


def test_the_packed_poly_moves_its_share_of_the_f16_exponentials_to_hfma2():
    from mmabench.attention import build
    from mmabench.compiler import sass, toolchain

    def hist(poly):
        v = variants.hopper_variant(128, "f16p", "f16", tiles=HopperTiles(2, 128, 3, poly=poly))
        asm, res = build.assemble(v, "sm_90a")
        assert res.spill_stores == 0
        return sass.histogram(toolchain.disassemble(asm.cubin))
    base, moved = hist(0), hist(2)
    # 32 f16x2 registers of S per thread and tile, 2/8 of them (8 pairs) by polynomial: two
    # MUFU.EX2.F16 fewer per pair, three HFMA2 more; tile 0 is peeled (two copies in the SASS)
    assert base["MUFU.EX2.F16"] - moved["MUFU.EX2.F16"] == 2 * 8 * 2
    assert moved["HFMA2"] - base["HFMA2"] == 2 * 8 * 3
    assert moved["HMUL2"] - base["HMUL2"] == 2 * 8                 # the rounding into subnormals
    with pytest.raises(UserError, match="lazy rescaling with O f32"):
        variants.hopper_variant(128, "f16p", "f32", tiles=HopperTiles(2, 128, 3, poly=2, lazy=True))
    assert variants.hopper_variant(128, "f16p", "f16", tiles=HopperTiles(2, 128, 3, poly=2, lazy=True))


def test_overlap_with_the_packed_softmax_is_refused_because_ptxas_serializes_its_wgmma():
    """The rule behind hopper_option_conflict's overlap clause, rechecked on the installed ptxas:
    with S f16p the overlap branch makes ptxas serialize the wgmma pipeline (C7511/C7515), which
    the build refuses; the same cut without it, or overlap with S f16q, builds clean."""
    from dataclasses import replace

    from mmabench.attention import build
    from mmabench.compiler.toolchain import CompileError
    cut = HopperTiles(2, 128, 3)
    with pytest.raises(UserError, match="overlap with S f16p"):
        variants.hopper_variant(128, "f16p", "f16", tiles=replace(cut, overlap=True))
    serialized = variants.Variant(128, "f16p", "f16", "delayed", replace(cut, overlap=True))
    with pytest.raises(CompileError, match=r"C75(11|15)"):
        build.assemble(serialized, variants.HOPPER_ARCH)
    build.assemble(variants.hopper_variant(128, "f16p", "f16", tiles=cut), variants.HOPPER_ARCH)
    build.assemble(variants.hopper_variant(128, "f16q", "f16", tiles=replace(cut, overlap=True)),
                   variants.HOPPER_ARCH)


def test_the_f32_tiles_twin_of_a_hopper_variant_leaves_off_the_options_its_scheme_excludes():
    from mmabench.attention import bench
    ref_tiles = HopperTiles(2, 128, 3, overlap=True, pingpong=True, lazy=True)
    ref = variants.hopper_variant(128, "f32", "f32", tiles=ref_tiles)
    own = HopperTiles(3, 112, 3, pingpong=True, lazy=True)
    packed = variants.hopper_variant(128, "f16p", "f16", tiles=own)
    prescaled = variants.hopper_variant(128, "f16q", "f16", tiles=own)
    inloop_ref = variants.hopper_variant(128, "f32", "f32", "inloop", tiles=replace_lazy(ref_tiles))
    inloop = variants.hopper_variant(128, "f16q", "f16", "inloop", tiles=HopperTiles(3, 112, 3))
    twins = {label: twin.tiles for twin, label, _ in
             bench.same_tiles_twins([ref, packed, prescaled, inloop_ref, inloop])}
    assert twins[packed.name + bench.SAME_TILES] == HopperTiles(2, 128, 3, pingpong=True, lazy=True)
    assert twins[prescaled.name + bench.SAME_TILES] == ref_tiles
    assert twins[inloop.name + bench.SAME_TILES] == HopperTiles(2, 128, 3, overlap=True, pingpong=True)
    assert variants.without_conflicts(ref_tiles, "f16p", "f32", "inloop") == HopperTiles(2, 128, 3, pingpong=True)


def replace_lazy(t: HopperTiles) -> HopperTiles:
    from dataclasses import replace
    return replace(t, lazy=False)


def test_the_tuner_times_the_options_on_the_best_cut_only():
    from mmabench.attention import tune
    cuts = tune.hopper_tile_space(128)
    assert cuts and all(not t.overlap and not t.poly and not t.pingpong for t in cuts)
    assert all(t.valid_for(128) is None for t in cuts)
    best = HopperTiles(2, 128, 3)
    every = {HopperTiles(2, 128, 3, o, p, g, z) for o in (False, True) for p in (0, 2)
             for g in (False, True) for z in (False, True)}
    f32 = variants.hopper_variant(128, "f32", "f32", tiles=best)
    assert set(tune.hopper_options(best, f32)) == every - {best}
    f16p = variants.hopper_variant(128, "f16p", "f16", tiles=best)       # no overlap: serialized
    assert set(tune.hopper_options(best, f16p)) == {t for t in every if not t.overlap} - {best}
    f16p_o32 = variants.hopper_variant(128, "f16p", "f32", tiles=best)     # tau 8: no packed poly
    assert set(tune.hopper_options(best, f16p_o32)) == {
        t for t in every if not (t.poly and t.lazy) and not t.overlap} - {best}
    folded = variants.hopper_variant(128, "f32", "f16f32", tiles=best)           # no lazy rescaling
    assert set(tune.hopper_options(best, folded)) == {t for t in every if not t.lazy} - {best}


@pytest.mark.parametrize("acc_o, op, per_value", [("f32", "FMUL", 1), ("f16", "HMUL2", 2)])
def test_lazy_rescaling_skips_the_o_rescale_behind_one_warp_vote(acc_o, op, per_value):
    """FlashAttention-4's conditional rescaling: after a warp vote (VOTE.ANY), one branch jumps
    over exactly O's rescale (d=256: 128 f32 values per thread, FMUL; or 64 f16x2 pairs, HMUL2)
    when no row maximum of the warp moved past the threshold."""
    import re
    from mmabench.attention import build
    from mmabench.compiler import toolchain
    v = variants.hopper_variant(256, "f32", acc_o, tiles=HopperTiles(2, 48, 3, lazy=True))
    assert v.name.endswith("r") and v.tiles.label.endswith(" lazy")
    asm, res = build.assemble(v, "sm_90a")
    assert res.spill_stores == 0 and res.spill_loads == 0
    text = toolchain.disassemble(asm.cubin)
    after_vote = text[text.index("VOTE.ANY"):]
    jump = re.search(r"@!?P\d BRA `?\(?(\.L_x_\d+)", after_vote)
    skipped = after_vote[jump.end():after_vote.index(jump.group(1) + ":")]
    values_per_thread = 256 * 64 // 128
    assert len(re.findall(rf"\b{op}\b", skipped)) == values_per_thread // per_value
    with pytest.raises(UserError, match="lazy"):
        variants.hopper_variant(128, "f32", "f16f32", tiles=HopperTiles(2, 128, 3, lazy=True))
    with pytest.raises(UserError, match="lazy"):
        variants.hopper_variant(128, "f32", "f32", "inloop", tiles=HopperTiles(2, 128, 3, lazy=True))


def test_the_tuner_builds_each_stages_candidates_together(monkeypatch):
    """Stage 1 (the cuts of every variant) and stage 2 (the options of each variant's best cut)
    are each built in one parallel batch before their timing, not one candidate at a time."""
    from mmabench.attention import tune
    vs = [variants.hopper_variant(128, "f32", "f32"), variants.hopper_variant(128, "f16p", "f16")]
    batches = []
    monkeypatch.setattr(tune, "assemble_all", lambda cands: batches.append(list(cands)))
    monkeypatch.setattr(tune, "candidates", lambda v, tiles=None: [(v.with_tiles(t), None) for t in
                                                                    (tiles or tune.tile_space(v.dim, v.kernel))])

    def timed(cands, case_list, rng, inputs):   # the widest cut wins stage 1, pingpong stage 2
        return [{"tiles": c.tiles, "score": c.tiles.bc + 1000 * c.tiles.pingpong} for c, _ in cands]
    monkeypatch.setattr(tune, "_timed", timed)
    results = tune.tune(vs, [], None)
    assert len(batches) == 2
    assert len(batches[0]) == sum(len(tune.tile_space(v.dim, v.kernel)) for v in vs)
    assert len(batches[1]) == sum(len(tune.hopper_options(HopperTiles(2, 128, 3), v)) for v in vs)
    for v in vs:
        tiles, rows = results[v.base_name]
        assert tiles.pingpong and len(rows) == len(tune.tile_space(128, "hopper")) + len(
            tune.hopper_options(max(tune.tile_space(128, "hopper"), key=lambda t: t.bc), v))


def test_the_options_only_search_keeps_each_tuned_cut_and_times_its_options(monkeypatch, tmp_path):
    """--tune-options: stage 1 times the variant's tuned cut alone (its options cleared), stage 2
    every option combination of that cut; the written entry says which search chose it."""
    from mmabench.attention import tune
    tuned = HopperTiles(3, 112, 3, overlap=True)
    v = variants.hopper_variant(128, "f16q", "f16", tiles=tuned)
    batches = []
    monkeypatch.setattr(tune, "assemble_all", lambda cands: batches.append([c.tiles for c in cands]))
    monkeypatch.setattr(tune, "candidates", lambda v, tiles=None: [(v.with_tiles(t), None) for t in tiles])
    monkeypatch.setattr(tune, "_timed", lambda cands, *a: [
        {"tiles": c.tiles, "score": 1 + c.tiles.lazy, "registers": 128} for c, _ in cands])
    results = tune.tune([v], [], None, options_only=True)
    cut = HopperTiles(3, 112, 3)
    assert batches == [[cut], tune.hopper_options(cut, v)]
    best, rows = results[v.base_name]
    assert best.lazy and (best.consumers, best.bc, best.stages) == (3, 112, 3)
    assert len(rows) == 1 + len(tune.hopper_options(cut, v))
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path / "cache"))
    tune.write_tuned(results, [v], "NVIDIA H200", [], options_only=True)
    entry = json.loads(variants.user_tuned_file().read_text())["hopper_entries"][0]
    assert entry["search"] == "options of the tuned cut" and entry["tiles"]["lazy"] is True


def _attention_args(*argv):
    import argparse

    from mmabench.attention import cli
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["attention", *argv])


def test_hopper_options_time_each_variant_again_with_the_sets_asked_for():
    """--hopper-options none,lazy,poly2+lazy: each Hopper variant at its cut with exactly those
    options, after the tuned ones (which stay the ratios' references), none twice, the sets a
    scheme excludes skipped (poly with f16p and lazy's tau 8); no same-tile twin duplicates one."""
    from mmabench.attention import bench, cli
    args = _attention_args("--kernel", "hopper", "--dim", "256", "--acc-s", "f32,f16p", "--acc-o",
                           "f32,f16", "--norm", "delayed", "--hopper-options", "none,lazy,poly2+lazy")
    vs = cli.selected_variants(args, "sm_90")
    tuned = [variants.hopper_variant(256, s, o) for s in ("f32", "f16p") for o in ("f32", "f16")]
    assert [v.name for v in vs[:4]] == [v.name for v in tuned]
    extra = vs[4:]
    assert len({v.name for v in vs}) == len(vs)
    assert all(v.tiles.consumers == t.tiles.consumers and v.tiles.bc == t.tiles.bc
               for v in extra for t in tuned if t.base_name == v.base_name)
    assert {v.tiles.lazy for v in extra} == {False, True} and {v.tiles.poly for v in extra} == {0, 2}
    assert not [v for v in extra if v.acc_s == "f16p" and v.acc_o == "f32" and v.tiles.poly]
    twins = [t.name for t, _, _ in bench.same_tiles_twins(vs)]
    assert len(twins) == len(set(twins)) and not set(twins) & {v.name for v in vs}


@pytest.mark.parametrize("argv, words", [
    (["--kernel", "hopper", "--hopper-options", "lazy+fast"], "unknown Hopper tile option 'fast'"),
    (["--kernel", "hopper", "--hopper-options", "lazy,,none"], "empty item in the --hopper-options list"),
    (["--kernel", "fa2", "--hopper-options", "lazy"], "applies to the Hopper kernel"),
])
def test_hopper_options_that_cannot_apply_are_one_line(argv, words):
    from mmabench.attention import cli
    with pytest.raises(UserError, match=words):
        cli.selected_variants(_attention_args(*argv), "sm_90")


def test_a_siblings_tiles_lose_the_options_this_scheme_excludes(monkeypatch):
    """The in-loop scheme and f16p inherit tiles (their delayed / f16q sibling's); a lazy option
    there, which they cannot take, is dropped rather than making every variant unbuildable."""
    tuned = {(128, "f32", "f32", "delayed"): HopperTiles(2, 128, 3, lazy=True),
             (128, "f16q", "f32", "delayed"): HopperTiles(2, 128, 3, poly=2, lazy=True)}
    monkeypatch.setattr(variants, "hopper_tuned", lambda: tuned)
    assert variants.hopper_tiles_for(128, "f32", "f32", "inloop") == HopperTiles(2, 128, 3)
    assert variants.hopper_tiles_for(128, "f16p", "f32", "delayed") == HopperTiles(2, 128, 3, poly=2)
    assert variants.hopper_tiles_for(128, "f32", "f32", "delayed").lazy


@pytest.mark.parametrize("argv, message", [
    (["attention", "--tune-options"], "--tune-options applies only to --tune"),
    (["attention", "--tune", "--tune-options"], "the FA2-class kernel has none: add --kernel hopper"),
    (["attention", "--tune", "--tune-options", "--kernel", "fa2"], "add --kernel hopper"),
])
def test_tune_options_is_refused_where_it_means_nothing(argv, message, capsys):
    from mmabench import cli as main_cli
    assert main_cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
