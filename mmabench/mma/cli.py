"""`python -m mmabench mma`: latency and throughput of each mma.sync form."""

from __future__ import annotations


from mmabench import record, hardware
from mmabench.reporting import tables
from mmabench.instructions.sweep import modes as sweep_modes
from mmabench.core.errors import UserError, split_list
from mmabench.mma import catalogue
from mmabench.mma.render import MAX_ILP

# Which options each mode reads (mmabench.core.options): one given to a mode that does not read
# it is refused, not ignored.
OPTIONS = sweep_modes(("--shape", "--acc", "--type", "--results", "--markdown"))


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "mma", help="latency and throughput of each mma.sync form, f16 vs f32 accumulation",
        description="Measure every tensor-core mma.sync form on the GPU at hand: latency (one "
                    "warp, one dependent chain) and throughput (a sweep of warps x ILP x blocks "
                    "per SM; the best point is reported). With --offline, assemble the kernels "
                    "for other architectures instead and check their SASS (no GPU needed).")
    p.add_argument("--shape", help=f"comma list of shapes ({','.join(catalogue.SHAPES)}); default all")
    p.add_argument("--acc", help=f"comma list of accumulators ({','.join(catalogue.ACCS)}); default all")
    p.add_argument("--type", dest="ab_type",
                   help=f"comma list of A/B types ({','.join(catalogue.AB_TYPES)}); default all")
    from mmabench.instructions.sweep import add_options
    from mmabench.mma.suite import DEFAULT, FULL

    add_options(p, DEFAULT, FULL, MAX_ILP, chains_per="warp", compare="f16 vs f32",
                offline="assemble each form for --arch targets and check the SASS")
    p.set_defaults(func=run)


def selected_forms(args) -> list[catalogue.MmaForm]:
    return catalogue.select(split_list(args.shape, "shape", catalogue.SHAPES),
                            split_list(args.acc, "accumulator", catalogue.ACCS),
                            split_list(getattr(args, "ab_type", None), "A/B type", catalogue.AB_TYPES))


def sweep_from_args(args):
    """The default (or --quick, --full) sweep, with any axis the user gave replacing its own."""
    from mmabench.instructions.sweep import from_args
    from mmabench.mma.suite import DEFAULT, FULL, QUICK

    return from_args(args, DEFAULT, FULL, QUICK, MAX_ILP)


def run_offline(forms, arch_list, markdown=False, results_root=None) -> int:
    """Assemble each form for each target, check its SASS, print the table and write the rows
    to a run folder (mma-offline)."""
    from mmabench.instructions.offline import check_on_targets
    from mmabench.mma.offline import check_form

    folder, common = record.offline_run("mma-offline", results_root)
    body, bad = check_on_targets(forms, arch_list, check_form, ("mma_opcodes",), label="mma",
                                 folder=folder, common=common)
    print(tables.table(["form", "arch", "per loop trip", "check", "tensor opcodes in SASS"],
                       body, markdown))
    print(f"\nresults: {folder.path}")
    return 1 if bad else 0


def run(args) -> int:
    forms = selected_forms(args)
    if args.offline:
        arch_list = hardware.parse_archs(args.arch)
        return run_offline(forms, arch_list, args.markdown, record.results_root(args.results))
    sweep = sweep_from_args(args)  # bad input is reported before looking for a GPU
    args.results = record.results_root(args.results)  # before any work, not after it
    hardware.require_gpu()
    arch = hardware.device_arch()
    usable = [f for f in forms if f.runs_on(arch)]
    if not usable:
        raise UserError(f"none of the chosen forms exists on {arch}: "
                        + ", ".join(f"{f.name} needs sm_{f.min_sm}+" for f in forms))
    from mmabench.mma.suite import run as run_suite, summary

    folder, rows = run_suite(usable, sweep, args.seed, args.results, regime=args.regime)
    from mmabench.instructions.suite import gpu_line

    ctx = rows[0] if rows else {}
    print(f"\n{gpu_line(rows, arch)}; peak % at the measured SM clock vs datasheet "
          f"({ctx.get('datasheet_row') or 'no datasheet row'})")
    print(summary(rows, args.markdown))
    try:
        from mmabench.reporting.sweep_plot import sweep_figure
        import pandas as pd
        print(f"plot: {folder.save_figure('mma.png', sweep_figure(pd.DataFrame(rows)))}")
    except Exception as exc:  # plotting is optional (matplotlib may be absent)
        print(f"plot: skipped ({exc})")
    print(f"\nresults: {folder.path}")
    return 0 if all(r.get("status") != "error" for r in rows) else 1
