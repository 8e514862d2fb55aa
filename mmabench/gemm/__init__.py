"""The GEMM-level bridge: a minimal wgmma GEMM (f16 vs f32 accumulation, smem-resident and
pipelined) timed beside cuBLAS (fp16 vs fp32 compute) and Triton (tl.dot out_dtype f16 vs f32)."""
