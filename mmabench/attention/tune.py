"""Tile choice per variant: candidates (filtered offline by ptxas), then timed on the GPU.

The point of f16 accumulators is that fewer registers can buy bigger tiles or more warps, so
every variant gets its own search: warps x row tiles per warp x keys per tile x Q in registers
(the FA2-class kernel); consumer warpgroups x keys per tile, then the best cut's options
(overlap, poly) (the Hopper kernel). Candidates whose offline build spills more than SPILL_LIMIT
bytes (the Hopper kernel: any) are dropped before any GPU time is spent.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from mmabench import measure
from mmabench.attention import build, variants
from mmabench.attention.variants import HopperTiles, Tiles, Variant
from mmabench.core import atomic_file

# Many candidates: a short budget each; the winner is re-measured interleaved by the benchmark.
TUNE_POLICY = measure.Policy(warmup_ms=10.0, min_samples=5, max_samples=30, rel_error=0.005,
                             budget_s=0.3, min_sample_ms=0.0)

SPILL_LIMIT = 256        # bytes of spill stores+loads (sm_90) a candidate may have
ARCH = "sm_90"           # the offline build that filters candidates
WARPS = (4, 8)
MTS = (1, 2)
BCS = (32, 64, 128)
# the Hopper kernel: consumer warpgroups x keys per tile x the softmax kept ahead of the P.V wait
# or not, with as many ring stages (<= 4) as fit
HOPPER_CONSUMERS = (2, 3)
HOPPER_BCS = (48, 64, 80, 96, 112, 128, 144, 160, 176, 192)
HOPPER_MAX_STAGES = 4
HOPPER_POLY = (0, 2)     # eighths of the exp2 on the FMA pipe: none, or FA4's quarter


def hopper_tile_space(dim: int) -> list[HopperTiles]:
    from mmabench import hardware

    limit = hardware.smem_per_block("sm_90")
    out = []
    for consumers, bc in itertools.product(HOPPER_CONSUMERS, HOPPER_BCS):
        t = HopperTiles(consumers, bc, HOPPER_MAX_STAGES).fitted(dim, limit)
        if t is not None and t.valid_for(dim) is None:
            out.append(t)
    return out


def hopper_options(best: HopperTiles, v: Variant) -> list[HopperTiles]:
    """The second stage of the Hopper search: the best cut with each combination of its options
    (the softmax kept ahead of the P.V wait; a share of exp2 by polynomial, in f32 or packed f16;
    ping-pong turns between the consumers; lazy rescaling) that the scheme allows, other than the
    one already timed."""
    combos = (replace(best, overlap=o, poly=p, pingpong=g, lazy=z)
              for o in (False, True) for p in HOPPER_POLY for g in (False, True) for z in (False, True))
    return [t for t in combos if t != best
            and variants.hopper_option_conflict(t, v.acc_s, v.acc_o, v.norm) is None]


def tile_space(dim: int, kernel: str = "fa2") -> list:
    if kernel == "hopper":
        return hopper_tile_space(dim)
    out = []
    for warps, mt, bc, qr in itertools.product(WARPS, MTS, BCS, (False, True)):
        t = Tiles(warps, mt, bc, qr)
        if t.br > 256 or t.valid_for(dim):
            continue
        if dim == 256 and (qr or bc > 64):
            continue   # Q (64 regs/m-tile) or 128-key tiles never fit beside a 256-wide O
        out.append(t)
    return out


def candidates(v: Variant, tiles=None) -> list[tuple[Variant, build.Resources | None]]:
    """Buildable tile choices for `v` (`tiles`, or its kernel's whole tile space) with their
    offline resources (None where no ptxas is installed: the tuner then filters on the loaded
    kernel's local memory instead)."""
    from mmabench.core.errors import ToolMissing

    out = []
    for t in (tile_space(v.dim, v.kernel) if tiles is None else tiles):
        cand = v.with_tiles(t)
        try:
            _, res = build.assemble(cand, variants.HOPPER_ARCH if v.kernel == "hopper" else ARCH)
        except ToolMissing:
            out.append((cand, None))
            continue
        except Exception:
            continue
        # the Hopper kernel spills nothing or is not a candidate (its registers are the point)
        limit = 0 if v.kernel == "hopper" else SPILL_LIMIT
        if res.spill_stores + res.spill_loads > limit:
            continue
        out.append((cand, res))
    return out


def assemble_all(cands: list[Variant]) -> None:
    """These candidates' offline builds at once (NVRTC and ptxas release the GIL; both cached),
    so that candidates() then reads the cache instead of assembling one by one."""
    import os

    from mmabench.core import workers

    def one(cand):
        try:
            build.assemble(cand, variants.HOPPER_ARCH if cand.kernel == "hopper" else ARCH)
        except Exception:           # noqa: BLE001 - candidates() drops it, with the others
            pass

    with workers.pool(os.cpu_count() or 2) as pool:
        list(pool.map(one, cands))


def tuned_cut(v: Variant) -> HopperTiles:
    """The Hopper variant's tuned cut (consumers, keys per tile, stages) without its options."""
    return replace(v.tiles, **variants.NO_OPTIONS)


def tune(var_list: list[Variant], case_list, rng, options_only: bool = False) -> dict:
    """Time every candidate of every variant on each case; returns {base_name: (best Tiles, rows)}.
    The Hopper kernel in two stages: its cuts, then the best cut's options (hopper_options),
    each stage's candidates built together first. options_only: the first stage times only the
    variant's tuned cut (Hopper variants only)."""
    def cuts(v: Variant) -> list:
        return [tuned_cut(v)] if options_only else tile_space(v.dim, v.kernel)

    assemble_all([v.with_tiles(t) for v in var_list for t in cuts(v)])
    inputs: dict = {}
    rows = {v.name: _timed(candidates(v, cuts(v)), case_list, rng, inputs) for v in var_list}
    options = {v.name: hopper_options(max(rows[v.name], key=lambda r: r["score"])["tiles"], v)
               for v in var_list if rows[v.name] and v.kernel == "hopper"}
    assemble_all([v.with_tiles(t) for v in var_list for t in options.get(v.name, ())])
    results = {}
    for v in var_list:
        if v.name in options:
            rows[v.name] += _timed(candidates(v, options[v.name]), case_list, rng, inputs)
        if rows[v.name]:
            best = max(rows[v.name], key=lambda r: r["score"])
            results[v.base_name] = (best["tiles"], rows[v.name])
            print(f"BEST {v.base_name}: {best['tiles']} {best['score']:.1f}")
    return results


def _timed(cands, case_list, rng, inputs: dict) -> list[dict]:
    """One row per candidate that builds, runs correctly and fits: its score is the harmonic
    mean TFLOP/s over the cases of its head dim (`inputs` caches each case's tensors)."""
    import cupy

    from mmabench.attention import validate
    from mmabench.attention.launch import Launcher
    from mmabench.attention.reference import default_scale

    rows = []
    for cand, res in cands:
        total, ok = 0.0, True
        per_case = {}
        for case in case_list:
            if case.dim != cand.dim:
                continue
            if case not in inputs:
                shape = case.shape
                q, k, vv = validate.random_inputs(shape, rng)
                ref = validate.Reference(q, k, vv, case.causal, default_scale(case.dim), 2, rng)
                inputs[case] = (q, k, vv, cupy.empty_like(q), ref)
            q, k, vv, out, ref = inputs[case]
            try:
                loaded = build.load(cand)
                if loaded.local_bytes > SPILL_LIMIT:
                    raise RuntimeError(f"{loaded.local_bytes} B local memory")
                launcher = Launcher(loaded, q, k, vv, out, case.causal)
                # tiles do not change the arithmetic much; f16 accuracy is judged elsewhere
                m, err = validate.check_variant(launcher, ref, cand, enforce=cand.is_reference_acc)
            except Exception as exc:
                err = f"{type(exc).__name__}: {exc}"
            if err:
                ok = False
                print(f"  {cand.name}: {err}")
                break
            t = measure.measure(launcher, TUNE_POLICY)
            tf = case.shape.flops(case.causal) / (t.median_ms * 1e-3) / 1e12
            per_case[case.label] = tf
            total += 1.0 / tf
        if not ok:
            continue
        score = len(per_case) / total if total else 0.0   # harmonic mean TFLOP/s
        rows.append({"variant": cand.name, "tiles": cand.tiles, "registers": loaded.registers,
                     "local_bytes": loaded.local_bytes, "blocks_per_sm": loaded.max_blocks_per_sm,
                     "ptxas_spill": (res.spill_stores + res.spill_loads) if res else None,
                     "score": score, **per_case})
        print(f"  {cand.name:52s} regs {loaded.registers:3d} local {loaded.local_bytes:4d} "
              f"blk/SM {loaded.max_blocks_per_sm} hmean {score:6.1f} TF/s  " +
              " ".join(f"{x:6.1f}" for x in per_case.values()))
    return rows


def write_tuned(results: dict, var_list: list[Variant], gpu_name: str, cases,
                options_only: bool = False) -> None:
    """Merge the winners into the user's tuned tiles (variants.user_tuned_file(), which
    variants.tuned() reads over the shipped ones), with their evidence (options_only: the
    search kept each tuned cut and chose its options)."""
    import json

    from mmabench import record

    path = variants.user_tuned_file()
    data = json.loads(path.read_text()) if path.exists() else {"entries": []}
    key = lambda e: (e["dim"], e["acc_s"], e["acc_o"], e["norm"])        # noqa: E731
    sections = {"entries": {key(e): e for e in data["entries"]},
                "hopper_entries": {key(e): e for e in data.get("hopper_entries", [])}}
    for v in var_list:
        if v.base_name not in results:
            continue
        tiles, rows = results[v.base_name]
        best = max(rows, key=lambda r: r["score"])
        if v.kernel == "hopper":
            section = "hopper_entries"
            as_dict = {"consumers": tiles.consumers, "bc": tiles.bc, "stages": tiles.stages,
                       "overlap": tiles.overlap, "poly": tiles.poly, "pingpong": tiles.pingpong,
                       "lazy": tiles.lazy}
        else:
            section = "entries"
            as_dict = {"warps": tiles.warps, "mt": tiles.mt, "bc": tiles.bc, "q_regs": tiles.q_regs,
                       "min_blocks": tiles.min_blocks}
        sections[section][(v.dim, v.acc_s, v.acc_o, v.norm)] = {
            "dim": v.dim, "acc_s": v.acc_s, "acc_o": v.acc_o, "norm": v.norm, "tiles": as_dict,
            "score_tflops": round(best["score"], 1), "registers": best["registers"],
            "candidates": len(rows), **({"search": "options of the tuned cut"} if options_only else {})}
    entries = sections["entries"]
    data["hopper_entries"] = sorted(sections["hopper_entries"].values(), key=key)
    meta = {"gpu": gpu_name, "timestamp": record.timestamp(), "git_commit": record.git_commit(),
            "cases": [c.label for c in cases], "score": "harmonic mean TFLOP/s over the cases"}
    if all(v.kernel == "hopper" for v in var_list):
        data["hopper_tuned"] = meta                 # the FA2 entries keep their own evidence
    else:
        data.update(meta)
    data["entries"] = sorted(entries.values(), key=key)
    atomic_file.write(path, json.dumps(data, indent=1))
    variants.tuned.cache_clear()
    variants.hopper_tuned.cache_clear()
