"""Designed test vectors (after Fasi et al. 2021 and Khattak & Mikaitis 2025) and the code that
reads the hardware's features off their outputs.

Each case is one dot product d = c + sum_i a_i b_i placed at output (0,0) of its own problem
(row 0 of A, column 0 of B, C[0,0]; everything else zero), so one launch runs every case.
Inference never assumes what the papers found: each feature is read from the outputs, and the
features the reads leave open are fitted by running the model with every candidate value on
all designed cases (`fit`); ties are reported as ambiguous.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from mmabench.arith.formats import FORMATS, round_to
from mmabench.arith.model import K_ORDERS, MAX_EXTRA, MIN_EXTRA, Model, k_order_name

EXTRA_SWEEP = 22          # j = 0 .. EXTRA_SWEEP-1 in the alignment family
WGMMA_SWEEP_FROM = -8     # wgmma forms sweep from here (narrower accumulator: negative extra;
                          # the small term 2^(7-j) stays below f16's 65504)


@dataclass
class Case:
    family: str
    params: dict
    a: np.ndarray          # [k]
    b: np.ndarray          # [k]
    c: float


@dataclass
class Findings:
    features: dict = field(default_factory=dict)       # name -> value (None: undetermined)
    evidence: dict = field(default_factory=dict)       # name -> one line saying how it was read
    ambiguous: dict = field(default_factory=dict)      # name -> values equally consistent
    model: Model | None = None
    designed_match: tuple[int, int] = (0, 0)           # (matching cases, cases) of the final model


def _vec(k: int, entries: dict) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.zeros(k), np.zeros(k)
    for pos, (x, y) in entries.items():
        a[pos], b[pos] = x, y
    return a, b


def cases(form) -> list[Case]:
    """Every designed case for `form` (f16/bf16/e4m3/e5m2 inputs, f16/f32 accumulator)."""
    if form.ab_type in FP8_TYPES:
        return fp8_cases(form)
    k = form.mnk[2]
    out = form.acc
    inp = form.ab_type
    p_in = FORMATS[inp].p
    res: list[Case] = []

    def add(family, params, entries, c=0.0):
        a, b = _vec(k, entries)
        res.append(Case(family, params, a, b, float(c)))

    # (1) products exact: one product needing 2*p_in bits
    x = 1 - 2.0 ** -p_in
    add("exact", {}, {0: (x, x)})
    if out == "f16":  # visible through an f16 result only together with a second term
        add("exact", {"second": True}, {0: (x, x), 1: (2.0 ** -12, 1.0)})

    # (2) alignment: X - X + s*2^(7-j), with X = 2^30 (true exponent 30); and the same with
    # X = 2.25 * 2^28 (raw exponent 28, true 29); and with the small term in C (f32 only)
    big = 2.0 ** 15
    # wgmma: also below f32's 24 bits (j < 0), factors split to stay in range
    start = WGMMA_SWEEP_FROM if getattr(form, "family", "mma") == "wgmma" else 0
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


# ---- FP8 inputs (e4m3, e5m2): the same families on values the 8-bit formats hold ------------
FP8_TYPES = ("e4m3", "e5m2")
# the FP8 alignment sweep starts below f32's 24 bits: a narrower accumulator (DeepSeek-V3 reports
# about 14 bits for FP8 wgmma on H800) shows as a negative extra_bits
FP8_SWEEP_FROM = -12


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


def _representable(x: float, type_: str) -> bool:
    from mmabench.arith.formats import from_bits, to_bits
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


def fp8_block_triples(k: int):
    """(p, p+1 mod k, r) for every p and r: every ordered pair appears as (p, r) or (q, r), which
    is all read_blocks needs, with k*(k-2) cases instead of k*(k-1)*(k-2)."""
    for p in range(k):
        q = (p + 1) % k
        for r in range(k):
            if r not in (p, q):
                yield p, q, r


# Where the FP8 families put the terms that must share one fused block (alignment, rounding):
# slots in the first block both for consecutive blocks of >= 6 and for sm_90's 'pairs' order
# (k mod 4 in {0,1} first); infer() checks the block it reads holds them all.
FP8_SLOTS = (0, 1, 4, 5)


def fp8_cases(form) -> list[Case]:
    k = form.mnk[2]
    out, inp, inp_b = form.acc, form.ab_type, form.b_type
    par = _fp8_params(inp, out, inp_b)
    res: list[Case] = []

    def add(family, params, entries, c=0.0):
        a, b = _vec(k, entries)
        res.append(Case(family, params, a, b, float(c)))

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
    for p, q, r in fp8_block_triples(k):
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


def per_problem(form) -> int:
    """Designed cases per problem: 1 at output (0,0) for mma.sync (one warp each); for wgmma
    (one launch per problem) min(m, n), case t at row t of A, column t of B, output (t,t)."""
    m, n, _ = form.mnk
    return min(m, n) if getattr(form, "family", "mma") == "wgmma" else 1


def batch(form, cs: list[Case]):
    """Cases -> (a [P,m,k], b [P,k,n], c [P,m,n]): case i in problem i // per, at output (t,t),
    t = i % per (per = per_problem(form); 1: every case at (0,0) of its own problem)."""
    m, n, k = form.mnk
    per = per_problem(form)
    count = -(-len(cs) // per)
    a = np.zeros((count, m, k))
    b = np.zeros((count, k, n))
    c = np.zeros((count, m, n))
    for i, cs_ in enumerate(cs):
        p, t = divmod(i, per)
        a[p, t] = cs_.a
        b[p, :, t] = cs_.b
        c[p, t, t] = cs_.c
    return a, b, c


def pick(form, out: np.ndarray, count: int) -> np.ndarray:
    """The designed cases' outputs [count] from device outputs [P, m, n] laid out by `batch`."""
    per = per_problem(form)
    i = np.arange(count)
    return out[i // per, i % per, i % per]


def vectors(cs: list[Case]):
    """Cases -> (a [N,k], b [N,k], c [N]) for Model.dot."""
    return (np.stack([c.a for c in cs]), np.stack([c.b for c in cs]), np.array([c.c for c in cs]))


def run(form, device, cs: list[Case] | None = None) -> tuple[list[Case], np.ndarray]:
    cs = cases(form) if cs is None else cs
    a, b, c = batch(form, cs)
    d = device(a, b, c)
    return cs, pick(form, d, len(cs))


# ---- reading features off the outputs ---------------------------------------------------------
def _family(cs, d, name):
    idx = [i for i, c in enumerate(cs) if c.family == name]
    return [cs[i] for i in idx], d[idx]


def _exact_value(c: Case) -> float:
    """c + sum a_i b_i exactly (fsum of exact products), rounded once to float64."""
    with np.errstate(invalid="ignore"):
        terms = [c.c] + list(c.a * c.b)
        if all(np.isfinite(terms)):
            return math.fsum(terms)
        return float(np.sum(terms))


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
            kept[c.params["j"]] = v == _exact_value(c)
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
        if v == _exact_value(c) and v != 0:
            later[c.params["p"], c.params["r"]] = True
            later[c.params["q"], c.params["r"]] = True
    subc, valsc = _family(cs, d, "block_c")
    c_first = None
    hits_c = 0
    for c, v in zip(subc, valsc):
        if v == _exact_value(c) and v != 0:
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
        if all(round_to(np.array([_exact_value(c)]), f, mode)[0] == v for c, v in zip(sub, vals)):
            modes.append(mode)
    return modes


def read_list(cs, d, family):
    sub, vals = _family(cs, d, family)
    return [(c.params.get("what", str(c.params)), _exact_value(c), float(v)) for c, v in zip(sub, vals)]


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


# ---- putting it together -----------------------------------------------------------------------
FIT_AXES = {"rounding": ("rz", "rn"), "c_join": ("first", "last"), "exponent": ("true", "raw"),
            "align": ("rz", "floor")}
FIT_AXES_F16 = {"out_rounding": ("rn", "rz"), "inter": ("internal", "acc"),
                "product_exact": (True, False), "out_from": ("internal", "aligned"),
                "zero_sign": ("ieee", "plus")}
FIT_FAMILIES = ("exact", "extra", "extra_raw", "extra_c", "block", "block_c", "round", "round_c",
                "inter", "width", "out_from", "zero_sign")
# FP8 forms: C may also be added by a separate IEEE addition (sm_90 lowers an FP8 mma.sync to
# two chained f16 HMMAs and an FADD/HADD2 with C, per its SASS; the designed cases decide), and
# the multiplier may see the FP8 values as they are or unpacked to f16 (where an e4m3 subnormal
# is normal: it matters to the raw exponent of the alignment)
FIT_AXES_FP8 = {"c_join": ("first", "last", "add"), "core_type": ("", "f16")}


def _model(base: dict, params: dict) -> Model:
    """The model of fitted parameters; narrow_result=True: the block's result keeps only the
    alignment's width (internal_bits = 24 + extra_bits, then no extra bits)."""
    params = dict(params)
    if params.pop("narrow_result", False):
        merged = dict(base, **params)
        merged["internal_bits"] = 24 + merged["extra_bits"]
        merged["extra_bits"] = 0
        return Model(**merged)
    return Model(**base, **params)


def _refine(form, base: dict, winners: list[dict], device, rng, ev: dict,
            outputs_per_regime: int = 2048) -> list[dict]:
    """Candidates the designed cases cannot tell apart, decided on random problems (the
    refinement step of Khattak & Mikaitis): returns those that match the most outputs.
    About `outputs_per_regime` dot products per regime (16 mma.sync problems, one wgmma)."""
    from mmabench.arith.device import same
    from mmabench.arith.validate import REGIMES, problems

    m, n, _ = form.mnk
    per_regime = max(1, outputs_per_regime // (m * n))

    parts = [problems(form, r, per_regime, rng) for r in REGIMES]
    a = np.concatenate([p[0] for p in parts])
    b = np.concatenate([p[1] for p in parts])
    c = np.concatenate([p[2] for p in parts])
    hw = device(a, b, c)
    scores = [int(same(_model(base, w).mma(a, b, c), hw, form.acc).sum()) for w in winners]
    best = max(scores)
    kept = [w for w, s in zip(winners, scores) if s == best]
    varied = sorted({n for w in winners for n in w if len({str(x[n]) for x in winners}) > 1})
    for name in varied:
        ev[name] = (ev.get(name, "") + f" [designed cases could not tell {name} apart; "
                    f"{hw.size} random outputs chose {sorted({str(w[name]) for w in kept})}]").strip()
    return kept


def infer(form, cs: list[Case], d: np.ndarray, device=None, rng=None) -> Findings:
    """Features from the designed outputs `d`; with `device`, candidates the designed cases leave
    tied are decided on random problems run on it."""
    from mmabench.arith.device import same

    k = form.mnk[2]
    acc = form.acc
    fi = Findings()
    feats, ev = fi.features, fi.evidence

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
    if form.ab_type in FP8_TYPES and not set(FP8_SLOTS) <= set(order[:blocks[0]]):
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

    # fit what the reads left open (or could not see) on all designed cases
    b_type = getattr(form, "b_type", form.ab_type)
    base = dict(in_type=form.ab_type, acc=acc, block=feats["block"] or k,
                k_order=feats["k_order"] if feats["block"] else "natural",
                **({"b_type": b_type} if b_type != form.ab_type else {}),
                **({"product_exact": bool(exact)} if exact is not None else {}),
                extra_bits=feats["extra_bits"] if feats["extra_bits"] is not None else 0,
                subnormals=feats["subnormals"] if feats["subnormals"] is not None else True,
                overflow=feats["overflow"] or "inf")
    axes = dict(FIT_AXES, **(FIT_AXES_F16 if acc == "f16" else {}),
                **(FIT_AXES_FP8 if form.ab_type in FP8_TYPES else {}))
    if base["block"] >= k:      # one block: nothing is rounded between blocks
        axes.pop("inter", None)
    if base["extra_bits"] < 0:  # an alignment narrower than f32: is the result cut to it too?
        axes["narrow_result"] = (False, True)
        # a result grid narrower than f32's also loses f32 subnormals: the subnormal read alone
        # cannot say whether that is flushing or the grid
        base.pop("subnormals")
        axes["subnormals"] = (True, False)
    fit_families = FIT_FAMILIES + (("subnormal",) if "subnormals" in axes else ())
    idx = [i for i, c in enumerate(cs) if c.family in fit_families]
    fit_cs = [cs[i] for i in idx]
    a, b, c = vectors(fit_cs)
    target = d[idx]
    best, scores = -1, {}
    for combo in itertools.product(*axes.values()):
        params = dict(zip(axes, combo))
        model = _model(base, params)
        score = int(same(model.dot(a, b, c), target, acc).sum())
        scores[combo] = score
        best = max(best, score)
    winners = [dict(zip(axes, combo)) for combo, s in scores.items() if s == best]
    if device is not None and len(winners) > 1:
        winners = _refine(form, base, winners, device, rng or np.random.default_rng(0), ev)
    default = Model().features()
    for name in axes:
        values = sorted({w[name] for w in winners}, key=str)
        if feats.get(name) is not None and feats[name] not in values:
            ev[name] = ev.get(name, "") + f" [read {feats[name]!r} but fit prefers {values}]"
        if len(values) == 1:
            feats[name] = values[0]
        else:
            fi.ambiguous[name] = values
            if feats.get(name) not in values:
                feats[name] = default.get(name) if default.get(name) in values else values[0]
    # the chosen values must be one of the winning combinations
    if not any(all(w[n] == feats[n] for n in axes) for w in winners):
        feats.update(winners[0])
    final = {n: feats[n] for n in axes}
    fi.model = _model(base, final)
    feats["result_bits"] = fi.model.internal_bits
    ev["result_bits"] = ("significant bits of a block's result (24 = f32's; fewer: the result is "
                         "cut to the alignment width, the FP22 / e8m13 of Hopper's FP8 reports)")
    with np.errstate(invalid="ignore"):
        fi.designed_match = (int(same(fi.model.dot(*vectors(cs)), d, acc).sum()), len(cs))
    return fi
