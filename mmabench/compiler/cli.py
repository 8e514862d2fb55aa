"""`python -m mmabench regs`: the offline compiler report (no GPU needed)."""

from __future__ import annotations

import re

import json
import sys
import textwrap
import time

from mmabench import record, hardware
from mmabench.compiler import registry, toolchain
from mmabench.reporting import tables
from mmabench.core.errors import UserError, items, split_list
from mmabench.core.options import Mode, Modes
from mmabench.compiler import report as creport

# Which options each mode reads (mmabench.core.options): one given to a mode that does not read
# it is refused, not ignored. --no-save prints the report that is otherwise also saved.
REPORT = ("--arch", "--all", "--diff", "--wide", "--compile-each")
OPTIONS = Modes(
    common=("--family", "--kernel", "--jobs", "--markdown"),
    modes=(Mode("the saved report", reads=REPORT + ("--results", "--keep-code")),
           Mode("--no-save", reads=REPORT),
           Mode("--crosscheck")))


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "regs", help="registers, spills, occupancy and SASS mix of every kernel, per arch (no GPU)",
        description="Assemble every registered kernel for each target architecture with ptxas "
                    "and nvdisasm (no GPU needed) and report registers per thread, spill bytes, "
                    "stack, shared memory, barriers, theoretical occupancy for the kernel's "
                    "launch shape, and the SASS opcode mix. Rows go to CSV and JSON as well.")
    p.add_argument("--arch", help=f"comma list ({','.join(hardware.known_archs())}); default "
                                  f"{','.join(hardware.DEFAULT_ARCHS)} (sm_90 becomes sm_90a for kernels "
                                  "that need it)")
    p.add_argument("--family", help=f"comma list of kernel families ({','.join(registry.FAMILIES)})")
    p.add_argument("--kernel", help="comma list of kernel names or patterns (e.g. 'mma.*.thr')")
    p.add_argument("--all", action="store_true",
                   help="also the kernels a family keeps out of the default report "
                        "(tagged report_default=False); the f32 twins that only --diff acc "
                        "compares against are built with --diff acc")
    p.add_argument("--diff", choices=["acc"],
                   help="acc: each f16-accumulate kernel beside its f32 twin (change in "
                        "registers, spills, occupancy)")
    p.add_argument("--markdown", action="store_true", help="print tables as Markdown")
    p.add_argument("--wide", action="store_true",
                   help="every column (acc, stack, blocks/SM, LDL/STL, LDSM, MUFU, FFMA, HFMA2; "
                        "about 210 characters wide); default: the columns that fit ~120")
    p.add_argument("--results", metavar="DIR", help="results root folder (default ./results)")
    p.add_argument("--no-save", action="store_true", help="print only; write no results folder")
    p.add_argument("--keep-code", action="store_true",
                   help="also keep each build's PTX, ptxas log and SASS in the results folder "
                        "(code/, each distinct text once; tens of MB)")
    p.add_argument("--crosscheck", action="store_true",
                   help="GPU: load the offline cubins for the GPU's architecture and check "
                        "registers / local memory / occupancy against the driver's numbers")
    p.add_argument("--jobs", type=int, help="parallel compiles (default: CPUs available)")
    p.add_argument("--compile-each", action="store_true",
                   help="compile every kernel for every architecture; by default sm_89 reuses "
                        "the sm_86 build of a kernel with the same PTX once the largest kernel "
                        "of its family, built for both, has shown byte-identical code")
    p.set_defaults(func=run)


NO_PAIRS = "no f16-accumulate kernel with an f32 twin among the selected kernels"

# ---------------------------------------------------------------- formatting

def _num(v) -> str:
    return "-" if v is None or v == "" else str(v)


def _spill(r) -> str:
    return f"{r['spill_store_bytes']}/{r['spill_load_bytes']}"


LIMITER_SHORT = {"registers": "regs", "shared": "smem", "warps": "warp", "blocks": "blk"}
NARROW_LEGEND = ("spill B: bytes spilled (stored/loaded); occupancy: theoretical, with what limits "
                 "it; an FP8 type written once: both operands have it (E4M3 for E4M3.E4M3); --wide: "
                 "every column")
_SAME_FP8_TYPES = re.compile(r"\.(E4M3|E5M2)\.\1\b")


def short_tensor_ops(text: str) -> str:
    """'HMMA.16816.F16 x128, HMMA.16816.F32 x128' -> 'HMMA.16816 F16 x128, F32 x128';
    'QGMMA.64x256x32.F32.E4M3.E4M3 x12' -> 'QGMMA.64x256x32.F32.E4M3 x12'."""
    text = _SAME_FP8_TYPES.sub(r".\1", text)
    ops = [op.rsplit(" ", 1) for op in text.split(", ") if " " in op]
    groups: dict[str, list[str]] = {}
    for op, count in ops:
        head, _, tail = op.partition(".")
        family, _, rest = tail.partition(".")
        groups.setdefault(f"{head}.{family}" if rest else op, []).append(
            f"{rest} {count}" if rest else count)
    if len(ops) < 2:
        return text
    heads = {op.partition(".")[0] for op, _ in ops}
    if len(groups) > 1 and len(heads) == 1 and all(
            op.count(".") >= 2 and _GMMA_SHAPE.match(op.split(".")[1]) for op, _ in ops):
        # one kernel, two wgmma shapes (attention's S and O): 'HGMMA n128 F32 x8, n64 F16 x8'
        return f"{heads.pop()} " + ", ".join(
            f"n{op.split('.')[1].split('x')[1]} {op.split('.', 2)[2]} {count}" for op, count in ops)
    return "; ".join(f"{g} {', '.join(parts)}" for g, parts in groups.items())


_GMMA_SHAPE = re.compile(r"^\d+x\d+x\d+$")


def main_table(rows: list[dict], markdown: bool = False, wide: bool = False) -> str:
    """One line per kernel x arch: the columns that fit ~120 characters, or with `wide` every
    column (stack, LDL/STL, LDSM, MUFU, FFMA, HFMA2, blocks/SM, the limiter in full)."""
    if wide:
        headers = ["kernel", "arch", "acc", "regs", "spill st/ld B", "stack B", "smem B",
                   "blocks/SM", "warps/SM (occ)", "limit", "tensor ops (static)", "LDL/STL",
                   "LDSM", "MUFU", "FFMA", "HFMA2"]
    else:
        headers = ["kernel", "arch", "regs", "spill B", "smem B", "occupancy",
                   "tensor ops (static)"]
    body = []
    for r in rows:
        if r["status"] == "n/a":
            continue
        arch = r["target"] or r["arch"]
        if r["status"] != "ok":
            lead = [r["kernel"], arch, r["acc"]] if wide else [r["kernel"], arch]
            body.append(lead + [r["status"]] + ["-"] * (len(headers) - len(lead) - 1))
            continue
        smem = (r.get("static_smem_bytes") or 0) + (r.get("dynamic_smem_bytes") or 0)
        has_sass = "n_LDL" in r
        tensor = (r.get("tensor_ops") or r.get("key_ops") or "-") if has_sass else "?"
        if not wide:
            limiter = LIMITER_SHORT.get(r["occupancy_limiter"], r["occupancy_limiter"])
            body.append([r["kernel"], arch, r["regs"], _spill(r), smem,
                         f"{100 * r['occupancy']:.0f}% {limiter}", short_tensor_ops(tensor)])
            continue
        body.append([
            r["kernel"], arch, r["acc"], r["regs"], _spill(r), r["stack_frame_bytes"], smem,
            r["blocks_per_sm"], f"{r['warps_per_sm']}/{r['max_warps_per_sm']} "
                                f"({100 * r['occupancy']:.0f}%)",
            r["occupancy_limiter"], tensor,
            f"{r['n_LDL']}/{r['n_STL']}" if has_sass else "?",
            _num(r.get("n_LDSM")), _num(r.get("n_MUFU")), _num(r.get("n_FFMA")),
            _num(r.get("n_HFMA2")),
        ])
    if any(r.get("key_ops") for r in rows):   # families whose column holds other opcodes
        mixed = any(r.get("tensor_ops") for r in rows)
        headers = [("tensor/key ops (static)" if mixed else "key ops (static)")
                   if h == "tensor ops (static)" else h for h in headers]
    text = tables.table(headers, body, markdown, max_width=None if wide else tables.WIDTH)
    return text if wide else text + "\n" + tables.note(NARROW_LEGEND)


def diff_table(diffs: list[dict], markdown: bool = False) -> str:
    """A line per f16-accumulator kernel x arch against its f32 twin (named once per pair in a note
    under the table, so that the table fits 120 columns); pairs are 'f16 / f32'."""
    headers = ["f16-acc kernel", "arch", "regs", "Δregs", "spill B f16", "spill B f32", "warps/SM",
               "occupancy"]
    body = []
    for d in diffs:
        if d["status"] != "ok":
            if d["status"] == "n/a":
                continue
            body.append([d["kernel"], d["arch"], d["status"]] + ["-"] * 5)
            continue
        body.append([
            d["kernel"], d["arch"], f"{d['regs_f16']}/{d['regs_f32']}",
            f"{d['regs_delta']:+d}",
            f"{d['spill_store_bytes_f16']}/{d['spill_load_bytes_f16']}",
            f"{d['spill_store_bytes_f32']}/{d['spill_load_bytes_f32']}",
            f"{d['warps_per_sm_f16']}/{d['warps_per_sm_f32']}",
            f"{100 * d['occupancy_f16']:.0f}%/{100 * d['occupancy_f32']:.0f}%",
        ])
    twins = dict.fromkeys(f"{d['kernel']} vs {d['twin']}" for d in diffs if d["status"] != "n/a")
    notes = ["spill B: bytes stored/loaded; regs, warps/SM, occupancy: f16 / f32 twin; twins:", *twins]
    return "\n".join([tables.table(headers, body, markdown), *(tables.note(n) for n in notes)])


def _footnotes(rows: list[dict]) -> list[str]:
    lines = []
    na = sorted({r["message"] for r in rows if r["status"] == "n/a"})
    if na:
        lines += textwrap.wrap("not built (the architecture lacks the instruction, or the kernel "
                               "cannot launch there): " + "; ".join(na),
                               width=120, subsequent_indent="  ", break_on_hyphens=False)
    for r in rows:
        if r["status"] == "error":
            lines.append(f"error: {r['kernel']} on {r['target'] or r['arch']}: {r['message']}")
    lines += _reused_note(rows)
    notes = sorted({f"{r['kernel']}: {r['notes']}" for r in rows if r.get("notes")})
    lines += [f"note: {n}" for n in notes]
    # warp-specialized kernels: 'regs' is the entry count; each warpgroup role then asks for its own
    moved = {}
    for r in rows:
        if r.get("setmaxnreg"):
            moved.setdefault(r["setmaxnreg"], []).append(r["kernel"])
    lines += textwrap.wrap(
        "setmaxnreg (regs is the count at entry; the warpgroups then run at these): " + "; ".join(
            f"{', '.join(dict.fromkeys(kernels))}: {values}" for values, kernels in moved.items()),
        width=120, subsequent_indent="  ", break_on_hyphens=False) if moved else []
    return lines


def _reused_note(rows: list[dict]) -> list[str]:
    """One line per architecture that reused another's builds: how many, and the check."""
    reused: dict[tuple, list[str]] = {}
    for r in rows:
        if r.get("code_from"):
            reused.setdefault((r["arch"], r["code_from"]), []).append(r["code_checked_with"])
    return [textwrap.fill(
        f"{arch}: {len(checks)} builds are the {source} builds (byte-identical code and resources "
        f"for the kernel with the most code of each family, built for both: "
        f"{', '.join(dict.fromkeys(checks))}); --compile-each compiles them",
        width=120, subsequent_indent="  ", break_on_hyphens=False)
        for (arch, source), checks in reused.items()]


# ---------------------------------------------------------------- saving

def _save(builds, rows, diffs, results_root, context, keep_code=False) -> str:
    import pandas as pd

    from mmabench.record import RunFolder

    folder = RunFolder("regs", "offline", results_root)
    folder.save_frame("regs", pd.DataFrame(rows), with_json=False)
    # JSON with the histogram as an object rather than a string
    nested = [dict(r, sass_histogram=json.loads(r["sass_histogram"]))
              if r.get("sass_histogram") else r for r in rows]
    folder.save_json("regs.json", nested)
    if diffs is not None:
        folder.save_frame("regs_diff_acc", pd.DataFrame(diffs), with_json=False)
        folder.save_json("regs_diff_acc.json", diffs)
    for b in builds if keep_code else ():
        stem = f"{b.spec.name}.{b.target}"
        for kind, text in (("ptx", b.ptx), ("ptxas", b.log), ("sass", b.sass)):
            if text:
                folder.save_code(kind, stem, text)
    folder.save_context(context)
    return str(folder.path)


def _rows_with_context(rows: list[dict], ctx: dict) -> list[dict]:
    common = record.offline_row_context(ctx)
    for r in rows:
        r.update(common)
    return rows


# ---------------------------------------------------------------- the command

def run(args) -> int:
    families = split_list(args.family, "family", registry.FAMILIES)
    kernels = (items(args.kernel, "--kernel", "kernel names or patterns such as 'mma.*.thr'")
               if args.kernel is not None else None)
    if args.jobs is not None and args.jobs < 1:
        raise UserError(f"bad --jobs {args.jobs}; accepted: an integer >= 1")
    if args.crosscheck:
        from mmabench.compiler.crosscheck import crosscheck, crosscheck_table

        checks = crosscheck(kernels, families, args.jobs)
        print(crosscheck_table(checks, args.markdown))
        bad = [c for c in checks if c["status"] == "mismatch"]
        print(f"\n{len(checks) - len(bad)} of {len(checks)} kernels agree with the driver"
              + ("" if not bad else "; MISMATCH: " + ", ".join(c["kernel"] for c in bad)))
        return 1 if bad else 0

    arch_list = hardware.parse_archs(args.arch)
    if not args.no_save:
        args.results = record.results_root(args.results)  # before the compiles, not after them
    specs = creport.select_kernels(kernels, families, args.all)
    if args.diff == "acc":
        specs = creport.with_twins(specs)
        if not creport.has_acc_pairs(specs):
            raise UserError(NO_PAIRS)
    t0 = time.perf_counter()
    try:
        builds = creport.compile_builds(specs, arch_list, args.jobs, progress="regs",
                                        share_code=not args.compile_each)
    except creport.Interrupted as stop:   # keep the rows of the builds that finished
        if not args.no_save and stop.builds:
            ctx = record.offline_context()
            rows = _rows_with_context([b.row for b in stop.builds], ctx)
            _save(stop.builds, rows, None, args.results, ctx, args.keep_code)
        raise
    ctx = record.offline_context()
    rows = _rows_with_context([b.row for b in builds], ctx)
    elapsed = time.perf_counter() - t0

    diffs = None
    if args.diff == "acc":
        diffs = creport.diff_acc(rows)
        if not diffs:
            raise UserError(NO_PAIRS)
        print(diff_table(diffs, args.markdown))
    else:
        print(main_table(rows, args.markdown, args.wide))
    for line in _footnotes(rows):
        print(line)
    skipped = [] if (kernels or families or args.all) else creport.left_out_of_default()
    if skipped:
        print(f"{len(skipped)} kernels left out of the default report (tagged report_default=False);"
              " --all or --family includes them")
    twins = [] if args.diff == "acc" else creport.diff_only_twins(specs)
    if twins:
        print(f"{len(twins)} f32 twin{'s' if len(twins) > 1 else ''} at an f16 variant's tiles "
              "not built (no benchmark runs one); --diff acc builds and compares them")
    for line in creport.tool_messages(rows):
        print(f"mmabench: {line}", file=sys.stderr)
    ok = sum(r["status"] == "ok" for r in rows)
    print(f"\n{ok} kernel x arch builds in {elapsed:.1f} s; ptxas {toolchain.tool_version('ptxas')}"
          " (theoretical occupancy: data/archs.csv limits, NVIDIA's occupancy model)")
    if not args.no_save:
        if args.keep_code:
            creport.attach_sass_text(builds, args.jobs)
        print(f"results: {_save(builds, rows, diffs, args.results, ctx, args.keep_code)}")
    return 1 if any(r["status"] == "error" for r in rows) else 0
