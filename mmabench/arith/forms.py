"""The forms whose arithmetic is studied: every mma.sync form of the catalogue, plus the bf16
m16n8k8 form (PTX ISA 7.0, sm_80) that the timing catalogue does not run. FP8 (m16n8k32) and
wgmma forms join through `extra_forms` once their catalogues and probes exist."""

from __future__ import annotations

from ..errors import UserError
from ..mma.catalogue import FORMS as MMA_FORMS, MmaForm

BF16_K8 = MmaForm("m16n8k8", "bf16", "f32", "7.0", 80, 2, 1, 4, "HMMA.1688.F32.BF16")


def extra_forms() -> list:
    """Forms from catalogues that may not exist yet (FP8 mma.sync, wgmma); none is required."""
    out = []
    try:  # pragma: no cover - depends on other branches
        from ..wgmma import catalogue as wg  # noqa: F401
    except Exception:
        pass
    return out


def all_forms() -> list[MmaForm]:
    forms = list(MMA_FORMS)
    if not any(f.name == BF16_K8.name for f in forms):
        forms.append(BF16_K8)
    # only forms whose A/B type the model knows (FP8 needs its fragment packer first)
    return [f for f in forms + extra_forms() if f.ab_type in ("f16", "bf16")]


def by_names(text: str | None) -> list[MmaForm]:
    forms = all_forms()
    if not text:
        return forms
    names = [t.strip() for t in text.split(",") if t.strip()]
    chosen = []
    for name in names:
        match = [f for f in forms if f.name == name or name in f.name]
        if not match:
            raise UserError(f"unknown form {name!r}; accepted: {', '.join(f.name for f in forms)}")
        chosen += [f for f in match if f not in chosen]
    return chosen
