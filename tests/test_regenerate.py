"""scripts/regenerate.py (one family of a GPU's shipped results per call) and the shipped sets it
keeps: one provenance row per file, each family from one commit."""

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import load_script
from mmabench.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "data" / "results"
SHIPPED_GPUS = sorted(p for p in RESULTS.iterdir() if p.is_dir())


regenerate = load_script("regenerate")
SOURCE = {"commit": "abc1234", "card": "NVIDIA Test GPU", "driver": "999.1"}


def test_every_catalogue_command_is_one_the_cli_accepts():
    parser = build_parser()
    families = regenerate.catalogue()
    assert {"mma", "wgmma", "gemm", "attention", "arith"} <= set(families)
    folders = [run.folder for runs in families.values() for run in runs]
    assert len(folders) == len(set(folders)), "two runs would write one folder"
    for runs in families.values():
        for run in runs:
            if run.script:                             # one of scripts/, which must exist
                assert (regenerate.CHECKOUT / "scripts" / run.arguments[0]).is_file(), run.command
                assert run.argv()[1].endswith(f"scripts/{run.arguments[0]}")
                continue
            parser.parse_args(list(run.arguments))     # a one-line UserError on an unknown option


def test_comparison_families_run_in_a_named_regime():
    for family in ("mma", "wgmma", "gemm", "attention"):
        for run in regenerate.catalogue()[family]:
            # numerics, overhead, offline compiles and profiles time nothing in a regime
            if {"--numerics", "--overhead", "--offline"} & set(run.arguments) or run.script:
                continue
            assert "--regime" in run.arguments, run.command


def _fake_runner(made: dict[str, dict[str, str]], rc: int = 0):
    """A runner that writes the files `made[folder]` into one run folder, as a command would."""
    def runner(run, root: Path, log: Path) -> int:
        log.write_text(f"$ {run.command}\n# exit {rc}\n")
        if run.keeps == "folder":
            folder = root / f"20261204-1200_{run.folder}_gpu"
            for name, text in made.get(run.folder, {}).items():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_text(text)
        return rc
    return runner


def _runs(family="fam", folders=("one", "two")):
    return [regenerate.Run(family, f, ("mma",), "folder", "warm", "") for f in folders]


def test_a_family_replaces_its_files_and_rows_and_no_other(tmp_path):
    runs = _runs()
    first = {"one": {"one.csv": "a", "context.json": "{}", "ptx/k.ptx": "code",
                     "vectors.csv": "x" * (regenerate.GZIP_ABOVE_BYTES + 1)},
             "two": {"two.csv": "b", "stale.txt": "old"}}
    assert regenerate.regenerate("fam", runs, tmp_path, SOURCE, _fake_runner(first)) == 7
    other = _runs("other", ("three",))
    regenerate.regenerate("other", other, tmp_path, SOURCE, _fake_runner({"three": {"x.csv": "c"}}))
    assert not (tmp_path / "one" / "ptx").exists(), "generated code copies are left out"
    with gzip.open(tmp_path / "one" / "vectors.csv.gz", "rt") as f:
        assert len(f.read()) == regenerate.GZIP_ABOVE_BYTES + 1, "large files go gzipped"

    again = {"one": {"one.csv": "a2", "context.json": "{}"}, "two": {"two.csv": "b2"}}
    later = dict(SOURCE, commit="def5678")
    regenerate.regenerate("fam", runs, tmp_path, later, _fake_runner(again))
    assert (tmp_path / "one" / "one.csv").read_text() == "a2"
    assert not (tmp_path / "two" / "stale.txt").exists(), "an earlier file of the family stays"
    rows = regenerate.read_provenance(tmp_path)
    on_disk = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert {r["file"] for r in rows} == on_disk - {"provenance.csv", "PROVENANCE.md"}
    assert {r["commit"] for r in rows if r["family"] == "fam"} == {"def5678"}
    assert {r["commit"] for r in rows if r["family"] == "other"} == {"abc1234"}
    assert {r["command"] for r in rows if r["file"].startswith("one/")} == {"python -m mmabench mma"}
    page = (tmp_path / "PROVENANCE.md").read_text()
    assert page.count("\n| `") == len(rows), "one table row per file"


def test_a_failed_command_leaves_the_shipped_family_alone(tmp_path):
    runs = _runs(folders=("one",))
    regenerate.regenerate("fam", runs, tmp_path, SOURCE, _fake_runner({"one": {"one.csv": "a"}}))
    before = (tmp_path / "provenance.csv").read_text()
    with pytest.raises(regenerate.RegenerateError, match="failed .exit 1.*unchanged"):
        regenerate.regenerate("fam", runs, tmp_path, dict(SOURCE, commit="bad"),
                              _fake_runner({"one": {"one.csv": "new"}}, rc=1))
    assert (tmp_path / "one" / "one.csv").read_text() == "a"
    assert (tmp_path / "provenance.csv").read_text() == before


def test_the_gpus_own_text_around_the_table_is_kept(tmp_path):
    (tmp_path / "PROVENANCE.md").write_text("# GPU X\n\nHow it was lent.\n")
    regenerate.regenerate("fam", _runs(folders=("one",)), tmp_path, SOURCE,
                          _fake_runner({"one": {"one.csv": "a"}}))
    regenerate.regenerate("fam", _runs(folders=("one",)), tmp_path, SOURCE,
                          _fake_runner({"one": {"one.csv": "b"}}))
    page = (tmp_path / "PROVENANCE.md").read_text()
    assert page.startswith("# GPU X\n\nHow it was lent.\n")
    assert page.count(regenerate.TABLE_START) == 1


def test_a_run_that_makes_no_run_folder_is_an_error(tmp_path):
    with pytest.raises(regenerate.RegenerateError, match="made 0 run folders"):
        regenerate.regenerate("fam", _runs(folders=("one",)), tmp_path, SOURCE, _fake_runner({}))


def test_without_a_gpu_it_says_so_in_one_line():
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "regenerate.py"), "mma"],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode == 0:
        pytest.skip("a GPU is present")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_an_unknown_family_names_the_accepted_ones():
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "regenerate.py"), "mmma"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "accepted: mma, wgmma" in proc.stderr


# ---------------------------------------------------------------- the shipped sets

@pytest.mark.parametrize("gpu", SHIPPED_GPUS, ids=lambda p: p.name)
def test_each_shipped_file_has_one_provenance_row(gpu):
    rows = regenerate.read_provenance(gpu)
    assert rows, f"{gpu.name} has no provenance.csv"
    files = [r["file"] for r in rows]
    assert len(files) == len(set(files))
    on_disk = {p.relative_to(gpu).as_posix() for p in gpu.rglob("*") if p.is_file()}
    assert set(files) == on_disk - {"provenance.csv", "PROVENANCE.md"}
    page = (gpu / "PROVENANCE.md").read_text()
    assert regenerate.provenance_table(sorted(rows, key=lambda r: (r["family"], r["file"]))) in page


def _recorded_commits(path: Path) -> set[str]:
    if path.name == "context.json":
        return {json.loads(path.read_text()).get("git_commit", "")}
    if path.suffix == ".csv":
        frame = pd.read_csv(path, low_memory=False)
        if "git_commit" in frame:
            return set(frame["git_commit"].dropna().astype(str))
    return set()


@pytest.mark.parametrize("gpu", SHIPPED_GPUS, ids=lambda p: p.name)
def test_each_family_comes_from_one_commit_which_its_rows_record(gpu):
    families = regenerate.catalogue()
    rows = regenerate.read_provenance(gpu)
    for family in families:
        commits = {r["commit"] for r in rows if r["family"] == family}
        assert len(commits) <= 1, f"{gpu.name} {family}: files from {commits}"
    for r in rows:
        recorded = _recorded_commits(gpu / r["file"])
        assert recorded <= {r["commit"]}, f"{gpu.name}/{r['file']}: rows say {recorded}"


def test_a_malformed_catalogue_is_one_line(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "families.csv"
    bad.write_text("family,folder\nmma,mma\n")              # columns missing
    monkeypatch.setattr(regenerate, "CATALOGUE", bad)
    assert regenerate.main(["mma"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot be read" in err
