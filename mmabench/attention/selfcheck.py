"""GPU self-check of the attention kernel: every variant against the float64 reference, and
optionally compute-sanitizer (memcheck + racecheck) on every variant.

    python -m mmabench.attention.selfcheck [--quick] [--dim 64,128] [--sanitize] [--json FILE]

(and, once wired, `python -m mmabench attention --check [--sanitize]`, which calls `check`).
Correctness: fresh random normal inputs per case, output poisoned with NaN first, every head dim,
causal and not, N in {1, 17, 128, 1000, 4096}; f32/f32 variants must meet FlashAttention's rule
(max abs error <= 2 x PyTorch fp16's + 1e-4), the others the documented f16 bound (validate.tolerance).
Sanitizer: each variant runs once on a small odd shape (tails masked) in a child process
(`--one VARIANT`) under compute-sanitizer; a report or a crash fails the check.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

from mmabench.reporting import tables
from mmabench.compiler import toolchain
from mmabench.core import workers
from mmabench.core import seed
from mmabench.attention import bench, build, validate, variants
from mmabench.attention.launch import Launcher
from mmabench.attention.reference import default_scale

SEQS = (1, 17, 128, 1000, 4096)
QUICK_SEQS = (17, 1000)
SANITIZER_TOOLS = ("memcheck", "racecheck")
SANITIZER_TIMEOUT_S = 300


def correctness(var_list, seqs=SEQS, causal_modes=(False, True), batch=1, heads=2, seed=None,
                log=print) -> list[dict]:
    import cupy

    rng = np.random.default_rng(seed)
    rows = []
    for d in sorted({v.dim for v in var_list}):
        for n in seqs:
            for causal in causal_modes:
                case = bench.Case(d, n, causal, batch, heads)
                q, k, vv = validate.random_inputs(case.shape, rng)
                ref = validate.Reference(q, k, vv, causal, default_scale(d), batch * heads, rng)
                out = cupy.empty_like(q)
                for v in (v for v in var_list if v.dim == d):
                    try:
                        launcher = Launcher(build.load(v), q, k, vv, out, causal)
                        m, err = validate.check_variant(launcher, ref, v)
                    except Exception as exc:
                        m, err = {}, f"{type(exc).__name__}: {exc}"
                    rows.append({"variant": v.name, "dim": d, "seq": n, "causal": causal,
                                 "yard_max_abs_err": ref.yard_max_abs, **m,
                                 "status": "error" if err else "ok", "error": err or ""})
                    if err:
                        log(f"FAIL {v.name} N={n} causal={causal}: {err}")
    return rows


def correctness_table(rows, markdown=False) -> str:
    body = []
    for name in dict.fromkeys(r["variant"] for r in rows):
        sel = [r for r in rows if r["variant"] == name]
        worst = max(sel, key=lambda r: r.get("err_vs_yardstick", 0) if r.get("err_vs_yardstick") == r.get("err_vs_yardstick") else 0)
        fails = sum(r["status"] != "ok" for r in sel)
        body.append([name, len(sel), fails, f"{max(r.get('max_abs_err', float('nan')) for r in sel):.2e}",
                     f"{worst.get('err_vs_yardstick', float('nan')):.2f}",
                     f"N={worst['seq']} {'causal' if worst['causal'] else 'full'}",
                     max(r.get("nonfinite_all", 0) for r in sel)])
    # yardstick: PyTorch fp16 attention, the error a user already accepts
    return tables.table(["variant", "cases", "failed", "max abs err", "worst err/yardstick",
                         "worst case", "inf/NaN"], body, markdown)


def run_one(name: str, seq: int = 77, causal: bool = True) -> int:
    """One launch of one variant on a small odd shape (tails masked): the sanitizer's child."""
    import cupy

    by = {v.name: v for v in variants.all_variants()}
    if name not in by:
        print(f"unknown variant {name}", file=sys.stderr)
        return 2
    v = build.fit_to_gpu(by[name])
    case = bench.Case(v.dim, seq, causal, 1, 2)
    q, k, vv = validate.random_inputs(case.shape, np.random.default_rng(0))
    out = cupy.empty_like(q)
    Launcher(build.load(v), q, k, vv, out, causal)()
    cupy.cuda.runtime.deviceSynchronize()
    ok = bool(cupy.isfinite(out).all())
    print(f"{v.name}: ran N={seq} causal={causal}, output finite: {ok}")
    return 0 if ok else 1


def sanitize(names, tools=SANITIZER_TOOLS, timeout=SANITIZER_TIMEOUT_S, n_workers=8,
             log=print) -> list[dict]:
    """compute-sanitizer on each variant (a child process per variant and tool)."""
    sanitizer = toolchain.find_tool("compute-sanitizer")

    def one(job):
        name, tool = job
        t0 = time.time()
        cmd = [str(sanitizer), "--tool", tool, "--error-exitcode", "9",
               sys.executable, "-m", "mmabench.attention.selfcheck", "--one", name]
        try:
            p = workers.run(cmd, timeout=timeout)    # Ctrl-C kills it and the kernel it checks
            rc, tail = p.returncode, (p.stdout + p.stderr).strip().splitlines()[-2:]
        except subprocess.TimeoutExpired:
            rc, tail = None, [f"timed out after {timeout} s"]
        row = {"variant": name, "tool": tool, "rc": rc, "seconds": round(time.time() - t0, 1),
               "status": "ok" if rc == 0 else "error", "tail": " | ".join(tail)}
        log(f"sanitize {tool} {name}: rc={rc} {row['seconds']}s | {row['tail']}")
        return row

    jobs = [(n, t) for n in names for t in tools]
    with workers.pool(max(1, min(n_workers, len(jobs)))) as ex:
        return list(ex.map(one, jobs))


def check(var_list=None, quick: bool = False, sanitize_too: bool = False, markdown: bool = False,
          seed=None, json_path=None, log=print) -> int:
    """The correctness sweep (and the sanitizer) on `var_list` (default: every variant);
    prints a table and a summary line, returns the exit code (1 if anything failed)."""
    from mmabench import hardware
    from mmabench.record.output import check_writable, write_text

    if json_path:
        check_writable(json_path)   # before the sweep, not after it
    from mmabench.core.seed import chosen

    hardware.require_gpu()
    seed = chosen(seed, say=log)   # said, and kept in the JSON
    var_list = var_list or variants.all_variants()
    rows = correctness(var_list, seqs=QUICK_SEQS if quick else SEQS, seed=seed, log=log)
    log(correctness_table(rows, markdown))
    failed = sum(r["status"] != "ok" for r in rows)
    log(f"\ncorrectness: {len(rows) - failed}/{len(rows)} checks passed")
    san = []
    if sanitize_too:
        san = sanitize([v.name for v in var_list], log=log)
        bad = sum(r["status"] != "ok" for r in san)
        log(f"sanitizer: {len(san) - bad}/{len(san)} clean ({', '.join(SANITIZER_TOOLS)})")
        failed += bad
    if json_path:
        write_text(json_path, json.dumps({"seed": seed, "correctness": rows, "sanitizer": san},
                                         indent=1, default=str))
    return 1 if failed else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mmabench.attention.selfcheck")
    ap.add_argument("--quick", action="store_true", help="N in " + " and ".join(map(str, QUICK_SEQS)) + " only")
    ap.add_argument("--dim", help="comma list of head dims")
    ap.add_argument("--sanitize", action="store_true",
                    help="also run compute-sanitizer (memcheck, racecheck) on every variant")
    ap.add_argument("--json", metavar="FILE", help="write the rows to FILE")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--seed", type=seed.option, help="seed of the random inputs (default: a fresh one, printed)")
    ap.add_argument("--one", metavar="VARIANT", help=argparse.SUPPRESS)   # the sanitizer's child
    args = ap.parse_args(argv)
    if args.one:
        return run_one(args.one)
    from mmabench.core.errors import UserError, int_list
    try:
        dims = int_list(args.dim, "--dim", accepted=variants.DIMS) or variants.DIMS
        return check(variants.all_variants(dims=dims), args.quick, args.sanitize, args.markdown,
                     seed=args.seed, json_path=args.json)
    except (UserError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
