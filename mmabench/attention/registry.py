"""Registry family `attention`: every variant as a KernelSpec, each f16-accumulate one with an
f32/f32 twin at the same tiles, so `regs --family attention --diff acc` shows what the
accumulators cost in registers (a twin that is no tuned variant is built for --diff acc only)."""

from __future__ import annotations

from mmabench.attention.build import ptx_for
from mmabench.attention.variants import (Variant, all_hopper_variants, all_variants, hopper_variant,
                                         twin_of, variant)
from mmabench.compiler.registry import KernelSpec

# The few variants the default register report (`python -m mmabench regs`, kept quick) shows;
# the rest are tagged report_default=False and appear with `regs --family attention` or --all.
REPORT_DEFAULT = {(128, "f32", "f32", "delayed"), (128, "f32", "f16", "delayed"),
                  (128, "f16q", "f16", "delayed")}


def _spec(v: Variant, twin: str | None, role: str, default: bool) -> KernelSpec:
    return KernelSpec(
        name=v.name, family="attention", entry=v.entry,
        ptx=lambda arch, v=v: ptx_for(v, arch), threads_per_block=v.tiles.threads,
        dynamic_smem_bytes=v.tiles.smem_bytes(v.dim), acc=v.acc_label, twin=twin,
        # the Hopper kernel: sm_90a only (wgmma, TMA, setmaxnreg)
        **({"min_sm": 90, "arch_suffix_needed": "a"} if v.kernel == "hopper" else {"min_sm": 80}),
        tags={"dim": v.dim, "acc_s": v.acc_s, "acc_o": v.acc_o, "norm": v.norm, "kernel": v.kernel,
              "tiles": v.tiles.label, "role": role, "report_default": default,
              # an f32 twin at another variant's tiles runs in no benchmark: --diff acc builds it
              "diff_only": role == "twin"})


def kernel_specs() -> list[KernelSpec]:
    """Registry entries: every variant, plus an f32/f32 twin at its tiles where the tuned f32/f32
    variant uses other tiles (so the register report can diff accumulators at equal tiles)."""
    specs, seen = [], set()
    for v in all_variants() + all_hopper_variants():
        tw = None if v.is_reference_acc else twin_of(v)
        default = (v.dim, v.acc_s, v.acc_o, v.norm) in REPORT_DEFAULT and v.kernel == "fa2"
        if v.name not in seen:
            specs.append(_spec(v, tw.name if tw else None, "variant", default))
            seen.add(v.name)
        if tw is not None and tw.name not in seen:
            reference = hopper_variant if v.kernel == "hopper" else variant
            tuned_ref = reference(v.dim, "f32", "f32", v.norm)
            if tuned_ref.name != tw.name:
                specs.append(_spec(tw, None, "twin", default))
                seen.add(tw.name)
    return specs
