"""`python -m mmabench gemm`: the GEMM bridge (our wgmma GEMM, Triton, cuBLAS; f16 vs f32 accumulation)."""

from __future__ import annotations

import argparse

from mmabench.reporting import tables
from mmabench.core.errors import ToolMissing, UserError, int_list, items, split_list
from mmabench import measure
from mmabench.core import seed
from mmabench.core.options import Mode, Modes
from mmabench.gemm.variants import ACCS, MODES

DEFAULT_SIZE = 8192

# Which options each mode reads (mmabench.core.options): one given to a mode that does not read
# it is refused, not ignored.
OPTIONS = Modes(
    common=("--acc", "--mode", "--results", "--markdown"),
    modes=(Mode("the benchmark", devices=True,
                reads=("--size", "--shape", "--triton", "--cublas", "--quick", "--regime", "--seed")),
           Mode("--offline", reads=("--triton", "--size"))))


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "gemm", help="fp16 GEMM with f16 vs f32 accumulation: our wgmma kernel, Triton, cuBLAS",
        description="On the same random fp16 tensors (C = A.B^T, M = N = K = --size): a minimal "
                    "wgmma GEMM of our own (f16 or f32 accumulator; operands resident in shared "
                    "memory, or a real cp.async pipeline), a Triton GEMM with the same tiles "
                    "(tl.dot out_dtype f16 vs f32), cuBLAS gemmEx (COMPUTE_16F vs 32F) and "
                    "torch.matmul (fp16 reduced-precision reduction off/on). Every output is "
                    "checked against a float64 reference first; the passing ones are timed in "
                    "interleaved rounds. Rows: TFLOP/s, clock, power, registers, spills, the "
                    "tensor instruction, the error, and each implementation's f16/f32 speed "
                    "ratio. With --offline: registers, spills and SASS of our kernels (no GPU).")
    p.add_argument("--size", help=f"M = N = K, or a comma list of them: a sweep (multiples of 16; "
                                  f"default {DEFAULT_SIZE}). Contenders that need whole tiles say "
                                  "'unsupported' for a size they cannot take")
    p.add_argument("--shape", help="comma list of MxNxK problems (skinny ones too: 256x8192x8192), "
                                   "after the --size ones; N even and K a multiple of 16")
    p.add_argument("--acc", help=f"comma list of accumulators ({','.join(ACCS)}); default both")
    p.add_argument("--mode", help=f"comma list of our kernels' modes ({','.join(MODES)}); default all")
    p.add_argument("--triton", action=argparse.BooleanOptionalAction,
                   help="also time Triton GEMMs, B as [K, N] (nn) and [N, K] (nt), at four tile "
                        "configurations (default on; a clear 'unavailable' row without Triton). "
                        "With --offline: compile them for sm_90 and show what Triton built around "
                        "the wgmma (needs Triton, not a GPU)")
    p.add_argument("--cublas", action=argparse.BooleanOptionalAction,
                   help="also time cuBLAS: gemmEx 16F/32F compute and torch.matmul (default on)")
    p.add_argument("--quick", action="store_true",
                   help="fewer, shorter interleaved rounds (the burst regime unless --regime)")
    p.add_argument("--regime", metavar="R", type=measure.regime_option, help=measure.REGIME_HELP)
    p.add_argument("--seed", type=seed.option, default=None,
                   help="random seed for the input data (default: a fresh one, printed and recorded "
                        "in the rows)")
    p.add_argument("--results", metavar="DIR", help="results root folder (default ./results)")
    p.add_argument("--markdown", action="store_true", help="print tables as Markdown")
    p.add_argument("--offline", action="store_true",
                   help="no GPU: compile our kernels for sm_90a and report registers, spills, SASS")
    p.set_defaults(func=run)


def run_offline(accs, modes, markdown=False, results_root=None) -> int:
    """Compile each of our GEMM kernels for sm_90a, print registers, spills and SASS, and write
    the rows to a run folder (gemm-offline)."""
    from mmabench import record
    from mmabench.gemm.offline import report as kernel_report
    from mmabench.gemm.bench import compact_tensor_op
    from mmabench.gemm.variants import select
    from mmabench.reporting.progress import Progress

    folder, common = record.offline_run("gemm-offline", results_root)
    chosen = select(accs, modes)
    rows, bad = [], 0
    bar = Progress(len(chosen), "gemm")
    for v in chosen:
        r = kernel_report(v)
        bad += not r["ok"]
        # what went wrong, ptxas's advisories first: they undo what the kernel is built for
        flagged = [what for what, hit in (("wgmma serialized", r["wgmma_serialized"]),
                                          ("setmaxnreg ignored", r["setmaxnreg_ignored"]),
                                          ("spills", r["spill_store_bytes"] + r["spill_load_bytes"]),
                                          ("not " + r["expected_hgmma"], not r["ok"])) if hit]
        rows.append([r["kernel"], r["registers"], r["spill_store_bytes"] + r["spill_load_bytes"],
                     r["smem_bytes"], compact_tensor_op(r["hgmma"]), r["setmaxnreg"] or "-",
                     flagged[0] if flagged else "ok"])
        folder.add({**r, "status": "ok" if r["ok"] else "mismatch", **common})
        bar.step(v.name)
    print(tables.table(["kernel (sm_90a)", "regs", "spill B", "smem B", "tensor op in SASS",
                        "setmaxnreg", "check"], rows, markdown))
    print(f"\nresults: {folder.path}")
    return 1 if bad else 0


def run_triton_offline(accs, size: int, markdown=False, results_root=None) -> int:
    """Compile the Triton GEMMs for sm_90 (no GPU) and print what Triton built around the wgmma
    (gemm.triton_evidence); rows to a run folder (gemm-triton-offline)."""
    from mmabench import record
    from mmabench.gemm import triton_evidence, triton_gemm
    from mmabench.gemm.bench import triton_summary
    from mmabench.reporting.progress import Progress

    why = triton_gemm.unavailable()
    if why:   # a missing tool: one line, as every other
        raise ToolMissing(f"gemm --offline --triton needs Triton: {why} (pip install triton; "
                          "PyTorch's Linux wheels bring it)")
    folder, common = record.offline_run("gemm-triton-offline", results_root)
    cases = [(layout, config, acc) for layout in triton_gemm.LAYOUTS for config in triton_gemm.CONFIGS
             for acc in accs]
    rows = []
    bar = Progress(len(cases), "triton")
    for layout, config, acc in cases:
        row = {"impl": f"triton-{layout} {config.name}", "key": f"triton-{layout}.{config.key}.{acc}",
               "acc": acc, "m": size, "n": size, "k": size, "arch": "sm_90a", "status": "offline"}
        try:
            compiled = triton_gemm.compile_offline(acc, layout, config, size)
            row.update(triton_gemm.kernel_info(compiled.asm, compiled, config))
            row.update(triton_evidence.facts(compiled.asm))
        except Exception as exc:   # a configuration Triton cannot build is a row, not a crash
            row.update(status="error", error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        rows.append(row)
        folder.add({**row, **common})
        bar.step(row["key"])
    print(triton_summary(rows, markdown).lstrip("\n"))
    print(f"\nresults: {folder.path}")
    return 0 if all(r["status"] != "error" for r in rows) else 1


MAX_DIM = 65536


def _size(args) -> int:
    """The one size of --offline (Triton's specialization): DEFAULT_SIZE unless given."""
    sizes = int_list(args.size, "--size", 16, MAX_DIM)
    if sizes and len(sizes) > 1:
        raise UserError("gemm --offline --triton takes one --size")
    return sizes[0] if sizes else DEFAULT_SIZE


def problems(args) -> list[tuple[int, int, int]]:
    """The (M, N, K) problems a run measures: --size ones (M = N = K), then --shape ones."""
    from mmabench.gemm.bench import check_problem

    sizes = int_list(args.size, "--size", 16, MAX_DIM) or ()
    shapes = [(s, s, s) for s in sizes]
    for text in items(args.shape, "--shape", "MxNxK shapes") if args.shape is not None else ():
        try:
            dims = tuple(int(x) for x in text.strip().lower().split("x"))
        except ValueError:
            dims = ()
        if len(dims) != 3 or not all(1 <= d <= MAX_DIM for d in dims):
            raise UserError(f"--shape {text.strip()!r}: accepted MxNxK, each 1..{MAX_DIM} (e.g. 256x8192x8192)")
        shapes.append(dims)
    shapes = shapes or [(DEFAULT_SIZE,) * 3]
    for shape in shapes:
        check_problem(*shape)
    return shapes


def run(args) -> int:
    accs = split_list(args.acc, "accumulator", ACCS)
    modes = split_list(args.mode, "mode", MODES)
    if args.offline:
        from mmabench import record

        root = record.results_root(args.results)
        if args.triton:
            if modes:   # --mode picks our kernels; the Triton report has none
                raise UserError("gemm --offline --triton reads no --mode (it compiles Triton's GEMMs only)")
            return run_triton_offline(tuple(accs or ACCS), _size(args), args.markdown, root)
        if args.size is not None:   # our kernels compile for any size: --size would be ignored
            raise UserError("gemm --offline reads --size only with --triton (Triton specializes on it)")
        return run_offline(accs, modes, args.markdown, root)
    shapes = problems(args)
    from mmabench import measure
    from mmabench.gemm.bench import POLICY, QUICK_POLICY, run as run_bench, summary, sweep_summary

    policy = measure.in_regime(QUICK_POLICY if args.quick else POLICY,
                               args.regime or ("burst" if args.quick else None))
    # --triton / --cublas: on unless --no-triton / --no-cublas
    folder, rows = run_bench(accs=tuple(accs or ACCS), modes=tuple(modes or MODES),
                             with_triton=args.triton is not False, with_cublas=args.cublas is not False,
                             seed=args.seed, policy=policy, results_root=args.results, shapes=shapes)
    ctx = rows[0] if rows else {}
    # the clock and power of each row, and what a ratio is, are in the notes under each table
    for m, n, k in shapes:
        mine = [r for r in rows if (r["m"], r["n"], r["k"]) == (m, n, k)]
        what = f"M=N=K={m}" if m == n == k else f"M={m}, N={n}, K={k}"
        print(f"\n{ctx.get('gpu_name', '?')}, {what}, fp16 in/out (fp8 rows: e4m3 in); {policy.regime} regime")
        print(summary(mine, args.markdown))
    if len(shapes) > 1:
        print("\n" + sweep_summary(rows, args.markdown))
    print(f"\nresults: {folder.path}")
    return 0 if all(r.get("status") != "error" for r in rows) else 1
