"""cuBLAS on the same tensors, two ways:

* PyTorch's matmul (cuBLASLt, fp32 compute for fp16 inputs), with
  torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction off and on. That flag only
  lets split-K reductions run in fp16; the main loop still accumulates in fp32.
* cublasGemmEx through CuPy with CUBLAS_COMPUTE_16F (fp16 accumulation: the "fp16-compute
  path") vs CUBLAS_COMPUTE_32F.

Row-major C[M,N] = A[M,K] . B[N,K]^T is, column-major, C^T = B . A^T: gemmEx(op T, op N,
m=N, n=M, k=K, B (ld K), A (ld K), C (ld N)), cuBLAS's "TN" case.
"""

from __future__ import annotations

import numpy as np

CUDA_R_16F = 2
COMPUTE = {"f16": 64, "f32": 68}          # CUBLAS_COMPUTE_16F, CUBLAS_COMPUTE_32F
OP_N, OP_T = 0, 1
GEMM_DEFAULT = -1


def torch_unavailable() -> str | None:
    try:
        import torch
    except Exception as exc:
        return f"torch not importable ({type(exc).__name__})"
    return None if torch.cuda.is_available() else "torch sees no CUDA GPU"


def torch_matmul(a, b, c, reduced_precision_reduction: bool):
    """A launch closure: c = a @ b.T with the fp16 reduced-precision-reduction flag set for it."""
    import torch

    flags = torch.backends.cuda.matmul

    def launch():
        old = flags.allow_fp16_reduced_precision_reduction
        flags.allow_fp16_reduced_precision_reduction = reduced_precision_reduction
        try:
            torch.matmul(a, b.t(), out=c)
        finally:
            flags.allow_fp16_reduced_precision_reduction = old
    return launch


def gemm_ex(a, b, c, compute: str):
    """A launch closure calling cublasGemmEx on CuPy arrays (fp16 A, B, C) with `compute`."""
    import cupy
    from cupy_backends.cuda.libs import cublas

    m, k = a.shape
    n = b.shape[0]
    handle = cupy.cuda.device.get_cublas_handle()
    scalar = np.float16 if compute == "f16" else np.float32
    alpha, beta = np.array(1, dtype=scalar), np.array(0, dtype=scalar)
    ctype = COMPUTE[compute]

    def launch():
        cublas.setPointerMode(handle, 0)      # CUBLAS_POINTER_MODE_HOST: alpha/beta on the host
        cublas.gemmEx(handle, OP_T, OP_N, n, m, k, alpha.ctypes.data, b.data.ptr, CUDA_R_16F, k,
                      a.data.ptr, CUDA_R_16F, k, beta.ctypes.data, c.data.ptr, CUDA_R_16F, n,
                      ctype, GEMM_DEFAULT)
    return launch


def kernel_names(launches: dict[str, object]) -> dict[str, str]:
    """The GPU kernels each launch runs, from torch.profiler (CUPTI sees CuPy's cuBLAS calls too).
    Empty strings where the profiler is not available."""
    try:
        import torch
        from torch.profiler import ProfilerActivity, profile
    except Exception:
        return {name: "" for name in launches}
    out = {}
    for name, launch in launches.items():
        try:
            torch.cuda.synchronize()
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                launch()
                torch.cuda.synchronize()
            names = [e.name for e in prof.events() if getattr(e, "device_type", None) is not None
                     and str(e.device_type).endswith("CUDA")]
            out[name] = "; ".join(dict.fromkeys(names))
        except Exception as exc:  # profiler busy or unsupported: say so, do not fail the run
            out[name] = f"(profiler: {type(exc).__name__})"
    return out


def fp8_operands(a, b):
    """a, b (torch fp16) rounded to e4m3 (torch.float8_e4m3fn), and the same values back in fp16
    (exact: every e4m3 value is an fp16 value) for the float64 reference."""
    import torch

    a8, b8 = a.to(torch.float8_e4m3fn), b.to(torch.float8_e4m3fn)
    return a8, b8, a8.to(torch.float16), b8.to(torch.float16)


def scaled_mm_fp8(a8, b8, c, fast_accum: bool):
    """A launch closure: c = a8 . b8^T through torch._scaled_mm (cuBLASLt's FP8 GEMM, scales 1,
    fp16 out). b8 is [N, K] row-major, so b8.t() is the column-major [K, N] that cuBLASLt's FP8
    path wants: no transpose is timed. `fast_accum` off (PyTorch's default): cuBLASLt promotes the
    FP8 tensor-core partial sums into f32 registers; on: it keeps the tensor core's own
    accumulator (14 bits per instruction, arith's FP8 model) over all of K."""
    import torch

    one = torch.ones((), device=a8.device, dtype=torch.float32)

    def launch():
        torch._scaled_mm(a8, b8.t(), scale_a=one, scale_b=one, out_dtype=torch.float16,
                         use_fast_accum=fast_accum, out=c)
    return launch
