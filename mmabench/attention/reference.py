"""Attention in float64 (the reference) and the error metrics against it.

Works on NumPy arrays (CPU, for the tests) and CuPy arrays (GPU, for the benchmark): the array
module is taken from the input. Rows are processed in blocks, so N = 16k needs no N x N buffer.
"""

from __future__ import annotations

import math


def _xp(a):
    try:
        import cupy
        return cupy.get_array_module(a)
    except Exception:
        import numpy
        return numpy


def default_scale(dim: int) -> float:
    """PyTorch's default softmax scale, 1 / sqrt(d)."""
    return 1.0 / math.sqrt(dim)


def attention_f64(q, k, v, causal: bool = False, scale: float | None = None, rows: int = 1024):
    """softmax(scale * Q K^T [+ causal mask]) V in float64; q, k, v: [..., N, d] (any float type).

    Causal masking is top-left aligned (key j visible to query i iff j <= i), PyTorch's is_causal
    for equal lengths.
    """
    xp = _xp(q)
    q, k, v = (xp.asarray(x, dtype=xp.float64) for x in (q, k, v))
    n, d = q.shape[-2], q.shape[-1]
    scale = default_scale(d) if scale is None else scale
    out = xp.empty(q.shape[:-1] + (v.shape[-1],), dtype=xp.float64)
    kt = xp.swapaxes(k, -1, -2)
    for r0 in range(0, n, rows):
        r1 = min(n, r0 + rows)
        s = (q[..., r0:r1, :] @ kt) * scale
        if causal:
            i = xp.arange(r0, r1)[:, None]
            j = xp.arange(k.shape[-2])[None, :]
            s = xp.where(j <= i, s, -xp.inf)
        s = s - s.max(axis=-1, keepdims=True)
        p = xp.exp(s)
        out[..., r0:r1, :] = (p @ v) / p.sum(axis=-1, keepdims=True)
    return out


def attention_naive(q, k, v, causal: bool = False, scale: float | None = None):
    """The same, one query row at a time with explicit loops over keys (slow; for tests)."""
    import numpy as np

    q, k, v = (np.asarray(x, dtype=np.float64) for x in (q, k, v))
    lead, (n, d) = q.shape[:-2], q.shape[-2:]
    scale = default_scale(d) if scale is None else scale
    out = np.zeros(q.shape[:-1] + (v.shape[-1],))
    for idx in np.ndindex(*lead):
        for i in range(n):
            keys = range(i + 1) if causal else range(k.shape[-2])
            logits = [scale * float(np.dot(q[idx + (i,)], k[idx + (j,)])) for j in keys]
            m = max(logits)
            w = [math.exp(x - m) for x in logits]
            total = sum(w)
            out[idx + (i,)] = sum(wj * v[idx + (j,)] for wj, j in zip(w, keys)) / total
    return out


def error_metrics(out, ref) -> dict:
    """max abs error, relative L2 error and the count of inf/NaN entries of `out` vs `ref`.

    An entry that is inf/NaN where the reference is not (or a different inf) is infinitely
    wrong: it makes both errors inf, so an output that overflowed can never read as accurate.
    """
    xp = _xp(ref)
    out = xp.asarray(out, dtype=xp.float64)
    ref = xp.asarray(ref, dtype=xp.float64)
    finite = xp.isfinite(out)
    bad = int(out.size - int(finite.sum()))
    both = finite & xp.isfinite(ref)
    diff = xp.abs(xp.where(both, out, 0.0) - xp.where(both, ref, 0.0))
    if bad or not bool(both.all()):
        same = (out == ref) | both                        # an inf the reference has too is right
        diff = xp.where(same, diff, xp.inf)
    norm = float(xp.sqrt((xp.where(xp.isfinite(ref), ref, 0.0) ** 2).sum()))
    l2 = float(xp.sqrt((diff * diff).sum()))
    return {
        "max_abs_err": float(diff.max()) if out.size else 0.0,
        "rel_l2_err": l2 / norm if norm > 0 else (0.0 if l2 == 0 else float("inf")),
        "nonfinite": bad,
    }


U16 = 2.0 ** -11        # unit roundoff of fp16
U32 = 2.0 ** -24        # unit roundoff of fp32
EX2_REL = 2.0 ** -22    # ex2.approx.f32: max relative error (PTX ISA)
F16_SUB_HALF_ULP = 2.0 ** -25   # rounding error of an fp16 subnormal (spacing 2^-24)


def f64_bound(q, k, v, causal: bool = False, scale: float | None = None, *, ref=None,
              s_unit: float = U32, o_unit: float = U32, rows: int = 1024):
    """Per-entry bound on |O_kernel - O_ref| built from the float64 reference alone (no PyTorch).

    Model: a FlashAttention-style kernel on fp16 Q, K, V (the reference sees the same fp16
    values) that computes S = Q K^T with accumulator unit roundoff `s_unit`, p = exp(S*scale - m)
    in f32 with ex2.approx, rounds p to fp16 for P V, sums P V with accumulator unit roundoff
    `o_unit` (and the row sum l, and the per-tile rescaling), and writes O in fp16. With
    A = softmax(scale Q K^T) (rows sum to 1), u = 2^-11, n_i the keys row i sees:

      output rounding      u |O_ic|
      p rounded to fp16    p_j (1 + d_j), |d_j| <= u for normal p, |p_j d_j| <= 2^-25 for
                           subnormal p (< 2^-14): <= u (A|V|)_ic + 2^-25 sum_j |V_jc| / l_i,
                           l_i = sum_j exp(s_ij - max_j s_ij) >= 1
      logit error e_i      a change e_j in a logit scales p_j by exp(e_j); the normalized
                           O moves by <= (exp(2e) - 1) (A|V|)_ic ~ 2 e_i (A|V|)_ic, with
                           e_i = (d s_unit + 3 * 2^-24) scale |q_i|_2 max_j |k_j|_2 + 2^-22
                           (Q K^T accumulation over d products, the f32 exponent arithmetic,
                           ex2.approx's relative error; |q.k| <= |q|_2 |k|_2)
      accumulation         3 n_i o_unit (A|V|)_ic: the P V sum, the row sum and the per-tile
                           rescaling, each a sum of n_i terms (worst-case linear growth)

      bound_ic = u |O_ic| + (u + 2 e_i + 3 n_i o_unit) (A|V|)_ic + 2^-25 sum_j |V_jc| / l_i

    First order in the unit roundoffs; worst case, not statistical: a correct kernel stays
    well inside it (random rounding errors grow as sqrt(n), not n). For f32 accumulators the
    u terms dominate (about 2u max|V| at d = 128, N = 4096); with f16 accumulators pass
    s_unit / o_unit = 2^-11, and the bound grows linearly with d and N (loose, still a bound).
    q, k, v: [..., N, d] arrays (NumPy or CuPy), `ref` the float64 output if already computed.
    Compare with `bound_ratio(out, ref, bound)` (<= 1: inside), or use bound.max() as a
    scalar max-abs tolerance.
    """
    xp = _xp(q)
    q, k, v = (xp.asarray(x, dtype=xp.float64) for x in (q, k, v))
    n, d = q.shape[-2], q.shape[-1]
    scale = default_scale(d) if scale is None else scale
    if ref is None:
        ref = attention_f64(q, k, v, causal, scale, rows)
    ref = xp.asarray(ref, dtype=xp.float64)
    av = xp.abs(v)
    qn = xp.sqrt((q * q).sum(axis=-1))                       # [..., N]
    kn = xp.sqrt((k * k).sum(axis=-1)).max(axis=-1, keepdims=True)
    e = (d * s_unit + 3 * U32) * scale * qn * kn + EX2_REL   # [..., N]
    out = xp.empty(ref.shape, dtype=xp.float64)
    kt = xp.swapaxes(k, -1, -2)
    for r0 in range(0, n, rows):
        r1 = min(n, r0 + rows)
        s = (q[..., r0:r1, :] @ kt) * scale
        seen = xp.ones((r1 - r0, k.shape[-2]), dtype=bool)
        if causal:
            seen = xp.arange(k.shape[-2])[None, :] <= xp.arange(r0, r1)[:, None]
            s = xp.where(seen, s, -xp.inf)
        p = xp.exp(s - s.max(axis=-1, keepdims=True))
        l = p.sum(axis=-1, keepdims=True)
        a_absv = (p @ av) / l
        sub = (seen.astype(xp.float64) @ av) / l
        keys = seen.sum(axis=-1).astype(xp.float64)[:, None]
        rel = U16 + 2 * e[..., r0:r1, None] + 3 * keys * o_unit
        out[..., r0:r1, :] = (U16 * xp.abs(ref[..., r0:r1, :]) + rel * a_absv
                              + F16_SUB_HALF_ULP * sub)
    return out


def bound_ratio(out, ref, bound) -> float:
    """max |out - ref| / bound over all entries (<= 1: inside the bound); inf where out is
    inf/NaN and the reference is not."""
    xp = _xp(ref)
    out = xp.asarray(out, dtype=xp.float64)
    ref = xp.asarray(ref, dtype=xp.float64)
    both = xp.isfinite(out) & xp.isfinite(ref)
    err = xp.abs(xp.where(both, out, 0.0) - xp.where(both, ref, 0.0))
    err = xp.where(both | (out == ref), err, xp.inf)
    if out.size == 0:
        return 0.0
    with np_errstate():
        ratio = xp.where(err == 0, 0.0, err / xp.asarray(bound, dtype=xp.float64))
    return float(ratio.max())


def np_errstate():
    import numpy
    return numpy.errstate(divide="ignore", invalid="ignore")
