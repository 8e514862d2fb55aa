"""The launch-shape sweep of the per-warp instruction families (mma.sync, softmax): warps per
block x chains per warp (ILP) x resident blocks per SM, and the CLI options that change it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

from mmabench import measure
from mmabench.core import seed
from mmabench.core.errors import UserError, int_list
from mmabench.core.options import Mode, Modes
from mmabench.instructions.bench import POINT_POLICY



def modes(common: tuple[str, ...]) -> Modes:
    """Which options a per-warp family's modes read (add_options defines the sweep's): `common`,
    the family's own selection options, go to both."""
    return Modes(common=common,
                 modes=(Mode("the measurements", devices=True,
                             reads=("--quick", "--full", "--cold", "--regime", "--warps", "--ilp",
                                    "--blocks-per-sm", "--repeats", "--seed")),
                        Mode("--offline", reads=("--arch",))))

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


def _axes(sweep: Sweep) -> str:
    csv = lambda xs: ",".join(map(str, xs))       # noqa: E731
    return f"warps {csv(sweep.warps)} x ILP {csv(sweep.ilps)} x blocks {csv(sweep.blocks_per_sm)}"


def add_options(p, default: Sweep, full: Sweep, max_ilp: int, *, chains_per: str, compare: str,
                offline: str) -> None:
    """The options of a per-warp family's run (`mma`, `softmax`): the sweep (its defaults read
    from `default` and `full`, so the help says what runs), its timing, the seed, where the rows
    go, and --offline with --arch. `chains_per`: what owns the ILP chains ('warp', 'thread');
    `compare`: the twins compared ('f16 vs f32'); `offline`: what --offline does."""
    csv = lambda xs: ",".join(map(str, xs))       # noqa: E731
    p.add_argument("--quick", action="store_true", help="a small sweep (seconds, less certain peak)")
    p.add_argument("--full", action="store_true",
                   help=f"the exhaustive sweep ({_axes(full)}) with tighter stopping rules; "
                        f"default: {_axes(default)}")
    p.add_argument("--cold", action="store_true",
                   help="flush the L2 cache before every timed sample (default: batch, back to back)")
    p.add_argument("--regime", metavar="R", type=measure.regime_option, help=f"of the {compare} comparison: " + measure.REGIME_HELP)
    p.add_argument("--warps", help=f"comma list of warps per block to sweep (default {csv(default.warps)})")
    p.add_argument("--ilp", help=f"comma list of independent chains per {chains_per} (1..{max_ilp}; "
                                 f"default {csv(default.ilps)})")
    p.add_argument("--blocks-per-sm",
                   help=f"comma list of resident blocks per SM (default {csv(default.blocks_per_sm)})")
    p.add_argument("--repeats", type=int,
                   help="fixed number of timed launches per point (default: repeat until the "
                        "standard error is under 0.5 %% or 0.25 s per point)")
    add_run_options(p, offline)


def add_run_options(p, offline: str, arch_help: str | None = None) -> None:
    """The options every instruction family's run takes (mma, softmax, wgmma): the seed, where
    the rows go, Markdown, and --offline (`offline`: what it does) with --arch."""
    from mmabench import hardware

    p.add_argument("--seed", type=seed.option, default=None,
                   help="random seed for the input data (default: a fresh one, printed and recorded "
                        "in the rows)")
    p.add_argument("--results", metavar="DIR", help="results root folder (default ./results)")
    p.add_argument("--markdown", action="store_true", help="print tables as Markdown")
    p.add_argument("--offline", action="store_true", help=f"no GPU: {offline}")
    p.add_argument("--arch", help=arch_help or (f"with --offline: comma list ({','.join(hardware.known_archs())}); "
                                                f"default {','.join(hardware.DEFAULT_ARCHS)}"))


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
