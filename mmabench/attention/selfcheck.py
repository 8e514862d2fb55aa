"""GPU self-check: `python -m mmabench.attention.selfcheck [--quick] [--time] [--sanitize NAME]`.

Correctness of every variant against the float64 reference (fresh random normal inputs per case,
output poisoned with NaN first) for every head dim, causal and not, N in {1, 17, 128, 1000, 4096};
f32/f32 variants must meet FlashAttention's rule (max abs error <= 2 x PyTorch fp16's + 1e-4),
the others the documented f16 bound (bench.tolerance). With --time, a timing table vs SDPA.
--sanitize NAME runs one variant on one small shape, for compute-sanitizer.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from .. import report
from . import bench, build, variants
from .launch import Launcher
from .reference import default_scale

SEQS = (1, 17, 128, 1000, 4096)


def correctness(var_list, seqs=SEQS, causal_modes=(False, True), batch=1, heads=2, seed=None,
                log=print) -> list[dict]:
    import cupy

    rng = np.random.default_rng(seed)
    rows = []
    for d in sorted({v.dim for v in var_list}):
        for n in seqs:
            for causal in causal_modes:
                case = bench.Case(d, n, causal, batch, heads)
                q, k, vv = bench.random_inputs(case.shape, rng)
                ref = bench.Reference(q, k, vv, causal, default_scale(d), batch * heads, rng)
                out = cupy.empty_like(q)
                for v in (v for v in var_list if v.dim == d):
                    try:
                        launcher = Launcher(build.load(v), q, k, vv, out, causal)
                        m, err = bench.check_variant(launcher, ref, v)
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
    return report.table(["variant", "cases", "failed", "max abs err", "worst err / PyTorch fp16",
                         "worst case", "inf/NaN"], body, markdown)


def sanitize_one(name: str, seq: int = 77, causal: bool = True) -> int:
    """One launch of one variant on a small odd shape (tails masked), for compute-sanitizer."""
    import cupy

    by = {v.name: v for v in variants.all_variants()}
    if name not in by:
        print(f"unknown variant {name}", file=sys.stderr)
        return 2
    v = by[name]
    case = bench.Case(v.dim, seq, causal, 1, 2)
    q, k, vv = bench.random_inputs(case.shape, np.random.default_rng(0))
    out = cupy.empty_like(q)
    Launcher(build.load(v), q, k, vv, out, causal)()
    cupy.cuda.runtime.deviceSynchronize()
    ok = bool(cupy.isfinite(out).all())
    print(f"{name}: ran N={seq} causal={causal}, output finite: {ok}")
    return 0 if ok else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mmabench.attention.selfcheck")
    ap.add_argument("--quick", action="store_true", help="N in {17, 1000} only")
    ap.add_argument("--dim", help="comma list of head dims")
    ap.add_argument("--time", action="store_true", help="also time vs SDPA (d=64,128, N=4096)")
    ap.add_argument("--sanitize", metavar="VARIANT", help="one small launch of VARIANT")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    if args.sanitize:
        return sanitize_one(args.sanitize)
    dims = tuple(int(x) for x in args.dim.split(",")) if args.dim else variants.DIMS
    var_list = variants.all_variants(dims=dims)
    rows = correctness(var_list, seqs=(17, 1000) if args.quick else SEQS)
    print(correctness_table(rows, args.markdown))
    failed = sum(r["status"] != "ok" for r in rows)
    print(f"\n{len(rows) - failed}/{len(rows)} checks passed")
    if args.time:
        from .cli import summary
        cases = bench.cases([d for d in dims if d in (64, 128)], [4096], [False, True])
        _, trows = bench.run(var_list, cases)
        print(summary(trows, args.markdown))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
