"""PyTorch on the same tensors: the fp16 yardstick for accuracy and the SDPA back ends for speed."""

from __future__ import annotations

BACKENDS = ("FLASH_ATTENTION", "CUDNN_ATTENTION", "EFFICIENT_ATTENTION")


def torch_module():
    try:
        import torch
        return torch
    except Exception:
        return None


def to_torch(x):
    import torch
    return torch.as_tensor(x, device="cuda")


def bf16_attention(q, k, v, causal: bool, scale: float, rows: int = 4096):
    """The same steps with the inputs rounded to bf16 and every step in bf16 (PyTorch's math
    attention in the precision training accepts): the yardstick an f16-accumulator variant is
    judged by (max error <= 2 x this one's against the same float64 reference)."""
    import torch

    return fp16_attention(*(x.to(torch.bfloat16) for x in (q, k, v)), causal, scale, rows)


def fp16_attention(q, k, v, causal: bool, scale: float, rows: int = 4096):
    """softmax(Q K^T * scale) V with every step in fp16 by PyTorch, as FlashAttention's tests build
    their yardstick (attention_ref(..., upcast=False)): Q is scaled in fp16, Q K^T and P V are
    fp16 matmuls (cuBLAS, fp16 output), softmax returns fp16. Row blocks give the same result as
    one big call (every step is row-wise) without an N x N buffer for long N."""
    import torch

    out = torch.empty_like(q)
    n = q.shape[-2]
    qs = q * scale
    kt = k.transpose(-1, -2)
    for r0 in range(0, n, rows):
        r1 = min(n, r0 + rows)
        s = qs[..., r0:r1, :] @ kt
        if causal:
            i = torch.arange(r0, r1, device=q.device)[:, None]
            j = torch.arange(k.shape[-2], device=q.device)[None, :]
            s = s.masked_fill(j > i, float("-inf"))
        out[..., r0:r1, :] = torch.softmax(s, dim=-1) @ v
    return out


def sdpa_backend(name: str):
    from torch.nn.attention import SDPBackend
    return getattr(SDPBackend, name, None)


def sdpa(q, k, v, causal: bool, scale: float, backend: str):
    """One call of F.scaled_dot_product_attention restricted to `backend`."""
    import torch.nn.functional as F
    from torch.nn.attention import sdpa_kernel

    with sdpa_kernel(sdpa_backend(backend)):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale)
