"""Nsight Compute evidence for the Triton puzzle: tensor-pipe use and stall reasons of the Triton
GEMMs of `python -m mmabench gemm` (both layouts of B, the four tile configurations, both
accumulators), one profiled launch each.

    python scripts/triton_ncu.py [--out DIR] [--size 8192] [--clock-control none|base]

ncu locks the SM clock to base by default; this runs with `--clock-control none` unless told
otherwise (the clocks a user's run sees), and writes it into every row. Output: DIR/ncu-raw.csv
(every metric ncu gave, one row per kernel), DIR/triton-ncu.csv (the condensed columns below),
and the condensed table on stdout. DIR defaults to $MMABENCH_RESULTS/triton-ncu (as
scripts/regenerate.py runs it). Needs a GPU, Triton, torch and ncu on PATH.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ncu_common  # noqa: E402  (a sibling script module)
from ncu_common import parse_raw, parse_units  # noqa: E402,F401  (the tests read them here)

SECTIONS = ("SpeedOfLight", "ComputeWorkloadAnalysis", "WarpStateStats", "SchedulerStats", "LaunchStats")
KERNEL = "regex:_gemm_kernel"


def cases():
    from mmabench.gemm import triton_gemm

    return [(layout, config, acc) for layout in triton_gemm.LAYOUTS for config in triton_gemm.CONFIGS
            for acc in ("f32", "f16")]


def child(size: int) -> None:
    """Launch every Triton GEMM once, in `cases()` order (ncu profiles each launch)."""
    import torch

    from mmabench.gemm import triton_gemm

    torch.manual_seed(0)
    a = torch.randn(size, size, device="cuda", dtype=torch.float16)
    b_nk = torch.randn(size, size, device="cuda", dtype=torch.float16)   # as the gemm run's inputs
    b = {"nt": b_nk, "nn": b_nk.t().contiguous()}
    c = torch.empty(size, size, device="cuda", dtype=torch.float16)
    for layout, config, acc in cases():
        triton_gemm.TritonGemm(acc, layout, config, a, b[layout], c)   # compiles and launches once
        torch.cuda.synchronize()


def condensed(raw: dict, case, clock: str, units: dict[str, str] | None = None) -> dict:
    layout, config, acc = case
    return {"kernel": f"triton-{layout} {config.name}", "acc": acc,
            **ncu_common.common_fields(raw, clock, units)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path)
    p.add_argument("--size", type=int, default=8192)
    p.add_argument("--clock-control", default="none", choices=("none", "base"))
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.size)
        return 0
    found = ncu_common.ncu_and_out(args.out, "triton-ncu")
    if found is None:
        return 2
    ncu, args.out = found
    child_cmd = [sys.executable, __file__, "--child", "--size", str(args.size)]
    try:
        text = ncu_common.profile_with_fallback(ncu, child_cmd, KERNEL, SECTIONS, args.clock_control,
                                                ncu_common.gmma_metrics(ncu))
    except RuntimeError as exc:   # no counters (permission), no GPU, ...: one line
        print(f"triton_ncu: {exc}")
        return 1
    (args.out / "ncu-raw.csv").write_text(text[text.find('"ID"'):] if '"ID"' in text else text)
    raws = parse_raw(text)
    order = cases()
    if len(raws) != len(order):
        print(f"ncu profiled {len(raws)} kernels, expected {len(order)}")
        return 1
    units = parse_units(text)
    rows = [condensed(r, case, args.clock_control, units) for r, case in zip(raws, order)]
    ncu_common.write_csv(args.out / "triton-ncu.csv", rows)
    for r in rows:
        print(f"{r['kernel']:28s} {r['acc']}  {r['duration_us'] or 0:8.1f} us  {r['sm_clock_mhz'] or 0:6.0f} MHz"
              f"  SM {r['sm_throughput_pct'] or 0:5.1f}%  issue {r['issue_active_pct'] or 0:5.1f}%"
              f"  tensor pipe {r['tensor_pipe_active_pct'] or 0:5.1f}%  regs {r['registers'] or 0:.0f}  stalls: {r['top_stalls']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
