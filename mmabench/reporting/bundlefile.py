"""The bundle: every result row and its context from the runs on one machine, in one file that
an owner of another GPU sends (gzip'd JSON, `*.mmabench.json.gz`).

    {"format": "mmabench-bundle", "version": 1, "created": ..., "mmabench_version": ...,
     "runs": [{"bench": "mma", "origin": "...", "context": {...}, "columns": [...],
               "rows": [{...}, ...], "files": {"nvml-before.txt": "...", ...}}]}

Missing values are null, infinities the strings "inf" / "-inf" (plain JSON has neither NaN
nor Infinity). Reading checks the format, the version and each run's required columns, and
refuses a malformed file with a one-line error.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

from mmabench import __version__
from mmabench.core.errors import UserError
from mmabench.reporting import schema
from mmabench.reporting.runs import Run

FORMAT = "mmabench-bundle"
VERSION = 1
SUFFIX = ".mmabench.json.gz"


def _cell(value):
    if hasattr(value, "item"):          # numpy scalar -> Python
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
    return value


def to_document(runs: list[Run], created: str) -> dict:
    out = []
    for run in runs:
        added = set(run.rows.attrs.get("added_columns", ()))
        columns = [str(c) for c in run.rows.columns if c not in added]
        rows = [{c: _cell(v) for c, v in zip(columns, values)}
                for values in run.rows[columns].itertuples(index=False, name=None)]
        out.append({"bench": run.bench, "origin": run.origin, "context": run.context,
                    "columns": columns, "rows": rows, "files": run.files})
    return {"format": FORMAT, "version": VERSION, "created": created,
            "mmabench_version": __version__, "runs": out}


def write(runs: list[Run], path: Path, created: str) -> Path:
    data = json.dumps(to_document(runs, created), allow_nan=False, separators=(",", ":"))
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(data)
    return path


def looks_like(path: Path) -> bool:
    """A bundle by its name, or by the gzip magic of its first bytes."""
    path = Path(path)
    if path.name.endswith((".json.gz", ".mmabench.json")):
        return True
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"\x1f\x8b"
    except OSError:
        return False


def _load_json(path: Path) -> dict:
    try:
        raw = path.read_bytes()
        text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        doc = json.loads(text.decode("utf-8"))
    except OSError as exc:
        raise UserError(f"cannot read bundle {path}: {getattr(exc, 'strerror', None) or exc}") from None
    except (EOFError, UnicodeDecodeError, json.JSONDecodeError, gzip.BadGzipFile) as exc:
        raise UserError(f"{path} is not a readable mmabench bundle "
                        f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise UserError(f"{path} is not an mmabench bundle (no \"format\": \"{FORMAT}\")")
    if doc.get("version") != VERSION:
        raise UserError(f"{path}: bundle version {doc.get('version')!r} is not supported by this "
                        f"mmabench {__version__} (reads version {VERSION}); update mmabench")
    if not isinstance(doc.get("runs"), list):
        raise UserError(f"{path}: malformed bundle (\"runs\" is not a list)")
    return doc


def read(path: Path) -> list[Run]:
    import pandas as pd

    path = Path(path)
    doc = _load_json(path)
    runs = []
    for i, entry in enumerate(doc["runs"]):
        where = f"{path} run {i}"
        if not isinstance(entry, dict) or not isinstance(entry.get("bench"), str) \
                or not isinstance(entry.get("rows"), list) \
                or not all(isinstance(r, dict) for r in entry["rows"]):
            raise UserError(f"{where}: malformed bundle entry (needs \"bench\" and a list of \"rows\")")
        where = f"{where} ({entry['bench']})"
        columns = entry.get("columns") or list(dict.fromkeys(k for r in entry["rows"] for k in r))
        frame = pd.DataFrame(entry["rows"], columns=columns)
        frame = frame.replace({"inf": math.inf, "-inf": -math.inf})
        frame = frame.where(frame.notna(), math.nan)      # null -> NaN, as a CSV reader gives
        rows = schema.check(frame, entry["bench"], where)
        context = entry.get("context") if isinstance(entry.get("context"), dict) else {}
        files = entry.get("files") if isinstance(entry.get("files"), dict) else {}
        runs.append(Run(entry["bench"], rows, context, f"{path}#{i}:{entry.get('origin', '')}", files))
    return runs
