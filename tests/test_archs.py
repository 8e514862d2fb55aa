"""Per-architecture limits come from data/archs.csv, never from constants in the code."""

import pytest

from mmabench import hardware
from mmabench.core.errors import UserError


def test_warps_per_sm_differ_between_data_center_and_consumer_parts():
    assert hardware.max_warps_per_sm("sm_90") == 64 and hardware.max_warps_per_sm("sm_80") == 64
    for arch in ("sm_86", "sm_89", "sm_120"):
        assert hardware.max_warps_per_sm(arch) == 48


def test_occupancy_pct_uses_the_arch_warps():
    assert hardware.occupancy_pct("sm_90", 2, 4) == pytest.approx(12.5)
    assert hardware.occupancy_pct("sm_89", 2, 4) == pytest.approx(100 * 8 / 48)


def test_shared_memory_per_block_from_the_table():
    assert hardware.smem_per_block("sm_90") == 227 * 1024
    assert hardware.smem_per_block("sm_80") == 163 * 1024 and hardware.smem_per_block("sm_89") == 99 * 1024
    assert hardware.max_smem_per_block() == max(hardware.smem_per_block(a) for a in hardware.known_archs())


def test_unknown_arch_is_a_user_error():
    with pytest.raises(UserError, match="sm_87.*known: sm_80"):
        hardware.max_warps_per_sm("sm_87")
