"""Checking one attention output: fresh inputs, the float64 reference, the tolerance, the check.

The benchmark, the numerics sweep, the tuner and the self-check all validate through here:
  * `random_inputs` draws q, k, v on the GPU (fp16, fresh per case);
  * `Reference` computes float64 attention and PyTorch's fp16 yardstick on a sample of heads;
  * `tolerance` is FlashAttention's rule (2 x PyTorch fp16's max error + 1e-4) for f32/f32 and
    PyTorch's kernels, and the documented bound below for variants with an f16 accumulator;
    without PyTorch (or when its fp16 yardstick itself overflows) the bound comes from the
    float64 reference alone (reference.f64_bound), and the row says which rule applied;
  * `check_variant` poisons the output (NaN), launches once and compares.
"""

from __future__ import annotations

import numpy as np

from mmabench.attention import torch_ref, variants
from mmabench.attention.reference import U32, attention_f64, error_metrics, f64_bound

U16 = 2.0 ** -11      # unit roundoff of an fp16 accumulator

F16_POISON = 0x7E00   # NaN in fp16: an unwritten output cannot pass
# Documented accuracy bound of the variants with an f16 accumulator (inputs of standard scale,
# N(0, 1)): finite, and max abs error <= F16_FACTOR x PyTorch fp16's + F16_ABS, where F16_ABS is
# two fp16 units in the last place at |O| ~ 4 (about max|V| for N(0, 1) values): an f16
# accumulator rounds the running O, whose error does not shrink with N as PyTorch's does.
# The f32/f32 variants meet FlashAttention's own rule, 2 x PyTorch fp16's + 1e-4.
F16_FACTOR = 8.0
F16_ABS = 4e-3


def tolerance(v: variants.Variant | None, yard_max_abs: float) -> float:
    """Max abs error allowed: FlashAttention's rule for f32/f32 (and for PyTorch's kernels),
    the documented f16 bound for the rest."""
    if v is None or v.is_reference_acc:
        return 2.0 * yard_max_abs + 1e-4
    return F16_FACTOR * yard_max_abs + F16_ABS


def random_inputs(shape, rng: np.random.Generator, qk_scale: float = 1.0,
                  v_scale: float = 1.0, v_mean: float = 0.0):
    """q, k, v ~ N(0, qk_scale^2), N(0, qk_scale^2), N(v_mean, 1) * v_scale, as fp16 on the GPU."""
    import cupy

    seed = int(rng.integers(2**63))
    crng = cupy.random.default_rng(seed)
    dims = (shape.batch, shape.heads, shape.seq, shape.dim)

    def normal(scale, mean=0.0):
        x = crng.standard_normal(dims, dtype=cupy.float32)
        if mean:
            x += mean
        if scale != 1.0:
            x *= scale
        return x.astype(cupy.float16)

    return normal(qk_scale), normal(qk_scale), normal(v_scale, v_mean)


class Reference:
    """float64 reference and PyTorch fp16 yardstick on a sample of (batch, head) slices."""

    def __init__(self, q, k, v, causal: bool, scale: float, sample: int, rng: np.random.Generator):
        b, h, n, d = q.shape
        bh = b * h
        self.idx = np.sort(rng.choice(bh, size=min(sample, bh), replace=False))
        flat = lambda x: x.reshape(bh, n, d)[self.idx]
        self.ref = attention_f64(flat(q), flat(k), flat(v), causal, scale)
        self.flat = flat
        self._sample = (flat(q), flat(k), flat(v))
        self._causal, self._scale = causal, scale
        self._bounds: dict = {}
        self.yard = self.yard_bf16 = None
        torch = torch_ref.torch_module()
        if torch is not None:
            tq, tk, tv = (torch_ref.to_torch(flat(x)) for x in (q, k, v))
            y = torch_ref.fp16_attention(tq, tk, tv, causal, scale)
            import cupy
            self.yard = error_metrics(cupy.asarray(y), self.ref)
            yb = torch_ref.bf16_attention(tq, tk, tv, causal, scale).to(torch.float16)
            self.yard_bf16 = error_metrics(cupy.asarray(yb), self.ref)

    def metrics(self, out) -> dict:
        return error_metrics(self.flat(out), self.ref)

    @property
    def yard_max_abs(self) -> float:
        return self.yard["max_abs_err"] if self.yard else float("nan")

    def f64_bound(self, s_unit: float, o_unit: float) -> float:
        """Max of the float64-model error bound over the sampled heads (cached per units)."""
        key = (s_unit, o_unit)
        if key not in self._bounds:
            q, k, v = self._sample
            self._bounds[key] = float(f64_bound(q, k, v, self._causal, self._scale, ref=self.ref,
                                                s_unit=s_unit, o_unit=o_unit).max())
        return self._bounds[key]

    def tolerance(self, v: variants.Variant | None) -> tuple[float, str]:
        """(max abs error allowed, the rule that gave it)."""
        yard = self.yard_max_abs
        if np.isfinite(yard) and yard > 0:
            return tolerance(v, yard), "PyTorch fp16 yardstick"
        s_unit = U32 if v is None or v.acc_s == "f32" else U16
        o_unit = U32 if v is None or v.acc_o == "f32" else U16
        why = "no PyTorch" if self.yard is None else "PyTorch fp16 yardstick not finite"
        return self.f64_bound(s_unit, o_unit), f"float64 model bound ({why})"


def check_variant(launcher, ref: Reference, v: variants.Variant | None,
                  enforce: bool = True) -> tuple[dict, str | None]:
    """Poison, launch once, compare; returns (metrics, error or None). Non-finite output is always
    an error; the error bound only when `enforce`."""
    import cupy

    out = launcher.out
    out.view(cupy.uint16).fill(F16_POISON)
    launcher()
    cupy.cuda.get_current_stream().synchronize()
    m = ref.metrics(out)
    whole_bad = int((~cupy.isfinite(out)).sum())
    m["nonfinite_all"] = whole_bad
    tol, rule = ref.tolerance(v)
    m["tolerance"], m["tolerance_rule"] = tol, rule
    m["err_vs_yardstick"] = m["max_abs_err"] / ref.yard_max_abs if ref.yard_max_abs > 0 else float("nan")
    if ref.yard_bf16:   # the rule an f16 accumulator is held to: no worse than 2 x bf16 attention
        m["bf16_yard_max_abs_err"] = ref.yard_bf16["max_abs_err"]
        m["passes_bf16_rule"] = bool(m["max_abs_err"] <= 2 * ref.yard_bf16["max_abs_err"])
    if whole_bad:
        return m, f"{whole_bad} outputs inf/NaN"
    if enforce and not np.isnan(tol) and m["max_abs_err"] > tol:
        return m, f"max abs error {m['max_abs_err']:.3g} > tolerance {tol:.3g}"
    return m, None
