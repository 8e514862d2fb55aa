"""Result runs on disk: a run folder (results/<time>_<bench>_<gpu>/ with <bench>.csv and
context.json), or a bare CSV file. A Run is one benchmark's rows with their context, wherever
they came from (a folder here or a bundle from another machine)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from mmabench.core.errors import UserError
from mmabench.reporting import schema

CODE_DIRS = ("ptx", "sass", "ptxas")      # copies of the code that ran: in a bundle only if asked
TEXT_EVIDENCE = (".txt", ".md", ".log")   # GPU state snapshots and printed tables: always kept


@dataclass
class Run:
    bench: str
    rows: object                      # pandas DataFrame, checked against its schema
    context: dict = field(default_factory=dict)
    origin: str = ""                  # folder, CSV file or bundle#index it was read from
    files: dict = field(default_factory=dict)   # relative path -> text (evidence, code if asked)


def _context(folder: Path) -> dict:
    path = folder / "context.json"
    if not path.is_file():
        return {}
    try:
        context = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path} is not a readable context.json ({exc})") from None
    return context if isinstance(context, dict) else {}


def _files(folder: Path, with_code: bool) -> dict:
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or path.suffix not in TEXT_EVIDENCE + (".ptx", ".sass"):
            continue
        if rel.parts[0] in CODE_DIRS and not with_code:
            continue
        if len(rel.parts) > 1 and rel.parts[0] not in CODE_DIRS:
            continue
        try:
            out[str(rel)] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    return out


def read_csv_run(path: Path, with_files: bool = False, with_code: bool = False) -> Run:
    frame = schema.read_csv(path)
    in_run_folder = (path.parent / "context.json").is_file()
    # a CSV in a run folder names its benchmark (new families too); a loose one may be renamed
    bench = path.stem if in_run_folder else schema.bench_of(path, frame)
    if bench is None:
        known = ", ".join(f"{b}.csv" for b in schema.SCHEMAS)
        raise UserError(f"{path}: not a result file mmabench knows ({known}, or a run folder)")
    rows = schema.check(frame, bench, str(path))
    folder = path.parent
    return Run(bench, rows, _context(folder), str(path),
               _files(folder, with_code) if with_files else {})


def csv_files(folder: Path) -> list[Path]:
    """Result CSVs under a folder: those named after a known benchmark, and any CSV that sits in
    a run folder (beside a context.json), so new benchmark families are picked up as they land."""
    found = []
    for path in sorted(folder.rglob("*.csv")):
        if _inside_multi_device_run(path, folder):
            continue
        if path.stem in schema.SCHEMAS or (path.parent / "context.json").is_file():
            found.append(path)
    return found


def _inside_multi_device_run(path: Path, root: Path) -> bool:
    """A `--devices` run keeps each GPU's own run folder under device<N>/ beside the merged rows
    (and devices.json): those rows are already in the merged file, so they are read once."""
    for parent in path.parents:
        if parent == root or root not in parent.parents:
            return False
        if re.fullmatch(r"device\d+", parent.name) and (parent.parent / "devices.json").is_file():
            return True
    return False


def default_roots() -> list[Path]:
    """Where runs on this machine live: ./results and $MMABENCH_RESULTS, those that exist."""
    import os

    roots = [Path("results")]
    if os.environ.get("MMABENCH_RESULTS"):
        roots.append(Path(os.environ["MMABENCH_RESULTS"]))
    seen, out = set(), []
    for root in roots:
        if root.is_dir() and root.resolve() not in seen:
            seen.add(root.resolve())
            out.append(root)
    return out
