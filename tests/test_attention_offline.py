"""Every attention variant compiles offline (NVRTC -> PTX -> ptxas) for sm_80, sm_89 and sm_90,
with the accumulator opcodes it means in its loop, ldmatrix and cp.async in its SASS."""

import pytest

from mmabench.compiler import sass, toolchain
from mmabench.attention import build, offline, variants

ARCHS = ["sm_80", "sm_89", "sm_90"]
VARIANTS = variants.all_variants()


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("v", VARIANTS, ids=lambda v: v.name)
def test_variant_assembles_with_the_meant_sass(v, arch):
    row = offline.check_variant(v, arch)
    assert row["ok"], row["problems"]
    assert row["registers"] <= 255 and row["ldsm"] > 0


def test_ptx_is_header_free_and_states_a_low_isa():
    v = variants.variant(64, "f32", "f32")
    ptx = build.ptx_for(v)
    assert f".version {build.PTX_VERSION}" in ptx and ".target sm_80" in ptx
    assert f".entry {v.entry}(" in ptx
    for instr in ("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32", "ldmatrix.sync.aligned.m8n8.x4.shared.b16",
                  "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16", "cp.async.cg.shared.global",
                  "cp.async.wait_group", "ex2.approx.ftz.f32"):
        assert instr in ptx, instr


def test_accumulator_choice_changes_the_hmma_opcodes():
    """Same tiles, four accumulator schemes: the HMMA split follows the choice."""
    t = variants.Tiles(4, 1, 64)
    counts = {}
    for s, o in (("f32", "f32"), ("f16", "f32"), ("f32", "f16"), ("f16q", "f16f32")):
        v = variants.variant(128, s, o, tiles=t)
        text = toolchain.disassemble(toolchain.assemble(build.ptx_for(v), "sm_90").cubin)
        h = sass.histogram(text)
        counts[(s, o)] = (h.get("HMMA.16816.F32", 0), h.get("HMMA.16816.F16", 0))
    per = 1 * (128 // 16) * (64 // 8)   # S mmas per tile = O mmas per tile here
    assert counts[("f32", "f32")] == (2 * per, 0)
    assert counts[("f16", "f32")] == (per, per)
    assert counts[("f32", "f16")] == (per, per)
    assert counts[("f16q", "f16f32")] == (0, 2 * per)


def test_expected_hmma_counts_follow_the_tiles():
    v = variants.variant(64, "f16", "f32", tiles=variants.Tiles(4, 2, 128))
    want = offline.expected_hmma(v)
    assert want["HMMA.16816.F16"] == 2 * 4 * 16 and want["HMMA.16816.F32"] == 2 * 8 * 8


@pytest.mark.parametrize("dim", [64, 128])
def test_tuned_f32_variants_do_not_spill_on_sm90(dim):
    """The f32/f32 kernels that the speed claim rests on keep everything in registers."""
    for norm in variants.NORMS:
        v = variants.variant(dim, "f32", "f32", norm)
        _, res = build.assemble(v, "sm_90")
        assert not res.spills, (v.name, res)


def test_occupancy_model_uses_the_arch_limits():
    assert offline.occupancy("sm_90", 255, 128, 96 * 1024) == 2   # registers and smem both allow 2
    assert offline.occupancy("sm_90", 128, 128, 48 * 1024) == 4
    assert offline.occupancy("sm_89", 128, 128, 160 * 1024) == 0  # over the 99 KiB block limit


def _limit(arch):
    from mmabench import hardware
    return hardware.smem_per_block(arch)


def test_tiles_are_cut_to_fit_smaller_shared_memory():
    for v in VARIANTS:
        for arch in ("sm_80", "sm_86", "sm_89", "sm_90"):
            fitted = variants.fit(v, _limit(arch))
            assert fitted.tiles.smem_bytes(v.dim) <= _limit(arch)
            assert fitted.tiles.valid_for(v.dim) is None and fitted.tiles.bc >= 32
            if v.tiles.smem_bytes(v.dim) <= _limit(arch):
                assert fitted is v          # tuned tiles that fit are kept as they are
    assert variants.Tiles(4, 1, 64).fitted(256, 1024) is None
    with pytest.raises(variants.UserError, match="no tiles fit"):
        variants.fit(variants.variant(256, "f32", "f32"), 1024)


@pytest.mark.parametrize("arch", ["sm_80", "sm_89"])
def test_cut_tiles_build_and_launch_where_the_tuned_ones_cannot(arch):
    """Tuned on an H100 (227 KiB per block), the d=256 tiles cannot launch on A100 or Ada; the
    tiles they are cut to must assemble with the meant SASS and fit at least one block per SM."""
    cut = {}
    for v in VARIANTS:
        fitted = variants.fit(v, _limit(arch))
        if fitted is not v:
            cut.setdefault(fitted.tiles, fitted)
    assert cut, "expected some variant to need smaller tiles"
    for v in cut.values():
        row = offline.check_variant(v, arch)
        assert row["ok"], row["problems"]
        assert row["blocks_per_sm"] >= 1
