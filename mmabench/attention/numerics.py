"""Where each accumulator scheme loses accuracy and where it overflows: a sweep over input scale
and sequence length, every scheme on the same inputs, against the float64 reference.

Series (each point: fresh inputs, every variant of the chosen head dim, PyTorch's fp16 yardstick
and SDPA FLASH_ATTENTION for context):
  logits   Q, K ~ N(0, s^2), V ~ N(0, 1), N = 1024: raw |q.k| grows as s^2 sqrt(d); f16 S
           overflows once it passes 65504 (later with Q pre-scaled: |S| shrinks ~ sqrt(d)/log2 e).
  long-N   Q, K ~ N(0, 0.25^2) (near-uniform attention), V ~ N(1, 1) * a: the unnormalized O of
           delayed normalization grows as N * a, so an f16 O overflows once N * a > 65504.
  values   same near-uniform attention, N = 4096, V ~ N(1, 1) * a for large a: the folded scheme's
           per-tile f16 partial reaches (keys per tile) * a; in-loop normalization stays <= max|V|.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmabench import record, hardware
from mmabench.reporting import tables
from mmabench.attention import build, checks, torch_ref, validate, variants
from mmabench.attention.launch import Launcher
from mmabench.attention.reference import default_scale


@dataclass(frozen=True)
class Point:
    series: str
    seq: int
    qk_scale: float
    v_scale: float
    v_mean: float

    @property
    def label(self) -> str:
        if self.series == "logits":
            return f"qk x{self.qk_scale:g}"
        if self.series == "long-N":
            return f"N={self.seq} V~{self.v_scale:g}"
        return f"V~{self.v_scale:g}"


def default_points(max_seq: int = 65536) -> list[Point]:
    pts = [Point("logits", 1024, s, 1.0, 0.0) for s in (1, 4, 16, 32, 48, 64, 96, 128)]
    pts += [Point("long-N", n, 0.25, a, 1.0) for a in (1, 16) for n in (1024, 4096, 16384, 65536)
            if n <= max_seq]
    pts += [Point("values", 4096, 0.25, a, 1.0) for a in (64, 512, 1024, 4096)]
    return pts


def run(dim: int = 128, points: list[Point] | None = None, var_list=None, seed=None,
        results_root=None, heads: int = 2, markdown: bool = False, log=print):
    """The sweep; returns (folder, rows, table text)."""
    import cupy

    from mmabench.core.seed import chosen

    hardware.require_gpu()
    torch = torch_ref.torch_module()
    seed = chosen(seed, say=log)   # said, and recorded in the context of every row
    ctx = {**record.gpu_context(), **record.software_context(), "seed": seed}
    folder = record.RunFolder("attention-numerics", ctx["gpu_name"], results_root)
    folder.save_context(ctx)
    rng = np.random.default_rng(seed)
    points = points or default_points()
    var_list = var_list or variants.all_variants(dims=(dim,))
    scale = default_scale(dim)
    rows = []
    for pt in points:
        shape = checks.check_shape(1, heads, pt.seq, dim)
        free, _ = cupy.cuda.runtime.memGetInfo()
        checks.check_memory(shape, free, tensors=6)
        q, k, v = validate.random_inputs(shape, rng, pt.qk_scale, pt.v_scale, pt.v_mean)
        ref = validate.Reference(q, k, v, False, scale, heads, rng)
        qk_max = _max_abs_logit(q, k)
        base = {"series": pt.series, "point": pt.label, "dim": dim, "seq": pt.seq,
                "qk_scale": pt.qk_scale, "v_scale": pt.v_scale, "v_mean": pt.v_mean,
                "max_abs_qk": qk_max, "max_abs_qk_prescaled": qk_max * scale * 1.4426950408889634,
                "max_abs_ref": float(abs(ref.ref).max()),
                "max_abs_v": float(abs(v.astype(cupy.float32)).max()),
                "inputs_nonfinite": int((~cupy.isfinite(v)).sum() + (~cupy.isfinite(q)).sum() + (~cupy.isfinite(k)).sum())}
        out = cupy.empty_like(q)
        first = len(rows)
        for var in var_list:
            loaded = build.load(var)
            launcher = Launcher(loaded, q, k, v, out, False, scale)
            m, err = validate.check_variant(launcher, ref, var)
            rows.append({**base, "impl": "mmabench", "scheme": _scheme(var), "variant": var.name,
                         "block_keys": var.tiles.bc, **m})
        if ref.yard:
            rows.append({**base, "impl": "torch", "scheme": "PyTorch fp16 (yardstick)", **ref.yard})
        if torch is not None:
            try:
                y = torch_ref.sdpa(*(torch_ref.to_torch(x) for x in (q, k, v)), False, scale,
                                   "FLASH_ATTENTION")
                rows.append({**base, "impl": "torch", "scheme": "SDPA FLASH_ATTENTION",
                             **ref.metrics(cupy.asarray(y))})
            except Exception:
                pass
        log(f"numerics {pt.series} {pt.label}: max|qk| {qk_max:.3g}, max|ref| {base['max_abs_ref']:.3g}")
        for r in rows[first:]:
            folder.add({**ctx, **r, "timestamp": record.timestamp()})
        del q, k, v, out
    text = table(rows, markdown) + "\n\n" + limits(rows, markdown)
    folder.save_text("numerics.md" if markdown else "numerics.txt", text)
    return folder, rows, text


def scheme_name(kernel: str, acc_s, acc_o, norm) -> str:
    """'S=f16 O=f32 delayed', prefixed 'hopper ' for the Hopper kernel's: the numerics rows' and
    the report's name of an accumulator scheme."""
    return f"{HOPPER if kernel == 'hopper' else ''}S={acc_s} O={acc_o} {norm}"


def _scheme(v: variants.Variant) -> str:
    return scheme_name(v.kernel, v.acc_s, v.acc_o, v.norm)


def _max_abs_logit(q, k) -> float:
    """max |q.k| (raw, unscaled) over the inputs, in float32 blocks."""
    import cupy

    b, h, n, d = q.shape
    qq = q.reshape(b * h, n, d).astype(cupy.float32)
    kk = k.reshape(b * h, n, d).astype(cupy.float32)
    best = 0.0
    for r0 in range(0, n, 4096):
        best = max(best, float(cupy.abs(qq[:, r0:r0 + 4096] @ kk.transpose(0, 2, 1)).max()))
    return best


BASE_SCHEME = "S=f32 O=f32 delayed"   # the yardstick of the '*' marks
HOPPER = "hopper "                     # the Hopper kernel's schemes: the same names, prefixed


def base_of(scheme: str) -> str:
    """The f32/f32 scheme of the same kernel: each kernel's variants are marked against its own."""
    return (HOPPER if scheme.startswith(HOPPER) else "") + BASE_SCHEME
LOSS_FACTOR = 4                       # '*': error more than this times the base scheme's


def _nonfinite(r: dict) -> int:
    """inf/NaN count over the whole output (else over the checked heads); a value missing from
    the row, or NaN when read back from CSV, counts as none."""
    for key in ("nonfinite_all", "nonfinite"):
        count = r.get(key)
        if count is not None and count == count:
            return int(count)
    return 0


def state(r: dict, base: dict | None) -> str:
    """'overflow', 'lossy' (error > LOSS_FACTOR x the base scheme's at that point) or 'ok'."""
    e = r.get("rel_l2_err", float("nan"))
    if _nonfinite(r) or e == float("inf"):        # error_metrics: inf/NaN output -> inf error
        return "overflow"
    if base is not None and base.get("rel_l2_err") and e > LOSS_FACTOR * base["rel_l2_err"]:
        return "lossy"
    return "ok"


def cell(r: dict, base: dict | None) -> str:
    """'rel L2' of a point, '*' where it is lossy, 'inf/NaN' on overflow."""
    st = state(r, base)
    if st == "overflow":
        return "inf/NaN"
    return f"{r.get('rel_l2_err', float('nan')):.1e}" + ("*" if st == "lossy" else "")


def table(rows: list[dict], markdown: bool = False) -> str:
    """One table per series: a row per scheme, a column per sweep point."""
    out = []
    for series in dict.fromkeys(r["series"] for r in rows):
        sel = [r for r in rows if r["series"] == series]
        points = list(dict.fromkeys(r["point"] for r in sel))
        schemes = list(dict.fromkeys(r["scheme"] for r in sel))
        by = {(r["scheme"], r["point"]): r for r in sel}
        body = [[s] + [cell(by[(s, p)], by.get((base_of(s), p))) if (s, p) in by else "-"
                       for p in points] for s in schemes]
        facts = []
        for p in points:
            r = next(x for x in sel if x["point"] == p)
            facts.append([p, f"{r['max_abs_qk']:.3g}", f"{r['max_abs_qk_prescaled']:.3g}",
                          f"{r['max_abs_v']:.3g}", f"{r['max_abs_ref']:.3g}"])
        out.append(f"series {series}: relative L2 error vs float64")
        out.append(tables.split_table(["scheme"] + points, body, markdown))
        out.append(tables.table(["point", "max|q.k| raw", "max|S| pre-scaled", "max|V|", "max|O|"],
                                facts, markdown))
        out.append("")
    out.append(tables.note(f"'*': more than {LOSS_FACTOR}x the {BASE_SCHEME} variant's error (of the "
                           "same kernel) at the same point; inf/NaN: the output holds inf or NaN (overflow)."))
    return "\n".join(out)


def _where(r: dict) -> str:
    """A sweep point with the magnitude that decides it: raw |q.k| for logits, max |O| for values."""
    if r["series"] == "logits":
        return f"{r['point']} (max|q.k| {r['max_abs_qk']:.2g})"
    if r["series"] == "values":
        return f"{r['point']} (max|O| {r['max_abs_ref']:.2g})"
    return r["point"]


def limits(rows: list[dict], markdown: bool = False) -> str:
    """Per scheme and series: the first point that loses accuracy ('*' in the tables) and the
    first that overflows; '-' where the scheme held over the whole series."""
    series_list = list(dict.fromkeys(r["series"] for r in rows))
    schemes = list(dict.fromkeys(r["scheme"] for r in rows))
    by = {(r["scheme"], r["series"], r["point"]): r for r in rows}
    body = []
    for scheme in schemes:   # a line per scheme and series: two columns, however many series
        for series in series_list:
            points = list(dict.fromkeys(r["point"] for r in rows if r["series"] == series))
            lossy = overflow = "-"
            for p in points:
                r = by.get((scheme, series, p))
                if r is None:
                    continue
                st = state(r, by.get((base_of(scheme), series, p)))
                if st == "overflow":
                    overflow = _where(r)
                    break
                if st == "lossy" and lossy == "-":
                    lossy = _where(r)
            body.append([scheme, series, lossy, overflow])
    head = ["scheme", "series", f"> {LOSS_FACTOR}x error from", "inf/NaN from"]
    return ("where each scheme breaks (first point of each series; '-': held to the end)\n"
            + tables.table(head, body, markdown))
