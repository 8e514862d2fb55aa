"""Nsight Compute evidence for the Hopper attention kernel: where the time goes in the f32/f32
kernel and in its f16 variants at one head dim (pipe use, stall reasons, and the SASS each
executes per K/V tile), one profiled launch each, on the FA3 benchmark shape (16k tokens,
heads x d = 2048), non-causal.

    python scripts/hopper_attention_ncu.py [--out DIR] [--dim 64] [--seq 8192]
                                           [--schemes f32/f32,f16q/f16,f16p/f16]
                                           [--clock-control none|base]

Each variant runs at its own tuned tiles (data/attention_tuned.json). Output: DIR/ncu-raw.csv
(every metric ncu gave, one row per kernel), DIR/hopper-ncu.csv (the condensed columns),
DIR/hopper-ncu-opcodes.csv (executed warp instructions per SASS opcode, and per consumer warp
and K/V tile), and the condensed tables on stdout. DIR defaults to
$MMABENCH_RESULTS/hopper-attention-ncu (as scripts/regenerate.py runs it). Needs a GPU (sm_90)
and ncu on PATH; the opcode mix also needs ncu's Python report module (extras/python).
"""

from __future__ import annotations

import argparse
import math
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ncu_common  # noqa: E402  (a sibling script module)

SECTIONS = ("SpeedOfLight", "ComputeWorkloadAnalysis", "WarpStateStats", "SchedulerStats",
            "InstructionStats", "LaunchStats")
KERNEL = "regex:^hopper_d"
TOKENS, WIDTH = 16384, 2048          # FlashAttention's benchmark: B*N tokens, H*d
PIPE = re.compile(r"sm__inst_executed_pipe_(\w+)\.avg\.pct_of_peak_sustained_active")
# the opcodes the accumulator choice changes (the softmax and the two matmuls), in table order
KEY_OPCODES = ("HGMMA", "MUFU", "FFMA", "FMUL", "FADD", "FMNMX", "HFMA2", "HMUL2", "HADD2",
               "HMNMX2", "VHMNMX", "F2FP", "SHFL")


def variant_list(dim: int, schemes: list[tuple[str, str]]):
    from mmabench.attention import variants

    return [variants.hopper_variant(dim, s, o) for s, o in schemes]


def shape(dim: int, seq: int) -> tuple[int, int]:
    """(batch, heads) of the benchmark shape."""
    return max(1, TOKENS // seq), WIDTH // dim


def child(dim: int, seq: int, schemes) -> None:
    """Launch each variant once, in order (ncu profiles each launch)."""
    import cupy

    from mmabench.attention import build
    from mmabench.attention.launch import Launcher

    batch, heads = shape(dim, seq)
    rng = cupy.random.default_rng(0)
    q, k, v = (rng.standard_normal((batch, heads, seq, dim), dtype=cupy.float32).astype(cupy.float16)
               for _ in range(3))
    out = cupy.empty_like(q)
    for var in variant_list(dim, schemes):
        Launcher(build.load(var), q, k, v, out, False, 1 / math.sqrt(dim))()
        cupy.cuda.runtime.deviceSynchronize()


def warp_tiles(var, seq: int) -> int:
    """Consumer warp x K/V tile trips of one non-causal launch: the unit of the per-tile counts."""
    batch, heads = shape(var.dim, seq)
    t = var.tiles
    q_blocks = math.ceil(seq / t.br)
    return batch * heads * q_blocks * t.consumers * 4 * math.ceil(seq / t.bc)


def opcode_mix(report: Path) -> list[dict[str, int]] | None:
    """Executed warp instructions per SASS opcode of each profiled kernel, read with ncu's Python
    report module; None where that module is not found."""
    ncu = shutil.which("ncu")
    roots = [Path(ncu).resolve().parent] if ncu else []
    for root in roots:
        for extra in [root / "extras" / "python", *root.parent.glob("*/extras/python")]:
            if (extra / "ncu_report.py").exists() and str(extra) not in sys.path:
                sys.path.append(str(extra))
    try:
        import ncu_report
    except ImportError:
        return None
    ctx = ncu_report.load_report(str(report))
    mixes = []
    rng = ctx.range_by_idx(0)
    for i in range(rng.num_actions()):
        metric = rng.action_by_idx(i).metric_by_name("sass__inst_executed_per_opcode")
        if metric is None:
            return None
        ids = metric.correlation_ids()
        mixes.append({ids.as_string(j): int(metric.as_uint64(j)) for j in range(metric.num_instances())})
    return mixes


def condensed(raw: dict, var, clock: str, units: dict[str, str]) -> dict:
    pipes = {f"pipe_{m.group(1)}_pct": ncu_common.number(v) for k, v in raw.items()
             if (m := PIPE.fullmatch(k))}
    return {"kernel": var.name, "acc_s": var.acc_s, "acc_o": var.acc_o, "tiles": var.tiles.label,
            **ncu_common.common_fields(raw, clock, units), **dict(sorted(pipes.items()))}


def opcode_rows(mix: dict[str, int], var, seq: int) -> list[dict]:
    trips = warp_tiles(var, seq)
    return [{"kernel": var.name, "opcode": op, "executed": n, "per_warp_tile": n / trips}
            for op, n in sorted(mix.items(), key=lambda kv: -kv[1])]


def _grouped(rows: list[dict]) -> dict[str, float]:
    """Per warp and tile, summed over each key opcode's forms (HGMMA.64x128x16.F32 -> HGMMA)."""
    out = dict.fromkeys(KEY_OPCODES, 0.0)
    out["all"] = 0.0
    for r in rows:
        base = r["opcode"].split(".", 1)[0]
        if base in out:
            out[base] += r["per_warp_tile"]
        out["all"] += r["per_warp_tile"]
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--seq", type=int, default=8192)
    p.add_argument("--schemes", default="f32/f32,f16q/f16,f16p/f16",
                   help="comma list of S/O accumulators of the Hopper kernel")
    p.add_argument("--clock-control", default="none", choices=("none", "base"))
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    try:
        schemes = [tuple(x.split("/")) for x in args.schemes.split(",")]
        if any(len(s) != 2 for s in schemes):
            raise ValueError
        var_list = variant_list(args.dim, schemes)
    except ValueError:
        print(f"hopper_attention_ncu: --schemes takes S/O pairs such as f32/f32,f16p/f16, not "
              f"{args.schemes!r}")
        return 2
    except Exception as exc:          # noqa: BLE001 - mmabench's UserError: one line
        print(f"hopper_attention_ncu: {exc}")
        return 2
    if args.child:
        child(args.dim, args.seq, schemes)
        return 0
    found = ncu_common.ncu_and_out(args.out, "hopper-attention-ncu")
    if found is None:
        return 2
    ncu, args.out = found
    child_cmd = [sys.executable, __file__, "--child", "--dim", str(args.dim), "--seq", str(args.seq),
                 "--schemes", args.schemes]
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "hopper"
        try:
            text = ncu_common.profile_with_fallback(ncu, child_cmd, KERNEL, SECTIONS, args.clock_control,
                                                    ncu_common.gmma_metrics(ncu), export=str(report))
            raws = ncu_common.parse_raw(text)
        except RuntimeError as exc:   # no counters (permission), no GPU, no table, ...: one line
            print(f"hopper_attention_ncu: {exc}")
            return 1
        mixes = opcode_mix(report.with_suffix(".ncu-rep"))
    (args.out / "ncu-raw.csv").write_text(text[text.find('"ID"'):])
    if len(raws) != len(var_list):
        print(f"ncu profiled {len(raws)} kernels, expected {len(var_list)}")
        return 1
    units = ncu_common.parse_units(text)
    rows = [condensed(r, v, args.clock_control, units) for r, v in zip(raws, var_list)]
    ncu_common.write_csv(args.out / "hopper-ncu.csv", rows)
    print(f"d={args.dim} N={args.seq} non-causal, clock control {args.clock_control}")
    for r in rows:
        print(f"{r['kernel']:42s} {r['tiles']:18s} {r['duration_us'] or 0:8.1f} us  "
              f"{r['sm_clock_mhz'] or 0:5.0f} MHz  issue {r['issue_active_pct'] or 0:5.1f}%  "
              f"tensor {r['tensor_pipe_active_pct'] or 0:5.1f}%  xu {r.get('pipe_xu_pct') or 0:5.1f}%  "
              f"fma {r.get('pipe_fma_pct') or 0:5.1f}%  alu {r.get('pipe_alu_pct') or 0:5.1f}%  "
              f"stalls: {r['top_stalls']}")
    if mixes is None or len(mixes) != len(var_list):
        print("no opcode mix: ncu's Python report module (extras/python/ncu_report.py) not found")
        return 0
    per_op = [opcode_rows(m, v, args.seq) for m, v in zip(mixes, var_list)]
    ncu_common.write_csv(args.out / "hopper-ncu-opcodes.csv", [r for rows_ in per_op for r in rows_])
    print("executed warp instructions per consumer warp and K/V tile (producer warps included):")
    print(f"{'kernel':42s} " + " ".join(f"{k:>7s}" for k in (*KEY_OPCODES, "all")))
    for v, rows_ in zip(var_list, per_op):
        g = _grouped(rows_)
        print(f"{v.name:42s} " + " ".join(f"{g[k]:7.1f}" for k in (*KEY_OPCODES, "all")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
