"""The tile constraints live in one place (variants.TILE_CONSTRAINTS): Python checks them before a
build, and the kernel's static_asserts are generated from the same table (ATTN_TILE_ASSERTS)."""

import json
import re

import pytest

from mmabench import hardware
from mmabench.compiler import toolchain
from mmabench.attention import build, variants
from mmabench.attention.variants import Tiles, Variant


def _compile(v: Variant) -> str:
    return toolchain.nvrtc_to_ptx(build.render(v), "compute_80", build.NVRTC_OPTIONS,
                                  name=f"{v.name}.cu")


def test_the_rendered_kernel_asserts_the_tables_constraints():
    text = build.render(variants.variant(64, "f32", "f32"))
    for expr, why in variants.TILE_CONSTRAINTS:
        assert f"static_assert({expr}, {json.dumps(why)});" in text


@pytest.mark.parametrize("dim, tiles", [(64, Tiles(1, 1, 16)), (128, Tiles(2, 3, 48)),
                                        (256, Tiles(8, 1, 32)), (64, Tiles(4, 2, 80, q_regs=True))],
                         ids=["d64-w1m1c16", "d128-w2m3c48", "d256-w8m1c32", "d64-w4m2c80r"])
def test_the_kernel_refuses_no_tiles_the_table_accepts(dim, tiles):
    """Odd tiles, none of them a tuned variant's: the table accepts them, so the kernel builds
    (a tile constraint of the kernel's own, not in the table, would refuse one of them)."""
    assert tiles.broken_constraint(dim) is None
    v = Variant(dim, "f32", "f16", "delayed", tiles)
    assert f".entry {v.entry}" in _compile(v)


@pytest.mark.parametrize("dim, tiles, index", [
    (96, Tiles(4, 1, 64), 0),          # d not a multiple of 64
    (64, Tiles(4, 1, 24), 1),          # keys per tile not a multiple of 16
    (64, Tiles(8, 1, 16), 4),          # K/V tile does not split over 256 threads
], ids=["dim", "keys", "kv-split"])
def test_python_and_the_kernel_refuse_the_same_tiles_for_the_same_reason(dim, tiles, index):
    why = variants.TILE_CONSTRAINTS[index][1]
    assert tiles.broken_constraint(dim) == why
    v = Variant(dim, "f32", "f32", "delayed", tiles)      # bypasses variant()'s check on purpose
    with pytest.raises(toolchain.CompileError, match=re.escape(why)):
        _compile(v)


def test_the_kernel_checks_the_shared_memory_size_python_launches_with(monkeypatch):
    v = variants.variant(64, "f32", "f32", tiles=Tiles(4, 1, 64))
    assert f".entry {v.entry}" in _compile(v)                 # the table's tiles build
    real = Tiles.smem_bytes
    monkeypatch.setattr(Tiles, "smem_bytes", lambda self, dim: real(self, dim) + 16)
    with pytest.raises(toolchain.CompileError, match="shared memory layout differs"):
        _compile(v)


def test_shared_memory_limit_comes_from_the_target_arch():
    t = Tiles(4, 2, 128)                                      # d=128: 160 KiB
    assert t.valid_for(128, "sm_90") is None and t.valid_for(128, "sm_80") is None
    why = t.valid_for(128, "sm_89")
    assert why and "99 KiB" in why and "sm_89" in why
    big = Tiles(4, 2, 256)                                    # d=128: 288 KiB, nowhere
    assert f"{hardware.max_smem_per_block() // 1024} KiB" in big.valid_for(128)


def test_every_variant_meets_the_constraints():
    for v in variants.all_variants():
        assert v.tiles.broken_constraint(v.dim) is None
        assert v.tiles.valid_for(v.dim, "sm_90") is None
