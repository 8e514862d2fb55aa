"""The fused attention kernel (kernels/attention.cu) with f16 or f32 accumulators.

Public entry points:
  attention(q, k, v, causal=False, scale=None, acc_s=, acc_o=, norm=, variant=)  run the kernel
  registry.kernel_specs()            registry entries (the register report reads them)
  variants.all_variants(), variants.variant(dim, acc_s, acc_o, norm)
  bench.run(variants, cases)         benchmark vs PyTorch SDPA (python -m mmabench attention)
  numerics.run(dim)                  scale x N sweep (python -m mmabench attention --numerics)
"""

from mmabench.attention.launch import attention  # noqa: F401
