"""Registry family `attention`: every variant as a KernelSpec, each f16-accumulate one with an
f32/f32 twin at the same tiles, so `regs --family attention --diff acc` shows what the
accumulators cost in registers."""

from __future__ import annotations

from mmabench.attention.build import ptx_for
from mmabench.attention.variants import Variant, all_variants, twin_of, variant
from mmabench.compiler.registry import KernelSpec

# The few variants the default register report (`python -m mmabench regs`, kept quick) shows;
# the rest are tagged report_default=False and appear with `regs --family attention` or --all.
REPORT_DEFAULT = {(128, "f32", "f32", "delayed"), (128, "f32", "f16", "delayed"),
                  (128, "f16q", "f16", "delayed")}


def _spec(v: Variant, twin: str | None, role: str, default: bool) -> KernelSpec:
    return KernelSpec(
        name=v.name, family="attention", entry=v.entry,
        ptx=lambda arch, v=v: ptx_for(v, arch), threads_per_block=v.tiles.threads,
        dynamic_smem_bytes=v.tiles.smem_bytes(v.dim), min_sm=80, acc=v.acc_label,
        twin=twin, tags={"dim": v.dim, "acc_s": v.acc_s, "acc_o": v.acc_o, "norm": v.norm,
                         "tiles": v.tiles.label, "role": role, "report_default": default})


def kernel_specs() -> list[KernelSpec]:
    """Registry entries: every variant, plus an f32/f32 twin at its tiles where the tuned f32/f32
    variant uses other tiles (so the register report can diff accumulators at equal tiles)."""
    specs, seen = [], set()
    for v in all_variants():
        tw = None if v.is_reference_acc else twin_of(v)
        default = (v.dim, v.acc_s, v.acc_o, v.norm) in REPORT_DEFAULT
        if v.name not in seen:
            specs.append(_spec(v, tw.name if tw else None, "variant", default))
            seen.add(v.name)
        if tw is not None and tw.name not in seen:
            tuned_ref = variant(v.dim, "f32", "f32", v.norm)
            if tuned_ref.name != tw.name:
                specs.append(_spec(tw, None, "twin", default))
                seen.add(tw.name)
    return specs
