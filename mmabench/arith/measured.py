"""The arithmetic that `python -m mmabench arith` measured on a GPU, as shipped result data.

A results folder of `arith` holds features.json (one bit-accurate Model per form, with the
features read from the designed cases). The shipped ones live under data/results/<gpu>/arith*/
(arith: f16/bf16 mma.sync; arith-fp8-mma; arith-wgmma) with the run's context.json;
`model(form, gpu_name)` finds the one measured on a GPU of that name, or None.
"""

from __future__ import annotations

import functools
import json

from mmabench.core import project_files
from mmabench.arith.model import Model

RESULTS = project_files.data("results")


@functools.lru_cache(maxsize=None)
def _measured() -> dict[str, dict]:
    """gpu_name -> {form name: features.json entry}, from every shipped arith folder."""
    out: dict[str, dict] = {}
    for features in sorted(RESULTS.glob("*/arith*/features.json")):
        try:
            ctx = json.loads((features.parent / "context.json").read_text())
            data = json.loads(features.read_text())
        except (OSError, ValueError):
            continue
        forms = {name: entry for name, entry in data.items() if "model" in entry}
        out.setdefault(ctx.get("gpu_name", ""), {}).update(forms)
    return out


def gpus() -> list[str]:
    return sorted(_measured())


def entry(form_name: str, gpu_name: str) -> dict | None:
    return _measured().get(gpu_name, {}).get(form_name)


def model(form_name: str, gpu_name: str) -> Model | None:
    e = entry(form_name, gpu_name)
    if not e:
        return None
    try:
        return Model(**e["model"])
    except TypeError:   # a features.json of an older Model: not usable as a model
        return None


def agreement(forms, gpu_name: str) -> list[dict]:
    """Every published feature of the GPU's chip beside the shipped measurement of each form:
    form, feature, measured, candidates (where the data left it open), published, applies (the
    published value as it applies to the form), source, status, agree (True / False; 'open': the
    measured data cannot tell the two apart; None: not measured)."""
    from mmabench.arith.published import applies, gpu_key, reported_for

    key = gpu_key(gpu_name)
    rows = []
    for form in forms:
        e = entry(form.name, gpu_name)
        feats = dict(e["model"], **e.get("features", {})) if e else {}
        if feats.get("internal_bits") is not None:
            feats.setdefault("result_bits", feats["internal_bits"])
        for r in reported_for(key, form):
            value = applies(r, form)
            got = feats.get(r.feature)
            candidates = (e or {}).get("ambiguous", {}).get(r.feature)
            if got is None:
                agree = None
            elif candidates and got != value and value in candidates:
                agree = "open"     # the data cannot tell the measured and the published apart
            else:
                agree = got == value
            rows.append({"form": form.name, "feature": r.feature,
                         "measured": got, "candidates": candidates,
                         "published": r.value, "applies": value,
                         "source": r.source, "status": r.status, "agree": agree})
    return rows
