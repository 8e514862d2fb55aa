"""Everything the user pointed at, merged: run folders, result CSV files and bundles, into one
frame per benchmark. `compare` and `report` read through here, so they accept the same inputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mmabench.core import project_files
from mmabench.core.errors import UserError
from mmabench.reporting import bundlefile, runs as runs_mod
from mmabench.reporting.runs import Run

SHIPPED = project_files.data("results")


@dataclass
class Results:
    runs: list[Run] = field(default_factory=list)

    def frame(self, bench: str):
        """All rows of one benchmark, merged, each with its `source`; None if there are none."""
        import pandas as pd

        frames = []
        for run in self.runs:
            if run.bench == bench and len(run.rows):
                f = run.rows.copy()
                f["source"] = run.origin
                frames.append(f)
        if not frames:
            return None
        return pd.concat(frames, ignore_index=True, sort=False)

    def benches(self) -> list[str]:
        return list(dict.fromkeys(r.bench for r in self.runs))


# the word a user gives for the results shipped with mmabench (in a checkout data/results/, in
# an installed wheel somewhere in site-packages), to add them to their own files
SHIPPED_KEYWORD = "shipped"


def resolve(item) -> Path:
    """An input as the user typed it: the word `shipped` is SHIPPED (a folder of that name here:
    ./shipped). A Path is taken as it is (Path('./shipped') prints as 'shipped' too)."""
    return SHIPPED if isinstance(item, str) and item == SHIPPED_KEYWORD else Path(item)


def collect(paths: list, with_files: bool = False, with_code: bool = False) -> list[Run]:
    """Runs from folders (searched recursively for result CSVs and bundles), CSV files, bundles."""
    found: list[Run] = []
    for item in paths:
        path = resolve(item)
        if path.is_dir():
            for csv in runs_mod.csv_files(path):
                found.append(runs_mod.read_csv_run(csv, with_files, with_code))
            for bundle in sorted(path.rglob("*" + bundlefile.SUFFIX)):
                found += bundlefile.read(bundle)
        elif path.is_file():
            if bundlefile.looks_like(path):
                found += bundlefile.read(path)
            else:
                found.append(runs_mod.read_csv_run(path, with_files, with_code))
        elif path.exists():
            raise UserError(f"{item} is neither a result file nor a folder (give result folders, "
                            f"CSV files, bundles or '{SHIPPED_KEYWORD}')")
        else:
            raise UserError(f"no such result file, folder or bundle: {item} (accepted: result "
                            f"folders, CSV files, bundles, or '{SHIPPED_KEYWORD}' for the results "
                            "shipped with mmabench)")
    return found


def default_paths() -> list[Path]:
    """The shipped results, plus ./results and $MMABENCH_RESULTS where present."""
    return ([SHIPPED] if SHIPPED.is_dir() else []) + runs_mod.default_roots()


def inputs(paths: list | None) -> list[Path]:
    """What `load` reads: the paths given (each once), else default_paths()."""
    return each_once([resolve(p) for p in paths] if paths else default_paths())


def each_once(paths: list[Path]) -> list[Path]:
    """`paths` without repeats (by the file or folder they name), in order: an input named
    twice is read once, not counted twice."""
    seen, out = set(), []
    for path in paths:
        if path.resolve() not in seen:
            seen.add(path.resolve())
            out.append(path)
    return out


def load(paths: list | None) -> Results:
    return Results(collect(inputs(paths)))
