"""Regenerate the shipped results of this machine's GPU, one benchmark family per call.

    python scripts/regenerate.py FAMILY [FAMILY ...] [--into DIR]

The families and the commands that make them are data: scripts/families.csv. Each family fits
the lent GPU machine's 10-minute limit. For each family, in turn:

- every command runs once, with its run folder under a private temporary root and its console
  output kept as logs/<folder>.log;
- only when all of them succeed, the family's earlier files are removed and the new ones take
  their place in data/results/<gpu>/<folder>/ (a failed family leaves the shipped files alone);
- PROVENANCE.md's table gets one row per file: command, commit, date, driver, card.

So the files of a family always come from one commit and one machine. The commit is git's HEAD
of a clean tree, or MMABENCH_GIT_COMMIT where the tree has no usable .git (a copied checkout);
every row and context.json the commands write records it too.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
CATALOGUE = Path(__file__).resolve().parent / "families.csv"
PROVENANCE_COLUMNS = ("file", "family", "command", "commit", "date", "driver", "card")
TABLE_START = "<!-- files: written by scripts/regenerate.py from provenance.csv -->"
TABLE_END = "<!-- end of files -->"
# A run folder's copies of generated code are large and are rebuilt from the commit.
LEFT_OUT = {"ptx", "sass", "ptxas", "code"}
# Larger files (arith's designed vectors: megabytes of hex) are shipped gzipped, as name.gz;
# a result reader then also never takes them for a result table.
GZIP_ABOVE_BYTES = 1 << 20


class RegenerateError(Exception):
    """A one-line reason to stop (printed without a traceback)."""


@dataclass(frozen=True)
class Run:
    family: str
    folder: str
    arguments: tuple[str, ...]
    keeps: str            # 'folder': the run folder's files and the log; 'log': the log only
    cache: str            # 'cold': a fresh, empty compile cache (timed as a first run is)
    why: str

    @property
    def script(self) -> bool:
        """A run of one of scripts/ (its first argument names it) rather than of mmabench."""
        return bool(self.arguments) and self.arguments[0].endswith(".py")

    @property
    def command(self) -> str:
        if self.script:
            return " ".join(["python", f"scripts/{self.arguments[0]}", *self.arguments[1:]])
        return " ".join(["python -m mmabench", *self.arguments])

    def argv(self) -> list[str]:
        if self.script:
            return [sys.executable, str(CHECKOUT / "scripts" / self.arguments[0]), *self.arguments[1:]]
        return [sys.executable, "-m", "mmabench", *self.arguments]


def catalogue(path: Path | None = None) -> dict[str, list[Run]]:
    """The families of scripts/families.csv, each with its runs in order."""
    path = path or CATALOGUE
    families: dict[str, list[Run]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            run = Run(row["family"], row["folder"], tuple(shlex.split(row["arguments"])),
                      row["keeps"], row["cache"], row["why"])
            if run.keeps not in ("folder", "log") or run.cache not in ("cold", "warm"):
                raise RegenerateError(f"{path}: {run.folder}: keeps is 'folder' or 'log' and "
                                      "cache is 'cold' or 'warm'")
            families.setdefault(run.family, []).append(run)
    return families


# ---------------------------------------------------------------- provenance: data and table

def read_provenance(folder: Path) -> list[dict]:
    path = folder / "provenance.csv"
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_provenance(folder: Path, rows: list[dict]) -> None:
    """provenance.csv (the data) and the table in PROVENANCE.md rendered from it; the text of
    PROVENANCE.md around the table is the GPU's own and is kept."""
    rows = sorted(rows, key=lambda r: (r["family"], r["file"]))
    with open(folder / "provenance.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, PROVENANCE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({c: r.get(c, "") for c in PROVENANCE_COLUMNS} for r in rows)
    page = folder / "PROVENANCE.md"
    text = page.read_text(encoding="utf-8") if page.exists() else (
        f"# {folder.name}: what made each file\n\n{TABLE_START}\n{TABLE_END}\n")
    if TABLE_START not in text or TABLE_END not in text:
        text = text.rstrip("\n") + f"\n\n{TABLE_START}\n{TABLE_END}\n"
    before, rest = text.split(TABLE_START, 1)
    after = rest.split(TABLE_END, 1)[1]
    page.write_text(before + TABLE_START + "\n" + provenance_table(rows) + TABLE_END + after,
                    encoding="utf-8")


def provenance_table(rows: list[dict]) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|")

    lines = ["| file | family | command | commit | date (UTC) | driver | card |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| " + " | ".join([f"`{cell(r['file'])}`", cell(r["family"]),
                                        f"`{cell(r['command'])}`" if r["command"] else "",
                                        f"`{cell(r['commit'])}`", cell(r["date"]),
                                        cell(r["driver"]), cell(r["card"])]) + " |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- where and from what

def commit() -> str:
    """The commit the results come from: MMABENCH_GIT_COMMIT, else HEAD of a clean tree."""
    if os.environ.get("MMABENCH_GIT_COMMIT"):
        return os.environ["MMABENCH_GIT_COMMIT"]
    try:
        head = subprocess.run(["git", "-C", str(CHECKOUT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        changed = subprocess.run(["git", "-C", str(CHECKOUT), "status", "--porcelain",
                                  "--untracked-files=no", "--", ".", ":!data/results"],
                                 capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise RegenerateError("no git checkout here: set MMABENCH_GIT_COMMIT to the commit this "
                              "tree holds") from None
    if changed:
        raise RegenerateError("the checkout has uncommitted changes; results must come from a "
                              "commit: commit or stash them first")
    return head


def gpu() -> dict:
    """This machine's GPU: its name, driver and its key in data/gpus.csv."""
    from mmabench import hardware, record

    if reason := hardware.unavailable_reason():
        raise RegenerateError(f"no GPU to regenerate results on: {reason}")
    ctx = record.gpu_context()
    sheet = hardware.datasheet_row(ctx["gpu_name"], ctx.get("sm_count"))
    if sheet is None:
        raise RegenerateError(f"{ctx['gpu_name']} has no row in data/gpus.csv; add one (with its "
                              "source) to name its results folder")
    return {"card": ctx["gpu_name"], "driver": ctx["driver_version"], "key": sheet["key"]}


# ---------------------------------------------------------------- one family

def run_command(run: Run, results_root: Path, log: Path) -> int:
    """Run one catalogue command, its output both on the console and in `log`, which ends with
    the exit code and the wall time."""
    env = dict(os.environ, MMABENCH_RESULTS=str(results_root), PYTHONUNBUFFERED="1")
    with tempfile.TemporaryDirectory(prefix="mmabench-cold-cache-") as cold_cache, \
            open(log, "w", encoding="utf-8") as out:
        if run.cache == "cold":
            env["MMABENCH_CACHE"] = cold_cache
        out.write(f"$ {run.command}" + ("   (cold compile cache)" if run.cache == "cold" else "")
                  + "\n")
        out.flush()
        t0 = time.monotonic()
        proc = subprocess.Popen(run.argv(), env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            sys.stdout.write(line)
            out.write(line)
        rc = proc.wait()
        out.write(f"# exit {rc} after {time.monotonic() - t0:.1f} s\n")
        return rc


def made_files(run: Run, results_root: Path, log: Path) -> dict[str, Path]:
    """What one run ships: {path in the GPU folder: file made}."""
    files = {f"logs/{run.folder}.log": log}
    if run.keeps == "folder":
        folders = [p for p in results_root.iterdir() if p.is_dir()]
        if len(folders) != 1:
            raise RegenerateError(f"`{run.command}` made {len(folders)} run folders, not one")
        for path in sorted(folders[0].rglob("*")):
            inside = path.relative_to(folders[0])
            if path.is_file() and not LEFT_OUT & set(inside.parts[:-1]):
                files[f"{run.folder}/{inside.as_posix()}"] = path
    return files


def regenerate(family: str, runs: list[Run], into: Path, source: dict, runner=run_command) -> int:
    """Run the family's commands, then replace its files in `into` and their provenance rows.
    `source`: commit, card, driver. Returns the number of files shipped."""
    with tempfile.TemporaryDirectory(prefix=f"mmabench-{family}-") as work:
        work = Path(work)
        made: dict[str, Path] = {}
        dates: dict[str, str] = {}
        for run in runs:
            root, log = work / run.folder, work / f"{run.folder}.log"
            root.mkdir()
            started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")
            t0 = time.monotonic()
            print(f"== {family}: {run.command}", flush=True)
            rc = runner(run, root, log)
            print(f"== {run.command}: exit {rc} in {time.monotonic() - t0:.0f} s", flush=True)
            if rc != 0 and run.keeps == "folder":
                raise RegenerateError(f"`{run.command}` failed (exit {rc}); the shipped "
                                      f"{family} files are unchanged")
            for name, path in made_files(run, root, log).items():
                made[name], dates[name] = path, started
        return replace_family(family, runs, into, made, dates, source)


def replace_family(family, runs, into: Path, made: dict[str, Path], dates: dict[str, str],
                   source: dict) -> int:
    into.mkdir(parents=True, exist_ok=True)
    rows = read_provenance(into)
    for row in rows:                       # the family's earlier files go, all of them
        if row["family"] == family:
            (into / row["file"]).unlink(missing_ok=True)
    for run in runs:                       # and anything else left in its folders
        if run.keeps == "folder" and (into / run.folder).is_dir():
            shutil.rmtree(into / run.folder)
    commands = {}
    for run in runs:
        commands[f"logs/{run.folder}.log"] = run.command
        commands.update({name: run.command for name in made if name.startswith(run.folder + "/")})
    kept = [r for r in rows if r["family"] != family and r["file"] not in made]
    for name, path in made.items():
        shipped_name = ship(path, into / name).relative_to(into).as_posix()
        kept.append({"file": shipped_name, "family": family, "command": commands[name],
                     "commit": source["commit"], "date": dates[name],
                     "driver": source["driver"], "card": source["card"]})
    write_provenance(into, kept)
    return len(made)


def ship(path: Path, target: Path) -> Path:
    """Copy `path` to `target`, gzipped (target.gz) when it is large; returns what was written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if path.stat().st_size <= GZIP_ABOVE_BYTES or path.suffix == ".gz":
        shutil.copyfile(path, target)
        return target
    target = target.with_name(target.name + ".gz")
    with open(path, "rb") as src, gzip.GzipFile(target, "wb", mtime=0) as dst:
        shutil.copyfileobj(src, dst)
    return target


def main(argv=None) -> int:
    try:
        families = catalogue()
    except (RegenerateError, KeyError, OSError, csv.Error) as exc:
        print(f"regenerate: {CATALOGUE} cannot be read: {exc}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("family", nargs="+", metavar="FAMILY",
                        help=f"one or more of: {', '.join(families)}")
    parser.add_argument("--into", type=Path,
                        help="the GPU's results folder (default: data/results/<gpu key> of this "
                             "checkout, the key from data/gpus.csv)")
    args = parser.parse_args(argv)
    try:
        unknown = [f for f in args.family if f not in families]
        if unknown:
            raise RegenerateError(f"unknown family {', '.join(unknown)}; accepted: "
                                  f"{', '.join(families)}")
        card = gpu()
        source = dict(card, commit=commit())
        into = args.into or CHECKOUT / "data" / "results" / card["key"]
        os.environ["MMABENCH_GIT_COMMIT"] = source["commit"]   # what the rows record
        print(f"regenerating {', '.join(args.family)} of {card['card']} (driver "
              f"{card['driver']}) at {source['commit']} into {into}", flush=True)
        for family in args.family:
            shipped = regenerate(family, families[family], into, source)
            print(f"== {family}: {shipped} files in {into}", flush=True)
    except RegenerateError as exc:
        print(f"regenerate: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("regenerate: interrupted; the families finished before it are in place",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
