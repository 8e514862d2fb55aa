"""`python -m mmabench wgmma`: latency and throughput of Hopper's wgmma forms, f16 vs f32
accumulation at the measured clock and power; `--offline` assembles them without a GPU."""

from __future__ import annotations

from dataclasses import replace

from mmabench import hardware, record
from mmabench.reporting import tables
from mmabench.core.errors import UserError, int_list, split_list
from mmabench import measure
from mmabench.core.options import Mode, Modes
from mmabench.wgmma import catalogue

# Which options each mode reads (mmabench.core.options): one given to a mode that does not read
# it is refused, not ignored. --full chooses the forms (every N, A source, swizzle) in every mode.
OPTIONS = Modes(
    common=("--n", "--acc", "--type", "--a", "--swizzle", "--full"),
    modes=(Mode("the measurements", devices=True,
                reads=("--quick", "--warpgroups", "--ilp", "--depth", "--pending", "--no-compare",
                       "--regime", "--seed", "--results", "--markdown")),
           Mode("--check-only", devices=True, reads=("--seed", "--dump-layout")),
           Mode("--offline", reads=("--arch", "--results", "--markdown"))))


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "wgmma", help="Hopper wgmma (sm_90a): latency, throughput, clock and power per form",
        description="Measure Hopper's warpgroup MMA (wgmma.mma_async, sm_90a) on the GPU at "
                    "hand: exact checks on small integers, latency (one warpgroup, a dependent "
                    "chain, wait_group 0 after each) and throughput (warpgroups per SM x "
                    "accumulators x wgmma per commit group), FLOP/clk/SM at the clock measured in "
                    "the kernel, power and energy per FLOP, and f16 vs f32 accumulation "
                    "interleaved. Default: A from shared memory, 128B swizzle, N=16,64,128,256, "
                    "every type (under a minute on an H100). Other GPUs get 'unsupported' rows.")
    p.add_argument("--n", help=f"comma list of N ({','.join(map(str, catalogue.NS))}); "
                               f"default {','.join(map(str, catalogue.DEFAULT_NS))}")
    p.add_argument("--acc", help="comma list of accumulators (f16,f32); default both")
    p.add_argument("--type", dest="ab_type",
                   help=f"comma list of A/B types ({','.join(catalogue.AB_TYPES)}); default all")
    p.add_argument("--a", dest="a_src", help="where A comes from: ss (shared memory), rs "
                                             "(registers); comma list, default ss")
    p.add_argument("--swizzle", help="shared-memory layout: none, 128b; comma list, default 128b")
    p.add_argument("--quick", action="store_true", help="one launch shape per form (seconds)")
    p.add_argument("--full", action="store_true",
                   help="every N, A source and swizzle, and the exhaustive sweep (many minutes)")
    p.add_argument("--warpgroups", help="comma list of warpgroups per SM to sweep (1..8)")
    p.add_argument("--ilp", help="comma list of accumulators per warpgroup (1..4; capped by "
                                 "registers)")
    p.add_argument("--depth", help="comma list of wgmma per commit group (1..16)")
    p.add_argument("--pending", type=int, help="commit groups left in flight by each "
                                               "wait_group (default 1)")
    p.add_argument("--no-compare", action="store_true",
                   help="skip the interleaved f16 vs f32 comparison")
    p.add_argument("--regime", metavar="R", type=measure.regime_option, help="of the f16 vs f32 comparison: " + measure.REGIME_HELP)
    p.add_argument("--check-only", action="store_true",
                   help="only the exact small-integer checks of every selected form (no timing); "
                        "prints where a result differs")
    p.add_argument("--dump-layout", metavar="DIR",
                   help="with --check-only: write got/expected D matrices of failing forms "
                        "(.npy) to DIR")
    from mmabench.instructions.sweep import add_run_options

    add_run_options(p, "assemble each form for sm_90a and check the SASS",
                    "with --offline: comma list (only sm_90 has wgmma; it is built as sm_90a); "
                    "default sm_90")
    p.set_defaults(func=run)


def selected_forms(args) -> list[catalogue.WgmmaForm]:
    full = getattr(args, "full", False)
    ns = int_list(args.n, "--n", accepted=catalogue.NS)
    ns = ns or (catalogue.NS if full else catalogue.DEFAULT_NS)
    a_srcs = split_list(args.a_src, "A source", catalogue.A_SOURCES)
    swizzles = split_list(args.swizzle, "swizzle", catalogue.SWIZZLES)
    if not full:
        a_srcs, swizzles = a_srcs or ["ss"], swizzles or ["128b"]
    return catalogue.select(ns, split_list(args.acc, "accumulator", catalogue.ACCS),
                            split_list(args.ab_type, "A/B type", catalogue.AB_TYPES),
                            a_srcs, swizzles)


def sweep_from_args(args):
    from mmabench.wgmma.suite import DEFAULT, FULL, QUICK

    if args.quick and args.full:
        raise UserError("--quick and --full exclude each other")
    sweep = QUICK if args.quick else FULL if args.full else DEFAULT
    overrides = {
        "warpgroups": int_list(args.warpgroups, "--warpgroups", 1, 8),
        "ilps": int_list(args.ilp, "--ilp", 1, 4),
        "depths": int_list(args.depth, "--depth", 1, 16),
    }
    if args.pending is not None:
        if not 0 <= args.pending <= 7:
            raise UserError(f"bad --pending {args.pending}; accepted: 0..7")
        overrides["pending"] = args.pending
    return replace(sweep, **{k: v for k, v in overrides.items() if v is not None})


def run_offline(forms, arch_list, markdown=False, results_root=None) -> int:
    """Assemble each form for each target, check its SASS, print the table and write the rows
    to a run folder (wgmma-offline)."""
    from mmabench import record
    from mmabench.reporting.progress import Progress
    from mmabench.wgmma.offline import check_form

    folder, common = record.offline_run("wgmma-offline", results_root)
    rows, bad = [], 0
    bar = Progress(len(forms) * len(arch_list), "wgmma")
    for form in forms:
        for arch in arch_list:
            if not form.runs_on(arch):
                note = "not on this arch (wgmma needs sm_90a)"
                rows.append([form.name, arch, "-", "-", note, "-"])
                folder.add({"form": form.name, "arch": arch, "status": "n/a", "message": note, **common})
            else:
                r = check_form(form, arch)
                bad += not r["ok"]
                rows.append([form.name, f"{arch} ({r['target']})",
                             f"{r['sass_per_trip']}/{r['expected_per_trip']}",
                             "ok" if r["ok"] else f"MISMATCH {r['problem']}", r["gmma_opcodes"],
                             r["registers"]])
                folder.add({**r, "status": "ok" if r["ok"] else "mismatch", **common})
            bar.step(f"{form.name} {arch}")
    print(tables.table(["form", "arch", "per loop trip", "check", "GMMA opcodes in SASS", "regs"],
                       rows, markdown))
    print(f"\nresults: {folder.path}")
    return 1 if bad else 0


def run_checks(forms, seed=None, dump_dir=None) -> int:
    """Exact small-integer checks only: one instruction and a short chain per form."""
    import numpy as np
    from pathlib import Path

    from mmabench.wgmma.bench import MeasurementError, build, run_exact
    from mmabench.wgmma.render import LATENCY

    from mmabench.core.seed import chosen

    rng = np.random.default_rng(chosen(seed))   # said: the checks print, they keep no rows
    failed = 0
    for form in forms:
        try:
            built = build(form, LATENCY)
        except MeasurementError as exc:
            print(f"FAIL {form.name}: {exc}")
            failed += 1
            continue
        for iters in (0, 3):
            r = run_exact(built, rng, iters)
            print(("ok   " if r.ok else "FAIL ") + (f"{form.name} iters={iters}" if r.ok else r.message))
            if not r.ok:
                failed += 1
                if dump_dir:
                    out = Path(dump_dir)
                    out.mkdir(parents=True, exist_ok=True)
                    np.save(out / f"{form.name}.iters{iters}.got.npy", r.got)
                    np.save(out / f"{form.name}.iters{iters}.expected.npy", r.expected)
                break
    print(f"{len(forms) - failed}/{len(forms)} forms exact")
    return 1 if failed else 0


def run(args) -> int:
    forms = selected_forms(args)
    if getattr(args, "dump_layout", None):     # before the GPU is looked for
        from mmabench.record.output import check_folder
        check_folder(args.dump_layout, "--dump-layout's arrays")
    if args.offline:
        return run_offline(forms, hardware.parse_archs(args.arch, default=("sm_90",)), args.markdown,
                           record.results_root(args.results))
    sweep = sweep_from_args(args)  # bad input is reported before looking for a GPU
    hardware.require_gpu()
    from mmabench.wgmma.suite import UNSUPPORTED, run as run_suite, summary

    arch = hardware.device_arch()
    if args.check_only:
        if not any(f.runs_on(arch) for f in forms):
            print(f"{len(forms)} wgmma forms: {UNSUPPORTED}; this GPU is {arch}")
            return 0
        return run_checks(forms, args.seed, args.dump_layout)
    folder, rows = run_suite(forms, sweep, args.seed, args.results, compare=not args.no_compare,
                             regime=args.regime)
    from mmabench.instructions.suite import finish

    return finish(folder, rows, arch, summary(rows, args.markdown))
