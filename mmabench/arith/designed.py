"""Designed test vectors (after Fasi et al. 2021 and Khattak & Mikaitis 2025): the cases whose
outputs show each feature of the hardware's accumulation (reads.py reads them, inference.py fits
what the reads leave open).

Each case is one dot product d = c + sum_i a_i b_i; batch.py places it in a problem of its own
(mma.sync) or on the diagonal of a shared one (wgmma). Families: exact, extra / extra_raw /
extra_c (the alignment sweep), block / block_c, round / round_c, inter, out_from / zero_sign,
width, subnormal, overflow, special. 16-bit inputs and FP8 inputs have a builder each: the same
families on values each format holds.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from mmabench.arith.formats import FORMATS, FP8, from_bits, to_bits
from mmabench.arith.forms import family_of

# the alignment sweep: j = start .. EXTRA_SWEEP-1; below 0 it reads an alignment narrower than
# f32's 24 bits (a negative extra_bits)
EXTRA_SWEEP = 22
WGMMA_SWEEP_FROM = -8     # 16-bit wgmma: its small term 2^(7-j) stays below f16's 65504
# FP8: DeepSeek-V3 reports about 14 bits for FP8 wgmma on H800
FP8_SWEEP_FROM = -12


@dataclass
class Case:
    family: str
    params: dict
    a: np.ndarray          # [k]
    b: np.ndarray          # [k]
    c: float

    def exact(self) -> float:
        """c + sum a_i b_i exactly (fsum of exact products), rounded once to float64."""
        with np.errstate(invalid="ignore"):
            terms = [self.c] + list(self.a * self.b)
            if all(np.isfinite(terms)):
                return math.fsum(terms)
            return float(np.sum(terms))


def vectors(cs: list[Case]):
    """Cases -> (a [N,k], b [N,k], c [N]) for Model.dot."""
    return (np.stack([c.a for c in cs]), np.stack([c.b for c in cs]), np.array([c.c for c in cs]))


def _collector(k: int):
    """(cases, add): add(family, params, {index: (a_i, b_i)}, c) appends one case of length k."""
    res: list[Case] = []

    def add(family, params, entries, c=0.0):
        a, b = np.zeros(k), np.zeros(k)
        for pos, (x, y) in entries.items():
            a[pos], b[pos] = x, y
        res.append(Case(family, params, a, b, float(c)))
    return res, add


def cases(form) -> list[Case]:
    """Every designed case for `form` (f16/bf16/e4m3/e5m2 inputs, f16/f32 accumulator)."""
    if form.ab_type in FP8:
        return _fp8_cases(form)
    k = form.mnk[2]
    out = form.acc
    inp = form.ab_type
    p_in = FORMATS[inp].p
    res, add = _collector(k)

    # (1) products exact: one product needing 2*p_in bits
    x = 1 - 2.0 ** -p_in
    add("exact", {}, {0: (x, x)})
    if out == "f16":  # visible through an f16 result only together with a second term
        add("exact", {"second": True}, {0: (x, x), 1: (2.0 ** -12, 1.0)})

    # (2) alignment: X - X + s*2^(7-j), with X = 2^30 (true exponent 30); and the same with
    # X = 2.25 * 2^28 (raw exponent 28, true 29); and with the small term in C (f32 only)
    big = 2.0 ** 15
    # wgmma: also below f32's 24 bits (j < 0), factors split to stay in range
    start = WGMMA_SWEEP_FROM if family_of(form) == "wgmma" else 0
    for j in range(start, EXTRA_SWEEP):
        for s in (1.0, -1.0):
            t = 2.0 ** (7 - j)
            add("extra", {"j": j, "sign": s}, {0: (big, big), 1: (big, -big),
                                               2: (t, s) if j >= 0 else split(s * t, inp)})
            t2 = 2.0 ** (5 - j)    # as (t2 * 2^8) * 2^-8: both factors normal in f16
            add("extra_raw", {"j": j, "sign": s},
                {0: (1.5 * 2 ** 14, 1.5 * 2 ** 14), 1: (1.5 * 2 ** 14, -1.5 * 2 ** 14),
                 2: (t2 * 2.0 ** 8, s * 2.0 ** -8) if j >= 0 else split(s * t2, inp)})
            if out == "f32":
                add("extra_c", {"j": j, "sign": s}, {0: (big, big), 1: (big, -big)}, c=s * t)

    # (3) block structure: +X at p, -X at q, tiny s at r (C = 0): s survives iff r's block comes
    # after the blocks of p and q. And C = -Xc, +Xc at p, s at r.
    tiny = (2.0 ** -14, 2.0 ** -14) if out == "f32" else (2.0 ** -7, 2.0 ** -7)
    for p, q, r in itertools.permutations(range(k), 3):
        add("block", {"p": p, "q": q, "r": r}, {p: (big, big), q: (big, -big), r: tiny})
    xc = (big, big) if out == "f32" else (big, 1.0)
    for p, r in itertools.permutations(range(k), 2):
        add("block_c", {"p": p, "r": r}, {p: xc, r: tiny}, c=-(xc[0] * xc[1]))

    # (4) rounding of the normalised sum: 4 + f*ulp (and 4 + ulp + f*ulp), ulp(4) = 2^-21,
    # built from terms on the 2^-23 grid of the leading 1s (visible with 0 extra bits)
    for odd in (0, 1):
        for f, term in ((0.25, (2.0 ** -12, 2.0 ** -11)), (0.5, (2.0 ** -11, 2.0 ** -11)),
                        (0.75, (1.5 * 2.0 ** -11, 2.0 ** -11))):
            for s in (1.0, -1.0):
                entries = {i: (1.0, s) for i in range(4)}
                entries[4] = (term[0], s * term[1])
                if odd:
                    entries[5] = (2.0 ** -11, s * 2.0 ** -10)
                if out == "f16":  # f16: 1 + f*2^-10 (+ 2^-10), rounded to f16
                    entries = {0: (1.0, s), 1: (f * 2.0 ** -10, s)}
                    if odd:
                        entries[2] = (2.0 ** -10, s)
                add("round", {"odd": odd, "frac": f, "sign": s}, entries)

    # (5) f16 accumulator between blocks: 1 at 0, 3*2^-13 at 1 and at k-1
    if out == "f16":
        add("inter", {}, {0: (1.0, 1.0), 1: (1.5 * 2.0 ** -12, 1.0), k - 1: (1.5 * 2.0 ** -12, 1.0)})
        for s in (1.0, -1.0):
            _f16_path_cases(add, s, (0, 1, 2), lambda v: split(v, inp))

    # (6) subnormals
    fin = FORMATS[inp]
    sub_in = fin.min_subnormal
    add("subnormal", {"what": "input subnormal a"}, {0: (sub_in * 4, 1.0)} if inp == "bf16"
        else {0: (sub_in, 16.0)})
    if out == "f16":
        add("subnormal", {"what": "f16 result subnormal"}, {0: (2.0 ** -14, 0.5)})
        add("subnormal", {"what": "f16 C subnormal passes"}, {}, c=2.0 ** -20)
    else:
        add("subnormal", {"what": "f32 C subnormal passes"}, {}, c=2.0 ** -149)
        if inp == "bf16":
            add("subnormal", {"what": "f32 result subnormal from products"},
                {0: (2.0 ** -100, 2.0 ** -30)})

    # (7) overflow and (8) inf / NaN
    if out == "f16":
        add("overflow", {"what": "product 2^16"}, {0: (2.0 ** 15, 2.0)})
        add("overflow", {"what": "60000+10000"}, {0: (60000.0, 1.0), 1: (10000.0, 1.0)})
        add("overflow", {"what": "-(60000+10000)"}, {0: (60000.0, -1.0), 1: (10000.0, -1.0)})
        add("overflow", {"what": "65504+65504-65504"},
            {0: (65504.0, 1.0), 1: (65504.0, 1.0), 2: (65504.0, -1.0)})
        add("overflow", {"what": "C 65504 + 16 (tie)"}, {0: (16.0, 1.0)}, c=65504.0)
        add("overflow", {"what": "C 65504 + 8"}, {0: (8.0, 1.0)}, c=65504.0)
    elif inp == "bf16":
        add("overflow", {"what": "product 2^200"}, {0: (2.0 ** 100, 2.0 ** 100)})
    inf, nan = np.inf, np.nan
    add("special", {"what": "inf*1"}, {0: (inf, 1.0)})
    add("special", {"what": "inf*0"}, {0: (inf, 0.0)})
    add("special", {"what": "inf-inf"}, {0: (inf, 1.0), 1: (inf, -1.0)})
    add("special", {"what": "nan*1"}, {0: (nan, 1.0)})
    add("special", {"what": "C nan"}, {}, c=nan)
    add("special", {"what": "C inf + 1"}, {0: (1.0, 1.0)}, c=inf)
    add("special", {"what": "C -inf + inf*1"}, {0: (inf, 1.0)}, c=-inf)
    return res


def _f16_path_cases(add, s: float, slots, prod, scale: float = 1.0) -> None:
    """How an f16 result is rounded. 'out_from': 1 + 2^-11 + 2^-25 is above the f16 tie, but its
    24-bit truncation is the tie itself (-> 1 by nearest-even); rounded from the aligned sum
    (2^-25 kept by 2 extra bits) it is 1 + 2^-10. 'zero_sign': 1 - 1 - 2^-25 rounds to zero;
    IEEE gives -0. `scale` moves the first up (FP8: 2^8, so that 2^-17 is a product). Cases
    whose terms the input format cannot hold are left out."""
    p0, p1, p2 = slots
    try:
        add("out_from", {"sign": s}, {p0: prod(s * scale), p1: prod(s * scale * 2.0 ** -11),
                                      p2: prod(s * scale * 2.0 ** -25)})
    except ValueError:
        pass
    try:
        add("zero_sign", {"sign": s}, {p0: prod(-s * 1.0), p1: prod(-s * 2.0 ** -25)}, c=s * 1.0)
    except ValueError:
        pass


# ---- FP8 inputs (e4m3, e5m2): the same families on values the 8-bit formats hold ------------
def _representable(x: float, type_: str) -> bool:
    with np.errstate(over="ignore", invalid="ignore"):   # out of range: not representable
        return bool(from_bits(to_bits(np.array([x]), type_), type_)[0] == x)


def split(value: float, type_: str, type_b: str | None = None) -> tuple[float, float]:
    """(u, v) with u*v == value, u exact in `type_`, v in `type_b` (default: the same): normal factors where possible, then as
    balanced as possible (value: a small odd integer times a power of two). The deepest FP8
    alignment cases and the block family's tiny term need subnormal factors (e4m3's normal
    products stop at 2^-12): hardware that flushed FP8 subnormal inputs would misread there,
    which the 'subnormal' family shows."""
    type_b = type_b or type_
    if value == 0:
        return 0.0, 0.0
    sign = math.copysign(1.0, value)
    best = None
    for x in range(-40, 41):
        u = abs(value) * 2.0 ** -x
        v = 2.0 ** x
        if _representable(u, type_) and _representable(v, type_b):
            sub = (u < FORMATS[type_].min_normal) + (v < FORMATS[type_b].min_normal)
            score = (sub, abs(math.log2(u) - math.log2(v)))
            if best is None or score < best[0]:
                best = (score, u, v)
    if best is None:
        raise ValueError(f"{value!r} is no product of a {type_} and a {type_b} value")
    return best[1], sign * best[2]


def _fp8_params(inp: str, out: str, inp_b: str | None = None) -> dict:
    """Scales of the FP8 families: X = 2^(2*eb) of the alignment sweep, the raw-exponent
    X = (1.5*2^ea)^2, the smallest exact product and result (the sweep stops there), and
    X = 2^(2*bb) and the tiny term 2^tiny of the block families (lost next to X for up to 6
    extra bits). The families read only results that are exact, so an X past 65504 in a rounded
    f16 first half (sm_90) only makes a case unreadable, never misread."""
    fa, fb = FORMATS[inp], FORMATS[inp_b or inp]
    fin = fa if fa.emax <= fb.emax else fb               # powers of two both formats hold
    min_prod = int(round(math.log2(fa.min_subnormal) + math.log2(fb.min_subnormal)))
    # the sweep's largest small term, 2^(2*eb+12-23), must be finite in an f16 result
    eb = min(15 if out == "f32" else 13, fin.emax)
    bb = min(15, fin.emax)
    tiny = -14 if out == "f16" else max(2 * bb - 58, min_prod)
    return {"eb": eb, "ea": eb - 1, "bb": bb, "min_prod": min_prod, "tiny": tiny,
            "out_min": -14 if out == "f16" else -126}   # a normal result: flushing cannot hide it


def _fp8_block_triples(k: int):
    """(p, p+1 mod k, r) for every p and r: every ordered pair appears as (p, r) or (q, r), which
    is all read_blocks needs, with k*(k-2) cases instead of k*(k-1)*(k-2)."""
    for p in range(k):
        q = (p + 1) % k
        for r in range(k):
            if r not in (p, q):
                yield p, q, r


# Where the FP8 families put the terms that must share one fused block (alignment, rounding):
# slots in the first block both for consecutive blocks of >= 6 and for sm_90's 'pairs' order
# (k mod 4 in {0,1} first); the block read (reads.py) checks that they share one.
FP8_SLOTS = (0, 1, 4, 5)


def _fp8_cases(form) -> list[Case]:
    k = form.mnk[2]
    out, inp, inp_b = form.acc, form.ab_type, form.b_type
    par = _fp8_params(inp, out, inp_b)
    res, add = _collector(k)

    def prod(value):
        return split(value, inp, inp_b)

    s0, s1, s2, s3 = FP8_SLOTS

    # (1) products exact (p_in <= 4: 2p-bit products fit every accumulator)
    add("exact", {}, {0: (1 - 2.0 ** -FORMATS[inp].p, 1 - 2.0 ** -FORMATS[inp_b].p)})

    # (2) alignment: X - X + s*2^(E-23-j), E = 2*eb; raw: X = (1.5*2^ea)^2, true exponent
    # 2ea+1, raw 2ea; the sweep stops where the small term is no longer an exact product
    big = 2.0 ** par["eb"]
    lo = max(par["min_prod"], par["out_min"])
    for j in range(FP8_SWEEP_FROM, EXTRA_SWEEP):
        for s in (1.0, -1.0):
            e = 2 * par["eb"] - 23 - j
            if e >= lo:
                add("extra", {"j": j, "sign": s},
                    {s0: (big, big), s1: (big, -big), s2: prod(s * 2.0 ** e)})
                if out == "f32":
                    add("extra_c", {"j": j, "sign": s}, {s0: (big, big), s1: (big, -big)},
                        c=s * 2.0 ** e)
            e2 = 2 * par["ea"] - 23 - j
            if e2 >= lo:
                r = 1.5 * 2.0 ** par["ea"]
                add("extra_raw", {"j": j, "sign": s}, {s0: (r, r), s1: (r, -r), s2: prod(s * 2.0 ** e2)})

    # (3) block structure (k*(k-2) triples) and where C joins
    tiny = prod(2.0 ** par["tiny"])
    big = 2.0 ** par["bb"]
    for p, q, r in _fp8_block_triples(k):
        add("block", {"p": p, "q": q, "r": r}, {p: (big, big), q: (big, -big), r: tiny})
    xc = (big, big) if out == "f32" else prod(2.0 ** 15)     # f16: C = -2^15, 29 binades over tiny
    for p, r in itertools.permutations(range(k), 2):
        add("block_c", {"p": p, "r": r}, {p: xc, r: tiny}, c=-(xc[0] * xc[1]))

    # (4) rounding: f32 accumulator: 128 + f*ulp(128) (ulp = 2^-16) from products on the
    # 2^-18 grid (2 * 8*8, then f*2^-16); f16: 1 + f*2^-10 rounded to f16
    for odd in (0, 1):
        for f in (0.25, 0.5, 0.75):
            for s in (1.0, -1.0):
                if out == "f32":
                    entries = {s0: (8.0, s * 8.0), s1: (8.0, s * 8.0)}
                    entries[s2] = prod(s * f * 2.0 ** -16)
                    if odd:
                        entries[s3] = prod(s * 2.0 ** -16)
                else:
                    entries = {s0: (1.0, s), s1: prod(s * f * 2.0 ** -10)}
                    if odd:
                        entries[s2] = prod(s * 2.0 ** -10)
                add("round", {"odd": odd, "frac": f, "sign": s}, entries)
    # (4b) C added to a rounded product sum, or fused with it: f32: products 128 (+ ulp), C a
    # fraction of an ulp; f16: products 1 + 2^-12 (below f16's grid), C = 2^-11
    for s in (1.0, -1.0):
        if out == "f32":
            for odd in (0, 1):
                for f in (0.25, 0.5, 0.75):
                    entries = {s0: (8.0, s * 8.0), s1: (8.0, s * 8.0)}
                    if odd:
                        entries[s2] = prod(s * 2.0 ** -16)
                    add("round_c", {"odd": odd, "frac": f, "sign": s}, entries, c=s * f * 2.0 ** -16)
        else:
            for c_ in (2.0 ** -11, 3 * 2.0 ** -12, 2.0 ** -12):
                # in the last block: an f16 rounding between blocks does not touch them
                add("round_c", {"c": c_, "sign": s},
                    {k - 2: (1.0, s), k - 1: prod(s * 2.0 ** -12)}, c=s * c_)

    # (5) f16 accumulator between blocks: 1 at 0, 3*2^-13 at 1 and at k-1
    if out == "f16":
        add("inter", {}, {0: (1.0, 1.0), 1: prod(3 * 2.0 ** -13), k - 1: prod(3 * 2.0 ** -13)})
        for s in (1.0, -1.0):
            _f16_path_cases(add, s, FP8_SLOTS[:3], prod, scale=2.0 ** 8)

    # (5b) the result's width: 1 + 1 + 2^-m carries into 2^1, so 2^-m survives the alignment
    # (grid of the largest product, 2^0) for m < alignment bits, and the result for m <= bits-2:
    # a result cut to the alignment width (Hopper's FP8 'e8m13') drops m = bits-1 that the
    # alignment kept
    if out == "f32":
        for m in range(8, min(24, 1 - par["min_prod"])):
            add("width", {"m": m}, {s0: (1.0, 1.0), s1: (1.0, 1.0), s2: prod(2.0 ** -m)})

    # (6) subnormals
    sub_a, sub_b = FORMATS[inp].min_subnormal, FORMATS[inp_b].min_subnormal
    add("subnormal", {"what": "input subnormal a"}, {0: (sub_a, 16.0)})
    add("subnormal", {"what": "input subnormal a*b"}, {0: (sub_a, 3 * sub_b)})
    if out == "f16":
        add("subnormal", {"what": "f16 result subnormal"}, {0: prod(2.0 ** -15)})
        add("subnormal", {"what": "f16 C subnormal passes"}, {}, c=2.0 ** -20)
    else:
        add("subnormal", {"what": "f32 C subnormal passes"}, {}, c=2.0 ** -149)

    # (7) overflow of an f16 result (FP8 products never reach f32's range)
    if out == "f16":
        add("overflow", {"what": "product 2^16"}, {0: prod(2.0 ** 16)})
        pair = (((57344.0, 1.0), (10240.0, 1.0)) if inp == inp_b == "e5m2"
                else ((224.0, 256.0), (96.0, 96.0)))    # 57344 + 9216: held by e4m3 and e5m2
        add("overflow", {"what": "sum past 65504"}, {0: pair[0], 1: pair[1]})
        add("overflow", {"what": "-(sum past 65504)"},
            {0: (pair[0][0], -pair[0][1]), 1: (pair[1][0], -pair[1][1])})
        add("overflow", {"what": "C 65504 + 16 (tie)"}, {0: (4.0, 4.0)}, c=65504.0)
        add("overflow", {"what": "C 65504 + 8"}, {0: (2.0, 4.0)}, c=65504.0)

    # (8) inf / NaN (e4m3 has no inf: only its NaN and C's specials)
    inf, nan = np.inf, np.nan
    if inp == "e5m2":   # inf in A
        add("special", {"what": "inf*1"}, {0: (inf, 1.0)})
        add("special", {"what": "inf*0"}, {0: (inf, 0.0)})
        add("special", {"what": "inf-inf"}, {0: (inf, 1.0), 1: (inf, -1.0)})
        add("special", {"what": "C -inf + inf*1"}, {0: (inf, 1.0)}, c=-inf)
    add("special", {"what": "nan*1"}, {0: (nan, 1.0)})
    add("special", {"what": "C nan"}, {}, c=nan)
    add("special", {"what": "C inf + 1"}, {0: (1.0, 1.0)}, c=inf)
    add("special", {"what": "C -inf + 1"}, {0: (1.0, 1.0)}, c=-inf)
    return res

