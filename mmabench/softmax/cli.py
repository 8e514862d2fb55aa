"""`python -m mmabench softmax`: latency and throughput of the softmax instructions (ex2, fma,
max, cvt) in f32 and packed f16x2/bf16x2; `--offline` prints their SASS without a GPU."""

from __future__ import annotations

from mmabench import hardware, record
from mmabench.core.errors import UserError, split_list
from mmabench.instructions.sweep import modes as sweep_modes
from mmabench.reporting import tables
from mmabench.softmax import catalogue
from mmabench.softmax.render import MAX_ILP

# Which options each mode reads (mmabench.core.options): one given to a mode that does not read
# it is refused, not ignored. The same regime options as `mma`.
OPTIONS = sweep_modes(("--op", "--type", "--results", "--markdown"))


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "softmax", help="latency and throughput of ex2/fma/max/cvt, f32 vs packed f16x2",
        description="Measure the instructions of an attention softmax that the accumulator "
                    "choice changes (ex2, fma, max in f32 vs f16x2/bf16x2, and cvt.rn.f16x2.f32) "
                    "on the GPU at hand: latency (one warp, one dependent chain) and throughput "
                    "(a sweep of warps x ILP x blocks per SM; the best point is reported) in "
                    "elements per clock per SM at the measured SM clock. With --offline, "
                    "assemble the kernels for other architectures instead and show their SASS "
                    "(no GPU needed).")
    p.add_argument("--op", help=f"comma list of operations ({','.join(catalogue.OPS)}); default all")
    p.add_argument("--type", dest="elem_type",
                   help=f"comma list of element types ({','.join(catalogue.TYPES)}); default all")
    from mmabench.instructions.sweep import add_options
    from mmabench.softmax.suite import DEFAULT, FULL

    add_options(p, DEFAULT, FULL, MAX_ILP, chains_per="thread", compare="f16x2 vs f32",
                offline="assemble each form for --arch targets and show its SASS")
    p.set_defaults(func=run)


def selected_forms(args) -> list[catalogue.SoftmaxForm]:
    return catalogue.select(split_list(args.op, "operation", catalogue.OPS),
                            split_list(getattr(args, "elem_type", None), "element type",
                                       catalogue.TYPES))


def sweep_from_args(args):
    from mmabench.instructions.sweep import from_args
    from mmabench.softmax.suite import DEFAULT, FULL, QUICK

    return from_args(args, DEFAULT, FULL, QUICK, MAX_ILP)


def run_offline(forms, arch_list, markdown=False, results_root=None) -> int:
    """Assemble each form for each target, count its SASS, print the table and write the rows
    to a run folder (softmax-offline)."""
    from mmabench.instructions.offline import check_on_targets
    from mmabench.softmax.offline import check_form

    folder, common = record.offline_run("softmax-offline", results_root)
    body, bad = check_on_targets(forms, arch_list, check_form,
                                 ("sass_per_instruction", "others_per_instruction"),
                                 label="softmax", folder=folder, common=common)
    print(tables.table(["form", "arch", "per loop trip", "check", "SASS per instruction",
                        "other ops in the loop"], body, markdown))
    print("\nper loop trip: PTX instructions the loop's SASS carries / as rendered (a fused "
          "three-input max carries two)")
    print(f"\nresults: {folder.path}")
    return 1 if bad else 0


def run(args) -> int:
    forms = selected_forms(args)
    if args.offline:
        arch_list = hardware.parse_archs(args.arch)
        return run_offline(forms, arch_list, args.markdown, record.results_root(args.results))
    sweep = sweep_from_args(args)  # bad input is reported before looking for a GPU
    args.results = record.results_root(args.results)
    hardware.require_gpu()
    arch = hardware.device_arch()
    usable = [f for f in forms if f.runs_on(arch)]
    if not usable:
        raise UserError(f"none of the chosen forms exists on {arch}: "
                        + ", ".join(f"{f.name} needs sm_{f.min_sm}+" for f in forms))
    from mmabench.softmax.suite import run as run_suite, summary

    # every chosen form: one the GPU lacks gets an "unsupported" row
    folder, rows = run_suite(forms, sweep, args.seed, args.results, regime=args.regime)
    from mmabench.instructions.suite import finish

    return finish(folder, rows, arch, summary(rows, args.markdown))
