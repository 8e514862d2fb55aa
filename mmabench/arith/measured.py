"""The arithmetic that `python -m mmabench arith` measured on a GPU, as shipped result data.

A results folder of `arith` holds features.json (one bit-accurate Model per form). The shipped
ones live under data/results/<gpu>/arith/ with the run's context.json; `model(form, gpu_name)`
finds the one measured on a GPU of that name, or None.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from .model import Model

RESULTS = Path(__file__).resolve().parent.parent.parent / "data" / "results"


@functools.lru_cache(maxsize=None)
def _measured() -> dict[str, dict]:
    """gpu_name -> {form name: model kwargs}, from every shipped arith folder."""
    out: dict[str, dict] = {}
    for features in sorted(RESULTS.glob("*/arith/features.json")):
        try:
            ctx = json.loads((features.parent / "context.json").read_text())
            data = json.loads(features.read_text())
        except (OSError, ValueError):
            continue
        forms = {name: entry["model"] for name, entry in data.items() if "model" in entry}
        out.setdefault(ctx.get("gpu_name", ""), {}).update(forms)
    return out


def model(form_name: str, gpu_name: str) -> Model | None:
    kwargs = _measured().get(gpu_name, {}).get(form_name)
    return Model(**kwargs) if kwargs else None
