"""Each feature read off the designed cases' outputs (d: one output per case, in case order).

A read looks only at its own family and says what the outputs show, with one line of evidence;
what the outputs leave open stays None and is fitted (inference.py).
"""

from __future__ import annotations

import numpy as np

from mmabench.arith.designed import FP8_SLOTS
from mmabench.arith.formats import FORMATS, FP8, round_to
from mmabench.arith.model import K_ORDERS, MAX_EXTRA, MIN_EXTRA, k_order_name


def _family(cs, d, name):
    idx = [i for i, c in enumerate(cs) if c.family == name]
    return [cs[i] for i in idx], d[idx]


def read_exact(cs, d, acc):
    sub, vals = _family(cs, d, "exact")
    c0 = sub[0]
    prod = c0.a[0] * c0.b[0]
    if acc == "f32":
        ok = vals[0] == prod
        return bool(ok), (f"({float(c0.a[0])!r})^2 = {float(prod)!r} returned {float(vals[0])!r}: "
                          f"{'exact' if ok else 'rounded'} (a 2p-bit product fits f32, so "
                          "'exact' here means: not rounded to the input format)")
    return None, "f16 result: decided by the fit (product rounded to f16 or not)"


def read_extra(cs, d, family="extra"):
    """Largest j whose s*2^(E-23-j) survives next to +-X (E: aligning exponent of X), all smaller
    j surviving too; None if the smallest j swept is lost already. The alignment then keeps
    24 + j bits (negative j, swept for FP8: fewer bits than f32's 24)."""
    sub, vals = _family(cs, d, family)
    kept = {}
    for c, v in zip(sub, vals):
        if c.params["sign"] > 0:
            kept[c.params["j"]] = v == c.exact()
    last = None
    for j in sorted(kept):
        if not kept[j]:
            break
        last = j
    return last, kept


def read_align(cs, d, extra):
    """Negative small term below the grid: dropped (rz) or rounded down to -1 grid unit (floor)."""
    if extra is None:
        return None, "extra bits unknown"
    sub, vals = _family(cs, d, "extra")
    for c, v in zip(sub, vals):
        if c.params["sign"] < 0 and c.params["j"] == extra + 2:
            if v == 0:
                return "rz", f"-2^{7 - c.params['j']} next to 2^30 -> 0 (dropped toward zero)"
            if v < 0:
                return "floor", f"-2^{7 - c.params['j']} next to 2^30 -> {v!r} (rounded toward -inf)"
            return None, f"-2^{7 - c.params['j']} -> {v!r} (unexpected)"
    return None, "no case below the grid"


def read_blocks(cs, d, k):
    """The fused blocks, from which small terms survive cancellations: (sizes, order, consistent,
    c_first). Indices that no read puts after one another share a block (their sets of earlier
    indices are the same); blocks are ordered by how many indices come before them, so blocks
    need not be consecutive in k (sm_90's FP8 mma.sync: k mod 4 in {0,1}, then {2,3})."""
    later = np.zeros((k, k), bool)   # later[p, r]: r's block comes after p's block
    sub, vals = _family(cs, d, "block")
    for c, v in zip(sub, vals):
        if v == c.exact() and v != 0:
            later[c.params["p"], c.params["r"]] = True
            later[c.params["q"], c.params["r"]] = True
    subc, valsc = _family(cs, d, "block_c")
    c_first = None
    hits_c = 0
    for c, v in zip(subc, valsc):
        if v == c.exact() and v != 0:
            later[c.params["p"], c.params["r"]] = True
            hits_c += 1
    groups: dict[tuple, list[int]] = {}
    for i in range(k):
        groups.setdefault(tuple(np.flatnonzero(later[:, i])), []).append(i)
    ordered = sorted(groups.items(), key=lambda kv: (len(kv[0]), kv[1][0]))
    blocks = [len(g) for _, g in ordered]
    order = tuple(i for _, g in ordered for i in g)
    # consistent? every pair in different blocks must be ordered, and no pair in one block
    blk = np.empty(k, dtype=np.int64)
    for n, (_, g) in enumerate(ordered):
        blk[g] = n
    expect = blk[None, :] > blk[:, None]
    consistent = bool((later == expect).all())
    if len(blocks) > 1:
        c_first = hits_c > 0
    return blocks, order, consistent, c_first


def read_rounding(cs, d, acc):
    """Which rounding modes reproduce every 'round' case (given exact on-grid inputs)."""
    sub, vals = _family(cs, d, "round")
    f = FORMATS[acc]
    modes = []
    for mode in ("rz", "rn", "rd", "ru"):
        if all(round_to(np.array([c.exact()]), f, mode)[0] == v for c, v in zip(sub, vals)):
            modes.append(mode)
    return modes


def read_list(cs, d, family):
    sub, vals = _family(cs, d, family)
    return [(c.params.get("what", str(c.params)), c.exact(), float(v)) for c, v in zip(sub, vals)]


def read_subnormals(cs, d, acc):
    rows = read_list(cs, d, "subnormal")
    ieee = all(v == e for _, e, v in rows)
    flushed = all(v == 0 for _, e, v in rows if abs(e) < FORMATS[acc].min_normal) and not ieee
    return (True if ieee else False if flushed else None), rows


def read_overflow(cs, d):
    rows = read_list(cs, d, "overflow")
    # past the largest finite by more than any rounding could explain (65520 = tie is a rounding probe)
    big = [(w, e, v) for w, e, v in rows if 65536 <= abs(e) < 1e30 or abs(e) > 3.5e38]
    if not big:
        return None, rows
    if all(np.isinf(v) for _, _, v in big):
        return "inf", rows
    if all(np.isfinite(v) for _, _, v in big):
        return "saturate", rows
    return None, rows


def read_specials(cs, d):
    rows = read_list(cs, d, "special")
    expect = {"inf*1": np.inf, "inf*0": np.nan, "inf-inf": np.nan, "nan*1": np.nan,
              "C nan": np.nan, "C inf + 1": np.inf, "C -inf + inf*1": np.nan, "C -inf + 1": -np.inf}
    ok = all((np.isnan(v) and np.isnan(expect[w])) or v == expect[w] for w, _, v in rows)
    return ok, rows


def read_features(form, cs, d: np.ndarray) -> tuple[dict, dict]:
    """(features, evidence): every feature the designed outputs `d` show for `form`, and how."""
    k = form.mnk[2]
    acc = form.acc
    feats, ev = {}, {}

    exact, ev["product_exact"] = read_exact(cs, d, acc)
    feats["product_exact"] = exact

    extra, kept = read_extra(cs, d)
    ev["extra_bits"] = ("kept 2^(E-23-j) for j = " + ",".join(str(j) for j in sorted(kept) if kept[j])
                        if extra is not None else "small term never kept")
    if extra is not None and extra >= max(kept):
        ev["extra_bits"] += f" (every j kept: >= {extra}; no truncation seen)"
    if acc == "f16" and extra is not None:
        ev["extra_bits"] += " (through an f16 result: bits below f16 show only via cancellation)"
    feats["extra_bits"] = None if extra is None else max(min(extra, MAX_EXTRA), MIN_EXTRA)
    feats["alignment_bits"] = None if extra is None else 24 + feats["extra_bits"]
    ev["alignment_bits"] = ("bits of a fused sum kept below and at the largest term's leading bit "
                            "(24 + extra_bits)")
    raw_extra, _ = read_extra(cs, d, "extra_raw")
    if extra is not None and raw_extra is not None:
        feats["exponent"] = "raw" if raw_extra == extra else "true" if raw_extra == extra - 1 else None
        ev["exponent"] = (f"2.25*2^28 - same + small: cut-off j={raw_extra} vs {extra} for 2^30 "
                          "(equal: aligned on ea+eb; one less: on the product's true exponent)")
    if acc == "f32":
        c_extra, _ = read_extra(cs, d, "extra_c")
        ev["c_alignment"] = (f"small term in C kept down to j={c_extra} "
                             f"(products: j={extra}): " +
                             ("C aligned with the products" if c_extra == extra
                              else "C handled apart from the products"))
    feats["align"], ev["align"] = read_align(cs, d, extra)

    blocks, order, consistent, c_first = read_blocks(cs, d, k)
    feats["blocks"] = blocks
    order_name = k_order_name(order, k)
    feats["k_order"] = order_name
    feats["block"] = (blocks[0] if consistent and len(set(blocks)) == 1 and order_name else None)
    ev["block"] = (f"fused blocks over k={k}: {blocks}" + ("" if consistent else " (INCONSISTENT reads)"))
    ev["k_order"] = (f"products enter the blocks in order {order_name!r}" if order_name else
                     f"block order {list(order)} is none of {list(K_ORDERS)}")
    if form.ab_type in FP8 and not set(FP8_SLOTS) <= set(order[:blocks[0]]):
        ev["block"] += (f" (the first block does not hold slots {FP8_SLOTS}: the alignment and "
                        "rounding reads span blocks and cannot be trusted)")
    if order_name not in (None, "natural"):
        ev["block"] += " (" + "; ".join(
            "{" + ",".join(map(str, sorted(order[s:s + n]))) + "}"
            for s, n in zip(np.cumsum([0] + blocks[:-1]), blocks)) + ")"
    if c_first is not None:
        feats["c_join"] = "first" if c_first else "last"
        ev["c_join"] = "C cancels inside the first block" if c_first else "C never cancels in a block"

    modes = read_rounding(cs, d, acc)
    if acc == "f32" and len([m for m in modes if m in ("rz", "rn")]) == 1:
        feats["rounding"] = next(m for m in modes if m in ("rz", "rn"))
    ev["rounding" if acc == "f32" else "out_rounding"] = (
        "normalised sums L+f*ulp(L) round like: " if acc == "f32" else "1+f*2^-10 rounds to f16 like: "
    ) + (", ".join(modes) or "no IEEE mode")
    feats["subnormals"], sub_rows = read_subnormals(cs, d, acc)
    ev["subnormals"] = "; ".join(f"{w}: {v!r} (IEEE {e!r})" for w, e, v in sub_rows)
    feats["overflow"], ov_rows = read_overflow(cs, d)
    if ov_rows:
        ev["overflow"] = "; ".join(f"{w}: {v!r}" for w, e, v in ov_rows)
    feats["specials_ieee"], sp_rows = read_specials(cs, d)
    ev["specials_ieee"] = "; ".join(f"{w}: {v!r}" for w, _, v in sp_rows)
    return feats, ev
