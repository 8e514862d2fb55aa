"""`python -m mmabench attention`: the fused attention kernel, each accumulator scheme, vs PyTorch."""

from __future__ import annotations

from dataclasses import dataclass

from mmabench import record, hardware
from mmabench import measure
from mmabench.core import seed
from mmabench.core.options import Mode, Modes
from mmabench.core.errors import UserError, at_least, int_list, items, split_list
from mmabench.attention import variants
from mmabench.attention.tables import (offline_table, overhead_table, summary)  # noqa: F401  (summary: also imported by selfcheck)

# The default run answers the question in seconds: two head dims, one N, both masks, the schemes
# below (each f16 one also at the f32/f32 tiles). --full: every dim, N and scheme.
DEFAULT_DIMS = (64, 128)
DEFAULT_SEQS = (4096,)
FULL_SEQS = (1024, 2048, 4096, 8192, 16384)
DEFAULT_SCHEMES = (("f32", "f32", "delayed"), ("f32", "f32", "inloop"),
                   ("f32", "f16", "delayed"), ("f32", "f16", "inloop"),
                   ("f16", "f32", "delayed"), ("f16", "f16", "delayed"))
# The Hopper kernel's default schemes. Its f16 S is f16p (Q pre-scaled, the softmax packed in
# f16x2): at every d the tuner found it at least as fast as f16q, which differs only in the softmax.
HOPPER_DEFAULT_SCHEMES = (("f32", "f32", "delayed"), ("f32", "f16", "delayed"),
                          ("f16p", "f16", "delayed"), ("f16p", "f32", "delayed"))
KERNELS = ("auto", "fa2", "hopper", "both")
OFFLINE_ARCHS = ("sm_80", "sm_89", "sm_90")
DEFAULT_TOKENS = 16384

# Which options each mode reads (mmabench.core.options): one given to a mode that does not read
# it is refused, not ignored. --overhead times a fixed tiny shape: no variant choice.
VARIANT = ("--dim", "--acc-s", "--acc-o", "--norm", "--full", "--kernel")
CASES = ("--seq", "--mask", "--causal", "--tokens")
OPTIONS = Modes(modes=(
    Mode("the benchmark", devices=True,
         reads=VARIANT + CASES + ("--hopper-options", "--regime", "--cold", "--rounds", "--seed",
                                  "--no-torch", "--results", "--markdown")),
    Mode("--numerics", devices=True, reads=VARIANT + ("--seed", "--results", "--markdown")),
    Mode("--tune", devices=True, reads=VARIANT + CASES + ("--seed", "--tune-options")),
    Mode("--overhead", devices=True, reads=("--results", "--markdown")),
    Mode("--offline", reads=VARIANT + ("--arch", "--results", "--markdown"))))


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "attention", help="fused attention forward: f16 vs f32 accumulators, vs PyTorch SDPA",
        description="A FlashAttention-2-style forward kernel (kernels/attention.cu: mma.sync "
                    "m16n8k16, ldmatrix, cp.async) with the accumulator of S = Q.K^T (f32, f16, "
                    "f16 with the softmax scale folded into Q: 'f16q') and of O = P.V (f32, f16, "
                    "f16 per K/V tile folded into f32: 'f16f32') chosen at compile time, with "
                    "delayed or in-loop normalization. Each variant is checked against a float64 "
                    "reference (output poisoned first) and timed next to PyTorch's "
                    "scaled_dot_product_attention back ends on the same tensors. B*N = 16k tokens, "
                    "H*d = 2048, as in FlashAttention's benchmark.")
    p.add_argument("--dim", help="comma list of head dims (64,128,256); default "
                                 f"{','.join(map(str, DEFAULT_DIMS))} (--full: all)")
    p.add_argument("--seq", help=f"comma list of sequence lengths; default "
                                 f"{','.join(map(str, DEFAULT_SEQS))} (--full: "
                                 f"{','.join(map(str, FULL_SEQS))})")
    p.add_argument("--acc-s", help=f"comma list of S accumulators ({','.join(variants.ALL_S_MODES)}; "
                                   "f16p: the Hopper kernel's packed f16x2 softmax)")
    p.add_argument("--acc-o", help=f"comma list of O accumulators ({','.join(variants.O_MODES)})")
    p.add_argument("--norm", help=f"comma list of normalizations ({','.join(variants.NORMS)}); "
                                  "without --acc-s/--acc-o/--norm: 6 schemes that answer the "
                                  "question (f32/f32, O f16, S f16, both f16), --full: all 18")
    mask = p.add_mutually_exclusive_group()
    mask.add_argument("--mask", choices=("both", "causal", "full"),
                      help="causal, full (non-causal) or both (default)")
    mask.add_argument("--causal", action="store_true", help="same as --mask causal")
    p.add_argument("--kernel", metavar="K",
                   help="fa2 (mma.sync, sm_80+), hopper (TMA + wgmma, warp-specialized, sm_90a), "
                        "both; default: both on an H100/H200 and offline, else fa2")
    p.add_argument("--hopper-options", metavar="SETS",
                   help="also time each Hopper variant at its tuned cut with these tile options, "
                        "beside it in the same run: a comma list of sets from "
                        f"{', '.join(variants.HOPPER_OPTIONS)}, '+' to combine "
                        "(e.g. none,lazy,pingpong+lazy); sets a scheme excludes are skipped")
    p.add_argument("--full", dest="exhaustive", action="store_true",
                   help="the exhaustive sweep: every head dim, N and accumulator scheme, with "
                        "more interleaved rounds")
    p.add_argument("--regime", metavar="R", type=measure.regime_option, help=measure.REGIME_HELP)
    p.add_argument("--cold", action="store_true",
                   help="flush the L2 cache before every timed sample (burst regime only)")
    p.add_argument("--rounds", type=int, help="interleaved timing rounds (default 5, --full 9; "
                                              "sustained: at least 5)")
    p.add_argument("--tokens", type=int, help=f"batch * seq per case (default {DEFAULT_TOKENS}; "
                                              "batch = max(1, tokens // seq))")
    p.add_argument("--seed", type=seed.option, default=None,
                   help="random seed for the inputs (default: a fresh one, printed and recorded in the rows)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch back ends")
    p.add_argument("--results", metavar="DIR", help="results root folder (default ./results)")
    p.add_argument("--markdown", action="store_true", help="print tables as Markdown")
    p.add_argument("--numerics", action="store_true",
                   help="instead of timing: sweep input scale and N, show where each accumulator "
                        "scheme loses accuracy and where it overflows (first --dim, default 128)")
    p.add_argument("--tune", action="store_true",
                   help="instead of the benchmark: time every tile candidate of each chosen "
                        "variant (on --seq, default 4096) and write the winners to "
                        "attention_tuned.json in the compile cache folder ($MMABENCH_CACHE), "
                        "which then overrides the shipped data/attention_tuned.json")
    p.add_argument("--tune-options", action="store_true",
                   help="with --tune, the Hopper kernel only: keep each variant's tuned cut "
                        "(consumer warpgroups, keys per tile, stages) and search its tile options "
                        "alone (overlap, poly, pingpong, lazy): a few minutes instead of the "
                        "whole search")
    p.add_argument("--overhead", action="store_true",
                   help="instead of the benchmark: host time per call of attention() vs "
                        "PyTorch's SDPA on a tiny shape (checks, lookup, output allocation, launch)")
    p.add_argument("--offline", action="store_true",
                   help="no GPU: assemble each variant for --arch and report registers, spills, "
                        "shared memory, occupancy and the SASS check")
    p.add_argument("--arch", help=f"with --offline: comma list; default {','.join(OFFLINE_ARCHS)}")
    p.set_defaults(func=run)


def kernels_for(choice: str | None, gpu_arch: str | None) -> tuple[str, ...]:
    """Which kernels a run takes: --kernel, or (auto) both on an sm_90 GPU or offline, else the
    FA2-class kernel; UserError for the Hopper kernel on another GPU."""
    choice = choice or "auto"
    if choice not in KERNELS:
        raise UserError(f"--kernel {choice!r}; accepted: {', '.join(KERNELS)}")
    on_hopper = gpu_arch is None or hardware.arch_number(gpu_arch) == 90
    if choice == "auto":
        return ("fa2", "hopper") if on_hopper else ("fa2",)
    wanted = ("fa2", "hopper") if choice == "both" else (choice,)
    if "hopper" in wanted and not on_hopper:
        raise UserError(f"--kernel {choice}: the Hopper kernel needs an sm_90 GPU (H100/H200); "
                        f"this one is {gpu_arch}")
    return wanted


def selected_variants(args, gpu_arch: str | None = None) -> list[variants.Variant]:
    """The variants the flags ask for, of the kernels kernels_for() picks (gpu_arch None:
    offline)."""
    kernels = kernels_for(getattr(args, "kernel", None), gpu_arch)
    ch = _choice(args)
    out = []
    if "fa2" in kernels:
        out += _of_kernel(ch, "fa2", "FA2-class kernel", variants.S_MODES, variants.all_variants,
                          variants.variant, DEFAULT_SCHEMES)
    hopper = []
    if "hopper" in kernels:
        hopper = _of_kernel(ch, "hopper", "Hopper kernel", variants.HOPPER_S_MODES,
                            variants.all_hopper_variants, variants.hopper_variant,
                            HOPPER_DEFAULT_SCHEMES)
    return out + hopper + _with_options(hopper, getattr(args, "hopper_options", None))


def _with_options(hopper: list, sets: str | None) -> list:
    """--hopper-options: each Hopper variant again with each set of tile options, after all the
    tuned variants (so that they stay the references of the ratios), none twice."""
    if sets is None:
        return []
    options = [variants.hopper_option_set(s) for s in _option_sets(sets)]
    if not hopper:
        raise UserError("--hopper-options applies to the Hopper kernel, which this run does not "
                        "take (it needs an sm_90 GPU and --kernel auto, hopper or both)")
    seen = {v.name for v in hopper}
    extra, applicable = [], False
    for opt in options:
        for v in hopper:
            w = variants.with_hopper_options(v, opt)
            applicable = applicable or w is not None
            if w is not None and w.name not in seen:
                seen.add(w.name)
                extra.append(w)
    if not applicable:
        raise UserError(f"--hopper-options {sets!r}: none of these sets applies to the chosen Hopper "
                        "schemes (lazy needs delayed normalization with O f32 or f16; poly with "
                        "f16p not with lazy's f32 O)")
    return extra


def _option_sets(text: str) -> list[str]:
    return items(text, "--hopper-options", f"sets of {', '.join(variants.HOPPER_OPTIONS)}, '+' to combine")


@dataclass(frozen=True)
class Choice:
    """The variant flags, parsed and checked once: None where a list was not given."""
    dims: tuple[int, ...]
    acc_s: list[str] | None
    acc_o: list[str] | None
    norms: list[str] | None
    exhaustive: bool
    kernel: str | None

    @property
    def listed(self) -> bool:
        """Every combination of the lists (--full, or any list given) rather than the default
        schemes."""
        return self.exhaustive or any(x is not None for x in (self.acc_s, self.acc_o, self.norms))


def _choice(args) -> Choice:
    exhaustive = getattr(args, "exhaustive", False)
    dims = int_list(args.dim, "--dim", accepted=variants.DIMS)
    return Choice(tuple(dims or (variants.DIMS if exhaustive else DEFAULT_DIMS)),
                  split_list(args.acc_s, "S accumulator", variants.ALL_S_MODES),
                  split_list(args.acc_o, "O accumulator", variants.O_MODES),
                  split_list(args.norm, "normalization", variants.NORMS),
                  exhaustive, getattr(args, "kernel", None))


def _of_kernel(ch: Choice, kernel: str, label: str, s_modes, every, one, schemes) -> list:
    """One kernel's variants: every combination of the lists given, restricted to the S modes it
    has (none of them: no variant, or an error when --kernel named it), else its default schemes."""
    if not ch.listed:
        return [one(d, *scheme) for d in ch.dims for scheme in schemes]
    s = tuple(x for x in (ch.acc_s or s_modes) if x in s_modes)
    if not s:
        if ch.kernel == kernel:
            raise UserError(f"the {label} takes --acc-s {', '.join(s_modes)}")
        return []
    return every(ch.dims, s, tuple(ch.acc_o or variants.O_MODES), tuple(ch.norms or variants.NORMS))


def timing_policy(args):
    """The measurement policy the flags ask for."""
    from dataclasses import replace

    from mmabench import measure
    from mmabench.attention.bench import POLICY

    policy = replace(POLICY, rounds=9) if getattr(args, "exhaustive", False) else POLICY
    policy = measure.in_regime(policy, getattr(args, "regime", None), getattr(args, "cold", False))
    rounds = getattr(args, "rounds", None)
    if rounds is not None:
        least = 5 if policy.regime == "sustained" else 1
        if not least <= rounds <= 100:
            raise UserError(f"--rounds {rounds}; accepted: {least}..100"
                            + (" in the sustained regime (or --regime burst)" if least > 1 else ""))
        policy = replace(policy, rounds=rounds)
    return policy


def _at_least_one(value, flag: str, default: int) -> int:
    return default if value is None else at_least(value, flag)


def run(args) -> int:
    var_list = selected_variants(args)         # bad flags fail here, GPU or not
    if getattr(args, "tune_options", False) and any(v.kernel != "hopper" for v in var_list):
        raise UserError("--tune-options searches the Hopper kernel's tile options; the "
                        "FA2-class kernel has none: add --kernel hopper")
    if args.offline:
        return run_offline(var_list, hardware.parse_archs(args.arch, OFFLINE_ARCHS), args.markdown,
                           record.results_root(args.results))
    seqs = int_list(args.seq, "--seq", 1, 1 << 24) or (
        [4096] if args.tune else list(FULL_SEQS if args.exhaustive else DEFAULT_SEQS))
    policy = timing_policy(args)
    args.tokens = _at_least_one(args.tokens, "--tokens", DEFAULT_TOKENS)
    mask = "causal" if args.causal else args.mask or "both"
    modes = {"causal": [True], "full": [False], "both": [False, True]}[mask]
    if not args.tune:  # --tune writes the user's tuned tiles, not a run folder
        args.results = record.results_root(args.results)  # before any work, not after it
    hardware.require_gpu()
    if args.overhead:
        return run_overhead(args)
    var_list = selected_variants(args, hardware.device_arch())
    if not args.tune:  # tiles tuned on a GPU with more shared memory per block: cut to fit
        from mmabench.attention.build import fit_to_gpu
        var_list = [fit_to_gpu(v) for v in var_list]
    if args.numerics:
        from mmabench.attention import numerics
        dim = var_list[0].dim if args.dim else 128
        folder, rows, text = numerics.run(dim, var_list=[v for v in var_list if v.dim == dim],
                                          seed=args.seed, results_root=args.results,
                                          markdown=args.markdown)
        print(text)
        print(f"\nresults: {folder.path}")
        return 0
    from mmabench.attention import bench
    case_list = bench.cases(sorted({v.dim for v in var_list}), seqs, modes, tokens=args.tokens)
    if args.tune:
        import numpy as np
        from mmabench.attention import tune
        from mmabench.core.seed import chosen
        res = tune.tune(var_list, case_list, np.random.default_rng(chosen(args.seed)),
                        options_only=args.tune_options)
        tune.write_tuned(res, var_list, record.gpu_context()["gpu_name"], case_list,
                         options_only=args.tune_options)
        print(f"tuned tiles written to {variants.user_tuned_file()}")
        return 0
    from mmabench.attention.torch_ref import BACKENDS
    folder, rows = bench.run(var_list, case_list, seed=args.seed, results_root=args.results,
                             policy=policy, backends=() if args.no_torch else BACKENDS)
    print(summary(rows, args.markdown))
    from mmabench.attention.overview import overview
    print("\n" + overview(rows, args.markdown))
    print(f"\nresults: {folder.path}")
    return 0 if all(r.get("status") in ("ok", "unavailable") for r in rows) else 1


def run_overhead(args) -> int:
    from mmabench.attention import overhead

    rows = overhead.run()
    ctx = {**record.gpu_context(), **record.software_context()}
    folder = record.RunFolder("attention-overhead", ctx["gpu_name"], args.results)
    for r in rows:
        folder.add({**ctx, **r, "timestamp": record.timestamp()})
    print(overhead_table(rows, args.markdown))
    print(f"\nresults: {folder.path}")
    return 0


def run_offline(var_list, arch_list, markdown=False, results_root=None) -> int:
    from mmabench.attention import offline

    folder, rows = offline.run(var_list, arch_list, results_root)
    print(offline_table(rows, markdown))
    print(f"\nresults: {folder.path}")
    return 0 if all(r["ok"] for r in rows) else 1
