"""What the papers report, as data (labelled 'published'; never mixed into measured columns).

status says how each value entered this table: 'suite' = read in this session from the public
test suite that accompanies Fasi et al. (README of north-numerical-computing/
tensor-cores-numerical-behavior, sections A-D); 'recalled' = from the paper as the author of this
module knew it, section/table NOT re-checked in this session (the search tool returned only the
abstracts) -- the lead should check these against the PDFs before quoting them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Model

FASI = "Fasi, Higham, Mikaitis & Pranesh, Numerical behavior of NVIDIA tensor cores, PeerJ CS 7:e330 (2021)"
KM = "Khattak & Mikaitis, Accurate Models of NVIDIA Tensor Cores, arXiv 2512.07004 (2025)"
DSV3 = "DeepSeek-AI, DeepSeek-V3 Technical Report, arXiv 2412.19437, Sec. 3.3.2"


@dataclass(frozen=True)
class Reported:
    gpu: str          # 'A100', 'H100', ...
    inputs: str       # 'f16', 'bf16', 'fp8', 'f16/bf16'
    acc: str          # 'f32', 'f16', 'any'
    feature: str      # a Model field or a named property
    value: object
    source: str
    where: str
    status: str       # 'suite' | 'recalled'


REPORTED: list[Reported] = [
    # Fasi et al. 2021 (V100 / T4 / A100); the suite README states the features it tests
    Reported("A100", "f16/bf16", "f32", "product_exact", True, FASI, "suite README B; Sec. 4", "suite"),
    Reported("A100", "f16/bf16", "f32", "rounding", "rz", FASI,
             "suite README C ('round-down for positive, round-up for negative values')", "suite"),
    Reported("A100", "f16", "f16", "out_rounding", "rn", FASI,
             "suite README C ('rounded using round-to-nearest (binary16 mode)')", "suite"),
    Reported("A100", "f16/bf16", "f32", "extra_bits", 0, FASI,
             "suite README D1 ('no guard digits, extra bits on the right')", "suite"),
    Reported("A100", "f16/bf16", "f32", "normalisation", "once, after the block", FASI,
             "suite README D2-D3 (no normalisation in the partial sums)", "suite"),
    Reported("A100", "f16/bf16", "f32", "carry_bits", 2, FASI, "suite README D4", "suite"),
    # Values recalled from the papers but not re-checked against their text (block sizes of
    # V100/A100/H100, H100 rounding, FP8 accumulator width) were removed: no value is better
    # than a wrong one. Our own H100 measurements are in data/results/h100-sxm5/arith.
    Reported("H800", "fp8", "f32", "accumulator_bits", "about 14 bits", DSV3,
             "Sec. 3.3.2, FP8 GEMM accumulation precision (also quoted in issue 10)", "recalled"),
]

# the model the papers imply per GPU and accumulator (labelled 'published' wherever printed)
# The model the papers imply per GPU and accumulator: none until a block size is checked in a
# paper's text (see the note in REPORTED).
PUBLISHED_MODELS: dict = {}


def gpu_key(name: str) -> str | None:
    """'NVIDIA H100 80GB HBM3' -> 'H100' (H200 has the H100's GH100 tensor cores)."""
    up = name.upper()
    for key, alias in (("H100", "H100"), ("H200", "H100"), ("H800", "H100"), ("A100", "A100"),
                       ("A800", "A100"), ("V100", "V100")):
        if key in up:
            return alias
    return None


def published_model(form, gpu: str = "H100") -> Model | None:
    params = PUBLISHED_MODELS.get((gpu, form.acc))
    if params is None:
        return None
    k = form.mnk[2]
    params = dict(params, block=min(params["block"], k))
    return Model(in_type=form.ab_type, acc=form.acc, **params)


def reported_for(gpu: str, form) -> list[Reported]:
    return [r for r in REPORTED if r.gpu == gpu and form.ab_type in r.inputs.split("/")
            and r.acc in (form.acc, "any")]
