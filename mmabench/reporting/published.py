"""Published measurements (data/published.csv): values a paper or public repository states
exactly, each with its citation (paper or repository + table or figure) and a flag when the
value was read off a chart. They stand beside measured and datasheet figures, never in them."""

from __future__ import annotations

from pathlib import Path

from mmabench.core import project_files
from mmabench.core.errors import UserError

DATA = project_files.data("published.csv")
COLUMNS = ("gpu", "level", "form", "acc", "metric", "value", "unit", "citation", "from_chart")


def load(path: Path | None = None) -> list[dict]:
    """The rows of the published table: `path` (given by the user: it must exist), else the
    shipped one (none if absent); a malformed or empty file is a one-line error."""
    from mmabench.reporting.schema import read_csv

    if path is None and not DATA.is_file():
        return []
    path = Path(path or DATA)
    what = f"a published-measurements CSV with columns {', '.join(COLUMNS)}"
    frame = read_csv(path, what, comment="#", dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise UserError(f"{path}: missing columns {', '.join(missing)} (expected {what})")
    rows = frame.to_dict("records")
    for i, r in enumerate(rows):
        if not r["citation"].strip():
            raise UserError(f"{path} row {i + 2}: a published value needs its citation")
        try:
            r["value"] = float(r["value"])
        except ValueError:
            raise UserError(f"{path} row {i + 2}: value {r['value']!r} is not a number") from None
        r["from_chart"] = r["from_chart"].strip().lower() in ("1", "true", "yes")
    return rows
