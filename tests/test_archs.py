"""Per-architecture limits come from data/archs.csv, never from constants in the code."""

import pytest

from mmabench import archs
from mmabench.errors import UserError


def test_warps_per_sm_differ_between_data_center_and_consumer_parts():
    assert archs.max_warps_per_sm("sm_90") == 64 and archs.max_warps_per_sm("sm_80") == 64
    for arch in ("sm_86", "sm_89", "sm_120"):
        assert archs.max_warps_per_sm(arch) == 48


def test_occupancy_pct_uses_the_arch_warps():
    assert archs.occupancy_pct("sm_90", 2, 4) == pytest.approx(12.5)
    assert archs.occupancy_pct("sm_89", 2, 4) == pytest.approx(100 * 8 / 48)


def test_shared_memory_per_block_from_the_table():
    assert archs.smem_per_block("sm_90") == 227 * 1024
    assert archs.smem_per_block("sm_80") == 163 * 1024 and archs.smem_per_block("sm_89") == 99 * 1024
    assert archs.max_smem_per_block() == max(archs.smem_per_block(a) for a in archs.known())


def test_unknown_arch_is_a_user_error():
    with pytest.raises(UserError, match="sm_87.*known: sm_80"):
        archs.max_warps_per_sm("sm_87")
    assert archs.of_compute_capability(9, 0) == "sm_90"
