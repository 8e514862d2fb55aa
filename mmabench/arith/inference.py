"""Features from the designed outputs: the reads (reads.py), then a fit of what they leave open.

Inference never assumes what the papers found: each feature is read from the outputs, and the
features the reads leave open are fitted by running the model with every candidate value on all
designed cases; candidates still tied are decided on random problems run on the same device (the
refinement step of Khattak & Mikaitis 2025), and what stays tied is reported as ambiguous.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from mmabench.arith.designed import Case, vectors
from mmabench.arith.formats import FP8, same
from mmabench.arith.model import Model
from mmabench.arith.reads import read_features
from mmabench.arith.validate import REGIMES, problems


@dataclass
class Findings:
    features: dict = field(default_factory=dict)       # name -> value (None: undetermined)
    evidence: dict = field(default_factory=dict)       # name -> one line saying how it was read
    ambiguous: dict = field(default_factory=dict)      # name -> values equally consistent
    model: Model | None = None
    designed_match: tuple[int, int] = (0, 0)           # (matching cases, cases) of the final model


REFINE_OUTPUTS = 2048    # random dot products per regime that decide a tie (16 mma.sync problems)
FIT_AXES = {"rounding": ("rz", "rn"), "c_join": ("first", "last"), "exponent": ("true", "raw"),
            "align": ("rz", "floor")}
FIT_AXES_F16 = {"out_rounding": ("rn", "rz"), "inter": ("internal", "acc"),
                "product_exact": (True, False), "out_from": ("internal", "aligned"),
                "zero_sign": ("ieee", "plus")}
FIT_FAMILIES = ("exact", "extra", "extra_raw", "extra_c", "block", "block_c", "round", "round_c",
                "inter", "width", "out_from", "zero_sign")
# FP8 forms: C may also be added by a separate IEEE addition (sm_90 lowers an FP8 mma.sync to
# two chained f16 HMMAs and an FADD/HADD2 with C, per its SASS; the designed cases decide), and
# the multiplier may see the FP8 values as they are or unpacked to f16 (where an e4m3 subnormal
# is normal: it matters to the raw exponent of the alignment)
FIT_AXES_FP8 = {"c_join": ("first", "last", "add"), "core_type": ("", "f16")}


def _model(base: dict, params: dict) -> Model:
    """The model of fitted parameters; narrow_result=True: the block's result keeps only the
    alignment's width (internal_bits = 24 + extra_bits, then no extra bits)."""
    params = dict(params)
    if params.pop("narrow_result", False):
        merged = dict(base, **params)
        merged["internal_bits"] = 24 + merged["extra_bits"]
        merged["extra_bits"] = 0
        return Model(**merged)
    return Model(**base, **params)


def _refine(form, base: dict, winners: list[dict], device, rng, ev: dict) -> list[dict]:
    """Candidates the designed cases cannot tell apart, decided on random problems (the
    refinement step of Khattak & Mikaitis): returns those that match the most outputs.
    About REFINE_OUTPUTS dot products per regime (one problem of a wgmma)."""
    m, n, _ = form.mnk
    per_regime = max(1, REFINE_OUTPUTS // (m * n))

    parts = [problems(form, r, per_regime, rng) for r in REGIMES]
    a = np.concatenate([p[0] for p in parts])
    b = np.concatenate([p[1] for p in parts])
    c = np.concatenate([p[2] for p in parts])
    hw = device(a, b, c)
    scores = [int(same(_model(base, w).mma(a, b, c), hw, form.acc).sum()) for w in winners]
    best = max(scores)
    kept = [w for w, s in zip(winners, scores) if s == best]
    varied = sorted({n for w in winners for n in w if len({str(x[n]) for x in winners}) > 1})
    for name in varied:
        ev[name] = (ev.get(name, "") + f" [designed cases could not tell {name} apart; "
                    f"{hw.size} random outputs chose {sorted({str(w[name]) for w in kept})}]").strip()
    return kept


def infer(form, cs: list[Case], d: np.ndarray, device=None, rng=None) -> Findings:
    """Features from the designed outputs `d`; with `device`, candidates the designed cases leave
    tied are decided on random problems run on it."""
    k = form.mnk[2]
    acc = form.acc
    feats, ev = read_features(form, cs, d)
    fi = Findings(feats, ev)
    exact = feats["product_exact"]

    # fit what the reads left open (or could not see) on all designed cases
    base = dict(in_type=form.ab_type, acc=acc, block=feats["block"] or k,
                k_order=feats["k_order"] if feats["block"] else "natural",
                **({"b_type": form.b_type} if form.b_type != form.ab_type else {}),
                **({"product_exact": bool(exact)} if exact is not None else {}),
                extra_bits=feats["extra_bits"] if feats["extra_bits"] is not None else 0,
                subnormals=feats["subnormals"] if feats["subnormals"] is not None else True,
                overflow=feats["overflow"] or "inf")
    axes = dict(FIT_AXES, **(FIT_AXES_F16 if acc == "f16" else {}),
                **(FIT_AXES_FP8 if form.ab_type in FP8 else {}))
    if base["block"] >= k:      # one block: nothing is rounded between blocks
        axes.pop("inter", None)
    if base["extra_bits"] < 0:  # an alignment narrower than f32: is the result cut to it too?
        axes["narrow_result"] = (False, True)
        # a result grid narrower than f32's also loses f32 subnormals: the subnormal read alone
        # cannot say whether that is flushing or the grid
        base.pop("subnormals")
        axes["subnormals"] = (True, False)
    fit_families = FIT_FAMILIES + (("subnormal",) if "subnormals" in axes else ())
    idx = [i for i, c in enumerate(cs) if c.family in fit_families]
    fit_cs = [cs[i] for i in idx]
    a, b, c = vectors(fit_cs)
    target = d[idx]
    best, scores = -1, {}
    for combo in itertools.product(*axes.values()):
        params = dict(zip(axes, combo))
        model = _model(base, params)
        score = int(same(model.dot(a, b, c), target, acc).sum())
        scores[combo] = score
        best = max(best, score)
    winners = [dict(zip(axes, combo)) for combo, s in scores.items() if s == best]
    if device is not None and len(winners) > 1:
        winners = _refine(form, base, winners, device, rng or np.random.default_rng(0), ev)
    default = Model().features()
    for name in axes:
        values = sorted({w[name] for w in winners}, key=str)
        if feats.get(name) is not None and feats[name] not in values:
            ev[name] = ev.get(name, "") + f" [read {feats[name]!r} but fit prefers {values}]"
        if len(values) == 1:
            feats[name] = values[0]
        else:
            fi.ambiguous[name] = values
            if feats.get(name) not in values:
                feats[name] = default.get(name) if default.get(name) in values else values[0]
    # the chosen values must be one of the winning combinations
    if not any(all(w[n] == feats[n] for n in axes) for w in winners):
        feats.update(winners[0])
    final = {n: feats[n] for n in axes}
    fi.model = _model(base, final)
    feats["result_bits"] = fi.model.internal_bits
    ev["result_bits"] = ("significant bits of a block's result (24 = f32's; fewer: the result is "
                         "cut to the alignment width, the FP22 / e8m13 of Hopper's FP8 reports)")
    with np.errstate(invalid="ignore"):
        fi.designed_match = (int(same(fi.model.dot(*vectors(cs)), d, acc).sum()), len(cs))
    return fi
