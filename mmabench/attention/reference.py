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
    """max abs error, relative L2 error (finite entries), count of inf/NaN in `out`."""
    xp = _xp(ref)
    out = xp.asarray(out, dtype=xp.float64)
    finite = xp.isfinite(out)
    bad = int(out.size - int(finite.sum()))
    diff = xp.where(finite, out - ref, 0.0)
    norm = float(xp.sqrt((ref * ref).sum()))
    return {
        "max_abs_err": float(xp.abs(diff).max()) if out.size else 0.0,
        "rel_l2_err": float(xp.sqrt((diff * diff).sum())) / norm if norm > 0 else float("nan"),
        "nonfinite": bad,
    }
