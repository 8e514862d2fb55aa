"""What papers and public models report of the tensor cores' arithmetic, as data
(data/arith_published.csv, sources in data/arith_published_sources.csv); labelled 'published'
wherever it is printed, never mixed into measured columns.

A row: GPU, instruction family ('mma': mma.sync / WMMA, the HMMA path; 'wgmma'), input types,
accumulator ('any' for both), one feature named as in `Model` / `Findings.features`, its value
(JSON), the status of the reading and the place. status: 'code' = read in the authors' own model
code; 'text' = read in the paper's text; 'suite' = read in a paper's test-suite README;
'secondary' = read in a third party's transcription of the paper.

`published_model` assembles the Model a GPU's rows imply for a form, when the rows name at least
its block size and alignment; the arith run checks that model against the hardware too.
"""

from __future__ import annotations

import csv
import functools
import json
from dataclasses import dataclass, fields

from mmabench.core import project_files
from mmabench.arith.forms import family_of
from mmabench.arith.model import Model

DATA = project_files.data("arith_published.csv")
SOURCES = project_files.data("arith_published_sources.csv")
STATUSES = ("code", "text", "suite", "secondary")

# chips with the same tensor cores: their rows stand for each other
SAME_CHIP = {"H100": "H100", "H200": "H100", "H800": "H100", "A100": "A100", "A800": "A100",
             "A30": "A100", "V100": "V100"}


@dataclass(frozen=True)
class Reported:
    gpu: str          # 'H100', 'H800', 'A100', ...
    instruction: str  # 'mma' | 'wgmma'
    inputs: str       # 'f16/bf16', 'e4m3/e5m2', ...
    acc: str          # 'f32' | 'f16' | 'any'
    feature: str
    value: object
    status: str
    source: str       # key into the sources table
    where: str


@functools.lru_cache(maxsize=None)
def sources() -> dict[str, str]:
    if not SOURCES.exists():
        return {}
    with open(SOURCES, newline="") as f:
        return {r["key"]: f"{r['citation']} [read: {r['where_read']}]" for r in csv.DictReader(f)}


@functools.lru_cache(maxsize=None)
def reported() -> tuple[Reported, ...]:
    """Every row of the published table (empty without the file); a malformed row is an error."""
    if not DATA.exists():
        return ()
    rows = []
    with open(DATA, newline="") as f:
        for i, r in enumerate(csv.DictReader(f), start=2):
            try:
                value = json.loads(r["value"])
            except json.JSONDecodeError as e:
                raise ValueError(f"{DATA.name} line {i}: value {r['value']!r} is not JSON") from e
            if r["status"] not in STATUSES:
                raise ValueError(f"{DATA.name} line {i}: status {r['status']!r}; accepted: {STATUSES}")
            rows.append(Reported(r["gpu"], r["instruction"], r["inputs"], r["acc"], r["feature"],
                                 value, r["status"], r["source"], r["where"]))
    return tuple(rows)


def gpu_key(name: str) -> str | None:
    """'NVIDIA H100 80GB HBM3' -> 'H100' (H200 and H800 have the H100's GH100 tensor cores)."""
    up = name.upper()
    for key, chip in SAME_CHIP.items():
        if key in up:
            return chip
    return None


def reported_for(gpu: str | None, form) -> list[Reported]:
    """Rows about this form's chip, instruction, input types and accumulator."""
    if not gpu:
        return []
    return [r for r in reported()
            if SAME_CHIP.get(r.gpu) == gpu and r.instruction == family_of(form)
            and {form.ab_type, form.b_type} <= set(r.inputs.split("/")) and r.acc in (form.acc, "any")]


_MODEL_FIELDS = {f.name for f in fields(Model)}


def applies(r: Reported, form):
    """A published value as it applies to `form`: a block size capped at the instruction's k
    (a k8 instruction cannot fuse 16 products)."""
    if r.feature == "block" and isinstance(r.value, int):
        return min(r.value, form.mnk[2])
    return r.value


def published_model(form, gpu: str | None = "H100") -> Model | None:
    """The model the rows imply (first row of a feature wins, rows in file order), or None where
    they do not give the block size, the alignment, where C joins and (f16 accumulator) the
    output rounding. Values as they apply to the form (`applies`); 'result_bits' sets the
    result's width."""
    rows = reported_for(gpu, form)
    params: dict = {}
    for r in rows:
        name = "internal_bits" if r.feature == "result_bits" else r.feature
        if name in _MODEL_FIELDS and name not in params:
            params[name] = applies(r, form)
    needed = {"block", "extra_bits", "c_join"} | ({"out_rounding"} if form.acc == "f16" else set())
    if not needed <= set(params):
        return None
    if params.get("internal_bits", 24) < 24:   # the result cut to the alignment width
        params["extra_bits"] = params["extra_bits"] - (params["internal_bits"] - 24)
    return Model(in_type=form.ab_type, acc=form.acc,
                 **({"b_type": form.b_type} if form.b_type != form.ab_type else {}), **params)
