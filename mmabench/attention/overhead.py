"""Host time per call of the public `attention()` against PyTorch's SDPA, on a tiny shape.

The GPU work of a tiny shape takes less time than the host needs to issue it, so a loop of
calls with no synchronisation measures the host cost per call: checks, lookups, allocation of
the output and the launch itself. Median over several loops of `calls` calls each.
`python -m mmabench attention --overhead` runs it and writes a row per contender.
"""

from __future__ import annotations

from mmabench.measure.host import host_us_per_call

SHAPE = (1, 2, 64, 64)      # batch, heads, seq, dim: microseconds of GPU work


def contenders(shape=SHAPE) -> dict:
    """name -> zero-argument callable: attention() on torch and CuPy inputs, SDPA."""
    import cupy

    from mmabench.attention.launch import attention

    out = {}
    cq, ck, cv = (cupy.random.standard_normal(shape, dtype=cupy.float32).astype(cupy.float16)
                  for _ in range(3))
    out["mmabench attention() on CuPy arrays"] = lambda: attention(cq, ck, cv)
    try:
        import torch
        import torch.nn.functional as F
    except Exception:
        return out
    tq, tk, tv = (torch.randn(shape, device="cuda", dtype=torch.float16) for _ in range(3))
    out["mmabench attention() on torch tensors"] = lambda: attention(tq, tk, tv)
    out["torch SDPA (default back end)"] = lambda: F.scaled_dot_product_attention(tq, tk, tv)
    return out


def run(calls: int = 2000, loops: int = 7) -> list[dict]:
    import cupy

    sync = cupy.cuda.Device().synchronize
    rows = []
    for name, fn in contenders().items():
        med, lo, hi = host_us_per_call(fn, calls, loops, sync)
        rows.append({"bench": "host-overhead", "contender": name, "shape": "x".join(map(str, SHAPE)),
                     "host_us_per_call": med, "host_us_min": lo, "host_us_max": hi,
                     "calls": calls, "loops": loops, "status": "ok"})
    return rows
