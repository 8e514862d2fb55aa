"""The launch-shape sweep of the per-warp instruction families (mma.sync, softmax): warps per
block x chains per warp (ILP) x resident blocks per SM, and the CLI options that change it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

from mmabench import measure
from mmabench.core.errors import UserError, int_list
from mmabench.instructions.bench import POINT_POLICY


@dataclass(frozen=True)
class Shape:
    """A throughput launch: `ilp` chains per warp, `warps` per block, `blocks_per_sm` per SM."""
    warps: int
    ilp: int
    blocks_per_sm: int

    @property
    def kernel(self) -> int:
        return self.ilp

    @property
    def fields(self) -> dict:
        return {"warps_per_block": self.warps, "ilp": self.ilp, "blocks_per_sm": self.blocks_per_sm}

    @property
    def label(self) -> str:
        return f"w{self.warps} ilp{self.ilp} b{self.blocks_per_sm}"


@dataclass(frozen=True)
class Sweep:
    warps: tuple[int, ...]
    ilps: tuple[int, ...]
    blocks_per_sm: tuple[int, ...]
    policy: measure.Policy = POINT_POLICY

    def points(self, form) -> list[Shape]:
        return [Shape(w, i, b) for i, w, b in itertools.product(self.ilps, self.warps, self.blocks_per_sm)]


def from_args(args, default: Sweep, full: Sweep, quick: Sweep, max_ilp: int) -> Sweep:
    """The default (or --quick, --full) sweep, with any axis the user gave replacing its own."""
    if args.quick and getattr(args, "full", False):
        raise UserError("--quick and --full exclude each other")
    sweep = quick if args.quick else full if getattr(args, "full", False) else default
    overrides = {
        "warps": int_list(args.warps, "--warps", 1, 32),
        "ilps": int_list(args.ilp, "--ilp", 1, max_ilp),
        "blocks_per_sm": int_list(args.blocks_per_sm, "--blocks-per-sm", 1, 32),
    }
    policy = sweep.policy
    repeats = int_list(None if args.repeats is None else str(args.repeats), "--repeats", 1, 1000)
    if repeats:
        policy = replace(policy, min_samples=repeats[0], max_samples=repeats[0], rel_error=0.0)
    if getattr(args, "cold", False):
        policy = replace(policy, mode="cold")
    return replace(sweep, policy=policy, **{k: v for k, v in overrides.items() if v})
