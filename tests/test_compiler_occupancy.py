"""Theoretical occupancy against hand-computed cases, and the per-architecture limits table."""

import pytest

from mmabench import hardware
from mmabench.compiler.occupancy import theoretical


def test_registers_limit_per_sub_partition():
    # 40 regs x 32 lanes = 1280 per warp; 16384 per sub-partition // 1280 = 12 warps; x4 = 48
    o = theoretical("sm_80", registers=40, threads_per_block=128)
    assert (o.blocks_per_sm, o.warps_per_sm, o.limiter) == (12, 48, "registers")
    assert o.percent == pytest.approx(75.0)
    # 56 regs: 1792 per warp, 9 warps per sub-partition, 36 warps: 9 blocks of 4 warps
    o = theoretical("sm_86", registers=56, threads_per_block=128)
    assert (o.blocks_per_sm, o.warps_per_sm, o.max_warps_per_sm) == (9, 36, 48)


def test_register_allocation_unit_rounds_per_warp():
    # 33 regs -> 1056 per warp, rounded to 1280: the same as 40; 32 regs (1024) fits 16 per part
    assert theoretical("sm_90", 33, 256).blocks_per_sm == theoretical("sm_90", 40, 256).blocks_per_sm == 6
    assert theoretical("sm_90", 32, 256).blocks_per_sm == 8
    assert theoretical("sm_90", 33, 256).regs_per_block == 1280 * 8


def test_shared_memory_with_reserve_and_unit():
    # 48 KB static + 1 KB driver reserve = 50176 B (a multiple of 128); 164 KB // 50176 = 3
    o = theoretical("sm_80", registers=32, threads_per_block=256, static_smem=48 * 1024)
    assert (o.blocks_per_sm, o.limiter, o.smem_per_block) == (3, "shared", 50176)
    # 1 byte still costs a 128-byte unit plus the reserve: 1152 B -> 100 KB // 1152 = 88 -> capped by blocks
    o = theoretical("sm_86", registers=16, threads_per_block=32, static_smem=1)
    assert o.smem_per_block == 1152 and o.blocks_per_sm == 16
    # dynamic shared memory above 48 KB (opt-in): 100 KB + 1 KB on sm_90 (228 KB) -> 2 blocks
    assert theoretical("sm_90", 32, 128, dynamic_smem=100 * 1024).blocks_per_sm == 2
    # above the opt-in maximum (99 KB on sm_86): cannot launch
    assert theoretical("sm_86", 32, 128, dynamic_smem=100 * 1024).blocks_per_sm == 0


def test_block_thread_and_barrier_limits():
    o = theoretical("sm_89", registers=16, threads_per_block=32)
    assert (o.blocks_per_sm, o.warps_per_sm, o.limiter) == (24, 24, "blocks")
    assert theoretical("sm_80", 16, 32).blocks_per_sm == 32
    assert theoretical("sm_120", 16, 32).blocks_per_sm == 24
    assert theoretical("sm_86", 16, 64, barriers=2).blocks_per_sm == 8      # 16 sets // 2
    assert theoretical("sm_80", 16, 64, barriers=2).blocks_per_sm == 32     # 64 sets // 2
    assert theoretical("sm_80", 16, 2048).blocks_per_sm == 0                # > 1024 threads
    assert theoretical("sm_80", 255, 1024).blocks_per_sm == 0               # > 64K regs per block


def test_limits_table_against_the_programming_guide():
    t = hardware.arch_limits()
    for arch in hardware.DEFAULT_ARCHS:
        row = t[arch]
        assert int(row["max_warps_per_sm"]) * 32 == int(row["max_threads_per_sm"])
        assert int(row["registers_per_sm"]) == 65536 and int(row["register_alloc_unit"]) == 256
        assert int(row["shared_per_block_kb"]) == int(row["shared_per_sm_kb"]) - 1
    expect = {"sm_80": (2048, 32, 164), "sm_86": (1536, 16, 100), "sm_89": (1536, 24, 100),
              "sm_90": (2048, 32, 228), "sm_100": (2048, 32, 228), "sm_120": (1536, 24, 100)}
    for arch, (threads, blocks, smem) in expect.items():
        row = t[arch]
        assert (int(row["max_threads_per_sm"]), int(row["max_blocks_per_sm"]),
                int(row["shared_per_sm_kb"])) == (threads, blocks, smem), arch
