"""The attention variants without a GPU: assemble each for a target, read its resources and
check its SASS (the accumulator opcodes the variant means, ldmatrix, cp.async, in the loop)."""

from __future__ import annotations

from collections import Counter

from mmabench.core.errors import UserError
from mmabench import record, hardware
from mmabench.compiler import sass, toolchain
from mmabench.compiler.occupancy import theoretical
from mmabench.attention import build
from mmabench.attention import variants
from mmabench.attention.variants import Variant


def expected_hmma(v: Variant) -> Counter:
    """HMMA.16816.{F32,F16} per K/V tile of one warp: S = Q K^T, then O = P V."""
    t = v.tiles
    s_count = t.mt * (v.dim // 16) * (t.bc // 8)
    o_count = t.mt * (t.bc // 16) * (v.dim // 8)
    want = Counter()
    want["HMMA.16816.F16" if v.acc_s != "f32" else "HMMA.16816.F32"] += s_count
    want["HMMA.16816.F32" if v.acc_o == "f32" else "HMMA.16816.F16"] += o_count
    return want


def expected_hgmma(v: Variant) -> Counter:
    """HGMMA per K/V tile of one consumer warpgroup in the Hopper kernel: S = Q K^T (d/16 k16
    steps of m64 n<keys>), O += P V (keys/16 steps of m64 n<d>, A from registers)."""
    want = Counter()
    want[f"HGMMA.64x{v.tiles.bc}x16.{'F32' if v.acc_s == 'f32' else 'F16'}"] += v.dim // 16
    want[f"HGMMA.64x{v.dim}x16.{'F32' if v.acc_o == 'f32' else 'F16'}"] += v.tiles.bc // 16
    return want


def hopper_problems(v: Variant, text: str, hist: Counter) -> tuple[dict, list[str]]:
    """Per-tile HGMMA counts (the loop body; tile 0's S and the last tile's P V are peeled, so
    the whole kernel holds each twice) and the TMA, setmaxnreg and TMA-store opcodes."""
    want = expected_hgmma(v)
    counts, problems = {}, []
    for op, n in want.items():
        counts[op] = hist.get(op, 0) // 2
        if hist.get(op, 0) != 2 * n:
            problems.append(f"{op}: {hist.get(op, 0)} in the kernel, expected {2 * n} (2 x {n} per tile)")
    extra = [op for op in hist if op.startswith("HGMMA") and op not in want]
    if extra:
        problems.append(f"unexpected {', '.join(extra)}")
    for op in ("UTMALDG", "UTMASTG", "USETMAXREG"):
        if not any(o.startswith(op) for o in hist):
            problems.append(f"no {op} in the SASS")
    return counts, problems


def occupancy(arch: str, registers: int, threads: int, smem: int) -> int:
    """Blocks per SM for a variant's launch (the register report's occupancy model)."""
    return theoretical(arch, registers, threads, dynamic_smem=smem).blocks_per_sm


def check_variant(v: Variant, arch: str) -> dict:
    """Offline row for one variant and architecture."""
    asm, res = build.assemble(v, arch)
    text = toolchain.disassemble(asm.cubin)
    hist = sass.histogram(text)
    if v.kernel == "hopper":
        return _row(v, arch, res, hist, *hopper_problems(v, text, hist))
    want = expected_hmma(v)
    loop_counts, problems = {}, []
    for op, n in want.items():
        try:
            loop_counts[op] = sass.loop_count(text, op)
        except ValueError as exc:
            loop_counts[op] = 0
            problems.append(f"{op}: {exc}")
        if loop_counts[op] != n:
            problems.append(f"{op}: {loop_counts[op]} per tile in the loop, expected {n}")
    for op in ("HMMA.16816.F16", "HMMA.16816.F32"):
        if op not in want and hist.get(op):
            problems.append(f"unexpected {op} x{hist[op]}")
    for base in ("LDSM", "LDGSTS"):
        if not any(o.startswith(base) for o in hist):
            problems.append(f"no {base} in the SASS")
    return _row(v, arch, res, hist, loop_counts, problems)


def _row(v: Variant, arch: str, res, hist: Counter, loop_counts: dict, problems: list[str]) -> dict:
    smem = v.tiles.smem_bytes(v.dim)
    blocks = occupancy(arch, res.registers, v.tiles.threads, smem)
    return {
        "variant": v.name, "arch": arch, "dim": v.dim, "acc": v.acc_label, "norm": v.norm,
        "tiles": v.tiles.label, "registers": res.registers, "spill_stores": res.spill_stores,
        "spill_loads": res.spill_loads, "stack": res.stack, "smem_bytes": smem,
        "blocks_per_sm": blocks,
        "occupancy_pct": hardware.occupancy_pct(arch, blocks, v.tiles.warps),
        "kernel": v.kernel,
        "hmma_f16": sum(n for op, n in loop_counts.items() if op.endswith(".F16")),
        "hmma_f32": sum(n for op, n in loop_counts.items() if op.endswith(".F32")),
        "ldsm": sum(n for o, n in hist.items() if o.startswith("LDSM")),
        "ok": not problems, "problems": "; ".join(problems),
    }


def run(var_list: list[Variant], arch_list: list[str], results_root=None):
    """Check each variant on each architecture with the tiles it would run with there (tuned
    tiles cut to that part's shared memory); rows go to a run folder (attention-offline) as
    they come. Returns (folder, rows)."""
    from mmabench.reporting.progress import Progress

    pairs = [(v, a) for v in var_list for a in arch_list
             if v.kernel != "hopper" or hardware.arch_number(a) == 90]    # sm_90a only
    if not pairs:       # e.g. --kernel hopper --arch sm_80: nothing to build, said before a folder
        raise UserError(f"nothing to build: the Hopper kernel builds for sm_90 (sm_90a) only, not "
                        f"{','.join(arch_list)}; add sm_90 to --arch, or --kernel fa2")
    folder, common = record.offline_run("attention-offline", results_root)
    bar = Progress(len(pairs), "attention")
    for v, arch in pairs:
        r = check_variant(variants.fit(v, hardware.smem_per_block(arch)), arch)
        folder.add({**r, "tuned_variant": v.name, "status": "ok" if r["ok"] else "mismatch",
                    **common})
        bar.step(f"{v.name} {arch}")
    return folder, folder.rows
