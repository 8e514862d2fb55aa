"""A bit-accurate model of one tensor-core matrix multiply-accumulate, with its features as
parameters (the hardware model of Fasi et al. 2021 and Khattak & Mikaitis 2025, generalised).

One output d = c + sum_i a_i b_i is computed as:

1. products a_i*b_i, exact (or rounded to f32 if product_exact=False);
2. the k products, taken in the order `k_order` (K_ORDERS: 'natural', or 'pairs': k mod 4 in
   {0,1} first, then {2,3} -- how sm_90 splits an FP8 m16n8k32 over its two HMMA.16816, per the
   SASS: the low halves of the A/B registers feed the first, the high halves the second), are
   cut into consecutive blocks of `block` products; each block is one fused
   multi-operand addition of its products plus the running accumulator (C joins the first block,
   or, with c_join='last', is added alone after the last block in one more fused addition;
   with c_join='add' the blocks start from zero and C is added at the very end by one IEEE
   round-to-nearest addition in the accumulator format, after the product sum was rounded to
   it: what sm_90 makes of an FP8 mma.sync, two chained HMMAs and an FADD/HADD2, per its SASS);
3. inside a fused addition every term is aligned to the largest term's exponent and the bits
   below 2^(Emax - (internal_bits-1) - extra_bits) are dropped ('rz': toward zero, sign-magnitude;
   'floor': two's complement, toward -inf); the kept bits are summed exactly;
   Emax is the term's true exponent, or with exponent='raw' a product's ea+eb (significand in
   [1,4), not normalised; a subnormal factor counts as the minimum exponent of `core_type`, the
   format the multiplier sees: FP8 unpacked to f16 on sm_90 is normal there);
4. the exact aligned sum is normalised and rounded to `internal_bits` (mode `rounding`) with the
   f32 exponent range; that is the accumulator carried to the next block;
5. for an f16 accumulator the final value is rounded to f16 (`out_rounding`); with inter='acc'
   the running value is rounded to f16 after every block as well; with out_from='aligned' that
   rounding starts from the exact aligned sum (step 4 skipped), and with zero_sign='plus' a
   nonzero value that rounds to zero gives +0 (both seen on the H100's f16 accumulators).

Special values follow IEEE (NaN for inf*0 and inf-inf, inf propagates); `overflow` decides what
an f16 result past 65504 (or an f32 past FLT_MAX) becomes.

Exactness: inputs and products are exact float64; a block sum is an integer multiple of 2^L of at
most (block+1) * 2^(internal_bits+extra_bits+2) < 2^53 units, so it too is exact in float64
(extra_bits <= MAX_EXTRA); every rounding is done by formats.round_to, exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from mmabench.arith.formats import FORMATS, exponent, round_to

MAX_EXTRA = 20
MIN_EXTRA = -20   # negative: the alignment keeps fewer bits than the accumulator carries
ROUNDINGS = ("rz", "rn")


def _pairs(k: int) -> list[int]:
    return [i for i in range(k) if i % 4 < 2] + [i for i in range(k) if i % 4 >= 2]


# the order in which the k products enter the blocks
K_ORDERS = {"natural": lambda k: list(range(k)), "pairs": _pairs}


def k_permutation(name: str, k: int) -> np.ndarray:
    return np.asarray(K_ORDERS[name](k), dtype=np.int64)


def k_order_name(order, k: int) -> str | None:
    """The K_ORDERS name of a permutation of range(k), or None."""
    order = list(order)
    return next((n for n, f in K_ORDERS.items() if f(k) == order), None)


@dataclass(frozen=True)
class Model:
    in_type: str = "f16"          # A/B format: f16 | bf16 | e4m3 | e5m2
    b_type: str = ""              # B format where it differs from A's ('' = in_type)
    acc: str = "f32"              # C/D format: f32 | f16
    block: int = 16               # products per fused addition
    k_order: str = "natural"      # order of the products before blocking (K_ORDERS)
    core_type: str = ""           # format the multiplier sees ('' = in_type; sm_90 FP8: 'f16')
    extra_bits: int = 0           # bits kept below the largest term's (internal_bits)-bit significand
                                  # (negative: fewer; the alignment width is internal_bits+extra_bits)
    align: str = "rz"             # rz | floor: how aligned bits below the grid are dropped
    rounding: str = "rz"          # normalisation of each block result to internal_bits: rz | rn
    internal_bits: int = 24       # significand of the running accumulator (f32: 24)
    c_join: str = "first"         # first | last | add (C by one IEEE RN add at the end)
    exponent: str = "true"        # true | raw: exponent of a product used for alignment
    out_rounding: str = "rn"      # f16 accumulator: final rounding to f16
    out_from: str = "internal"    # f16 accumulator: rounded from the block's 'internal' (24-bit
                                  # normalised) result, or from the exact 'aligned' sum
    zero_sign: str = "ieee"       # f16 accumulator: sign of a nonzero result rounded to zero:
                                  # 'ieee' (its own) | 'plus' (+0)
    inter: str = "internal"       # f16 accumulator: 'internal' or 'acc' (rounded to f16 per block)
    product_exact: bool = True    # False: each product rounded (RN) to the accumulator format
    subnormals: bool = True       # False: subnormal inputs and results flushed to zero
    overflow: str = "inf"         # inf | saturate (results past the largest finite)

    def __post_init__(self):
        if not MIN_EXTRA <= self.extra_bits <= MAX_EXTRA:
            raise ValueError(f"extra_bits {self.extra_bits} outside {MIN_EXTRA}..{MAX_EXTRA}")
        if self.block < 1:
            raise ValueError("block must be >= 1")
        for name, allowed in (("align", ("rz", "floor")), ("rounding", ROUNDINGS),
                              ("out_rounding", ROUNDINGS), ("c_join", ("first", "last", "add")),
                              ("exponent", ("true", "raw")), ("inter", ("internal", "acc")),
                              ("overflow", ("inf", "saturate")), ("acc", ("f16", "f32")),
                              ("k_order", tuple(K_ORDERS)), ("out_from", ("internal", "aligned")),
                              ("zero_sign", ("ieee", "plus"))):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}={getattr(self, name)!r}; accepted: {allowed}")

    # ---- public ----------------------------------------------------------------------------
    def features(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def with_(self, **changes) -> "Model":
        return replace(self, **changes)

    def mma(self, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Batches [..., m, k] x [..., k, n] + [..., m, n] -> [..., m, n] float64 (exact values of
        the accumulator format). Inputs must already be values of their formats."""
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        c = np.asarray(c, dtype=np.float64)
        a_t = a[..., :, None, :]                       # [..., m, 1, k]
        b_t = np.swapaxes(b, -1, -2)[..., None, :, :]  # [..., 1, n, k]
        a_t, b_t = np.broadcast_arrays(a_t, b_t)
        lead = np.broadcast_shapes(a_t.shape[:-1], c.shape)
        a_t = np.broadcast_to(a_t, lead + a_t.shape[-1:])
        b_t = np.broadcast_to(b_t, lead + b_t.shape[-1:])
        c = np.broadcast_to(c, lead)
        return self.dot(a_t, b_t, c)

    def dot(self, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Dot products over the last axis: a, b [..., k], c [...] -> [...]."""
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        c = np.asarray(c, dtype=np.float64)
        shape = c.shape
        k = a.shape[-1]
        a = a.reshape(-1, k)
        b = b.reshape(-1, k)
        c = c.reshape(-1)
        a, b, c = self.flushed(a, b, c)
        special = self._specials(a, b, c)

        fa, fb = np.where(np.isfinite(a), a, 0.0), np.where(np.isfinite(b), b, 0.0)
        fc = np.where(np.isfinite(c), c, 0.0)
        prod, pexp = self.products(fa, fb)
        run = self.blocks(fc if self.c_join == "first" else np.zeros_like(fc), prod, pexp)
        if self.c_join == "last":
            terms = np.stack([run, fc], axis=1)
            run = self._fused(terms, exponent(terms), self._internal_format(),
                              normalise=not (self.acc == "f16" and self.out_from == "aligned"))
        elif self.c_join == "add":
            run = self._ieee_add(run, fc, FORMATS[self.acc])
        if self.acc == "f16":
            run = self._to_f16(run)
        out = np.where(np.isnan(special), special, run)
        out = np.where(np.isinf(special), special, out)
        return out.reshape(shape)

    def flushed(self, a: np.ndarray, b: np.ndarray, c: np.ndarray):
        """a, b, c with subnormals flushed to (signed) zero where the model flushes them."""
        if self.subnormals:
            return a, b, c
        fin, fin_b, acc = (FORMATS[t] for t in (self.in_type, self.b_type or self.in_type, self.acc))
        return (np.where(np.abs(a) < fin.min_normal, np.copysign(0.0, a), a),
                np.where(np.abs(b) < fin_b.min_normal, np.copysign(0.0, b), b),
                np.where(np.abs(c) < acc.min_normal, np.copysign(0.0, c), c))

    def products(self, a: np.ndarray, b: np.ndarray):
        """(products, exponents they align on) of finite a, b [N, k] (step 1), in k_order."""
        prod = a * b                                         # exact in float64
        if not self.product_exact:  # rounded to the accumulator format (f32: no-op for 16-bit inputs)
            prod = round_to(prod, FORMATS[self.acc], "rn")
        if self.exponent == "raw":   # a subnormal factor counts as the core format's emin
            type_a = self.core_type or self.in_type
            type_b = self.core_type or self.b_type or self.in_type
            pexp = (np.maximum(exponent(a), FORMATS[type_a].emin)
                    + np.maximum(exponent(b), FORMATS[type_b].emin))
        else:
            pexp = exponent(prod)
        if self.k_order != "natural":
            perm = k_permutation(self.k_order, a.shape[-1])
            prod, pexp = prod[:, perm], pexp[:, perm]
        return prod, pexp

    def blocks(self, run: np.ndarray, prod: np.ndarray, pexp: np.ndarray) -> np.ndarray:
        """The running value [N] through every fused block of `products` (steps 2 to 4; with
        inter='acc', rounded to f16 between blocks)."""
        internal = self._internal_format()
        k = prod.shape[1]
        for start in range(0, k, self.block):
            last = start + self.block >= k
            terms = np.concatenate([run[:, None], prod[:, start:start + self.block]], axis=1)
            texp = np.concatenate([exponent(run)[:, None], pexp[:, start:start + self.block]], axis=1)
            run = self._fused(terms, texp, internal, normalise=self.block_normalised(last))
            if self.acc == "f16" and self.inter == "acc" and not last:
                run = self._to_f16(run)
        return run

    def block_normalised(self, last: bool) -> bool:
        """Whether a block's sum is normalised to internal_bits (step 4): not where an f16 result
        is rounded from the aligned sum itself and this block's result goes straight to an f16
        rounding (every block with inter='acc'; the last one unless C is fused after it)."""
        if self.acc != "f16" or self.out_from != "aligned":
            return True
        to_f16 = (self.inter == "acc" and not last) or (last and self.c_join != "last")
        return not to_f16

    # ---- internals ---------------------------------------------------------------------------
    def _internal_format(self):
        return FORMATS["f32"] if self.internal_bits == 24 else _internal(self.internal_bits)

    def _to_f16(self, run: np.ndarray) -> np.ndarray:
        """The f16 rounding of a result (out_rounding); zero_sign='plus': a nonzero value that
        rounds to zero gives +0 whatever its sign."""
        out = round_to(run, FORMATS["f16"], self.out_rounding, self.subnormals, self.overflow)
        if self.zero_sign == "plus":
            out = np.where((out == 0) & (run != 0), 0.0, out)
        return out

    def _fused(self, terms: np.ndarray, texp: np.ndarray, internal,
               normalise: bool = True) -> np.ndarray:
        """One fused addition of the rows of `terms` (exact values, exponents `texp`);
        normalise=False: the exact aligned sum, not rounded to the internal width."""
        infinite = ~np.isfinite(terms)
        if infinite.any():  # an accumulator that overflowed earlier: IEEE inf arithmetic
            with np.errstate(invalid="ignore"):
                special = np.where(infinite, terms, 0.0).sum(axis=1)
            terms = np.where(infinite, 0.0, terms)
        else:
            special = None
        nz = terms != 0
        emax = np.where(nz, texp, np.iinfo(np.int64).min // 2).max(axis=1)
        emax = np.where(nz.any(axis=1), emax, 0)
        lsb = emax - (self.internal_bits - 1) - self.extra_bits
        scaled = np.ldexp(terms, -lsb[:, None])
        kept = np.trunc(scaled) if self.align == "rz" else np.floor(scaled)
        total = kept.sum(axis=1)                             # integers < 2^53: exact
        value = np.ldexp(total, lsb)
        zero = value == 0
        if zero.any():   # IEEE sign of an exact zero: -0 only if every term is -0
            allneg0 = np.all(~nz & np.signbit(terms), axis=1)
            value = np.where(zero, np.where(allneg0, -0.0, 0.0), value)
        if normalise:
            value = round_to(value, internal, self.rounding, self.subnormals, self.overflow)
        if special is not None:
            value = np.where(infinite.any(axis=1), special, value)
        return value

    def _ieee_add(self, run: np.ndarray, c: np.ndarray, acc) -> np.ndarray:
        """RN(run + c) in the accumulator format, `run` first rounded to it (f16: out_rounding).
        f32: numpy float32 addition is IEEE correctly rounded; f16: the float64 sum of two f16
        values is exact, then one rounding."""
        if self.acc == "f16":
            run = self._to_f16(run)
            with np.errstate(invalid="ignore"):
                total = run + c
            fin = np.isfinite(total)
            out = round_to(np.where(fin, total, 0.0), acc, "rn", self.subnormals, self.overflow)
            return np.where(fin, out, total)
        with np.errstate(invalid="ignore", over="ignore"):
            out = (run.astype(np.float32) + c.astype(np.float32)).astype(np.float64)
        if not self.subnormals:
            out = np.where(np.abs(out) < acc.min_normal, np.copysign(0.0, out), out)
        return out

    def _specials(self, a, b, c) -> np.ndarray:
        """NaN / +-inf where IEEE makes the result special, else 0 (finite)."""
        prod_nan = (np.isinf(a) & (b == 0)) | (np.isinf(b) & (a == 0)) | np.isnan(a) | np.isnan(b)
        with np.errstate(invalid="ignore"):
            p = a * b
        pinf = np.isinf(p) & ~prod_nan
        pos = (pinf & (p > 0)).any(axis=1) | (np.isinf(c) & (c > 0))
        neg = (pinf & (p < 0)).any(axis=1) | (np.isinf(c) & (c < 0))
        nan = prod_nan.any(axis=1) | np.isnan(c) | (pos & neg)
        out = np.zeros(c.shape)
        out = np.where(pos, np.inf, out)
        out = np.where(neg, -np.inf, out)
        return np.where(nan, np.nan, out)


def _internal(bits: int):
    from mmabench.arith.formats import Format
    return Format(f"internal{bits}", 32, bits, -126, 127)


def ieee_dot(a, b, c, acc: str) -> np.ndarray:
    """IEEE round-to-nearest reference: c + sum a_i b_i with every product and partial sum
    rounded to `acc` (recursive summation in index order), over the last axis.

    f32: numpy float32 arithmetic (each op correctly rounded); f16: the float64 sum of two f16
    values is exact (their exponents span < 53 bits), then one correct rounding to f16."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if acc == "f32":
        s = np.asarray(c, dtype=np.float32).copy()
        a32, b32 = a.astype(np.float32), b.astype(np.float32)
        for i in range(a.shape[-1]):
            s = s + a32[..., i] * b32[..., i]
        return s.astype(np.float64)
    if acc == "f16":
        s = np.asarray(c, dtype=np.float64).astype(np.float16)
        prods = (a * b).astype(np.float16).astype(np.float64)   # exact products, one rounding
        for i in range(a.shape[-1]):
            s = (s.astype(np.float64) + prods[..., i]).astype(np.float16)
        return s.astype(np.float64)
    f = FORMATS[acc]
    s = np.asarray(c, dtype=np.float64).copy()
    for i in range(a.shape[-1]):
        s = round_to(s + round_to(a[..., i] * b[..., i], f, "rn"), f, "rn")
    return s
