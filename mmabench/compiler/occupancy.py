"""Theoretical occupancy from a kernel's resources and the per-architecture limits in data/archs.csv.

The model is NVIDIA's own (cuda_occupancy.h, the header behind cudaOccupancyMaxActiveBlocks*):

- warps: max_warps_per_sm // warps_per_block
- registers: registers are allocated per warp, `regs x 32` rounded up to the allocation unit
  (256); each of the SM's `sub_partitions` (4) holds registers_per_sm / 4, so
  warps_per_sm = 4 x ((registers_per_sm / 4) // regs_per_warp); a block that would need more
  than registers_per_block (its warps rounded up to a multiple of 4) cannot launch at all
- shared memory: (static + dynamic + the driver's per-block reserve) rounded up to the
  allocation unit (128 B), against the SM's largest carve-out (the default preference); a block
  over the per-block limit (48 KB, or the opt-in maximum when the kernel asks for more) cannot launch
- blocks: the hardware's resident-block limit
- barriers: the SM has max_blocks_per_sm x barrier_sets_per_block_slot named-barrier sets
"""

from __future__ import annotations

from dataclasses import dataclass

from mmabench import hardware

WARP = 32
UNLIMITED = 1 << 30


def _int(row: dict, key: str) -> int:
    return int(float(row[key]))


def _round_up(x: int, unit: int) -> int:
    return -(-x // unit) * unit


@dataclass(frozen=True)
class Occupancy:
    arch: str
    blocks_per_sm: int
    warps_per_sm: int
    max_warps_per_sm: int
    limiter: str                   # the binding limit: warps | registers | shared | blocks | barriers
    limits: dict                   # blocks per SM allowed by each resource
    regs_per_block: int            # registers allocated to one block
    smem_per_block: int            # shared memory allocated to one block (reserve included)

    @property
    def fraction(self) -> float:
        return self.warps_per_sm / self.max_warps_per_sm

    @property
    def percent(self) -> float:
        return 100.0 * self.fraction


def theoretical(arch: str | dict, registers: int, threads_per_block: int,
                static_smem: int = 0, dynamic_smem: int = 0, barriers: int = 0) -> Occupancy:
    """Resident blocks and warps per SM for one kernel launch shape on `arch` (its data/archs.csv
    row, or the row itself; 'sm_90a' has its own row)."""
    row = hardware.arch_row(arch) if isinstance(arch, str) else arch
    name = row.get("arch", "?")
    max_warps = _int(row, "max_warps_per_sm")
    max_blocks = _int(row, "max_blocks_per_sm")
    warps_per_block = -(-threads_per_block // WARP)
    limits: dict[str, int] = {}

    # warps (and threads per block)
    if threads_per_block <= 0 or threads_per_block > _int(row, "max_threads_per_block"):
        limits["warps"] = 0
    else:
        limits["warps"] = max_warps // warps_per_block

    # registers
    unit = _int(row, "register_alloc_unit")
    parts = _int(row, "sub_partitions")
    regs_per_warp = _round_up(registers * WARP, unit)
    regs_per_block = regs_per_warp * warps_per_block
    assumed = regs_per_warp * _round_up(warps_per_block, parts)
    if registers > 256 or assumed > _int(row, "registers_per_block"):
        limits["registers"] = 0
    elif regs_per_warp == 0:
        limits["registers"] = UNLIMITED
    else:
        warps_per_part = (_int(row, "registers_per_sm") // parts) // regs_per_warp
        limits["registers"] = (warps_per_part * parts) // warps_per_block

    # shared memory
    reserve = _int(row, "shared_reserved_per_block_bytes")
    smem = _round_up(static_smem + dynamic_smem + reserve, _int(row, "shared_alloc_unit_bytes"))
    default_kb, optin_kb = _int(row, "shared_per_block_default_kb"), _int(row, "shared_per_block_kb")
    per_block_limit = (optin_kb if static_smem + dynamic_smem > default_kb * 1024 else default_kb) * 1024
    if smem > per_block_limit + reserve:
        limits["shared"] = 0
    else:
        limits["shared"] = (_int(row, "shared_per_sm_kb") * 1024) // smem if smem else UNLIMITED

    limits["blocks"] = max_blocks
    limits["barriers"] = ((max_blocks * _int(row, "barrier_sets_per_block_slot")) // barriers
                          if barriers else UNLIMITED)

    order = ("warps", "registers", "shared", "blocks", "barriers")
    blocks = min(limits[k] for k in order)
    limiter = next(k for k in order if limits[k] == blocks)
    warps = blocks * warps_per_block
    return Occupancy(name, blocks, warps, max_warps, limiter,
                     {k: (None if v == UNLIMITED else v) for k, v in limits.items()},
                     regs_per_block, smem)
