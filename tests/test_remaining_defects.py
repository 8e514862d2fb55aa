"""The remaining user-facing defects of issue 19, found on a machine without a GPU: each test
failed before its fix (a traceback, a silent skip, an overwritten file, a run not repeatable)."""

from __future__ import annotations

import pytest

from mmabench.cli import main


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---------------------------------------------------------------- 1. arith's counts

@pytest.mark.parametrize("argv, named", [
    (["--trials", "0"], "--trials 0"), (["--trials", "-3"], "--trials -3"),
    (["--max-k", "8"], "--max-k 8"), (["--max-k", "0"], "--max-k 0")])
@pytest.mark.parametrize("mode", [["--offline"], []])
def test_arith_counts_are_checked_before_any_work(capsys, argv, named, mode):
    assert main(["arith", *mode, *argv]) == 2
    line = one_line(capsys.readouterr().err)
    assert named in line and "accepted: an integer" in line


# ---------------------------------------------------------------- 2. plot's file type

def _shipped_mma_csv():
    from mmabench.core import project_files

    return project_files.data("results", "h100-sxm5", "mma", "mma.csv")


@pytest.mark.parametrize("name", ["x.txt", "x.html", "x"])
def test_plot_refuses_a_file_type_it_cannot_write_before_reading_anything(
        tmp_path, monkeypatch, capsys, name):
    from mmabench.reporting import schema

    def no_work(*a, **k):
        raise AssertionError("the CSV was read before the output was checked")

    monkeypatch.setattr(schema, "read_csv", no_work)
    assert main(["plot", str(_shipped_mma_csv()), "-o", str(tmp_path / name)]) == 2
    line = one_line(capsys.readouterr().err)
    assert name in line and ".png" in line and ".svg" in line and ".pdf" in line
    assert not list(tmp_path.iterdir())


def test_plot_writes_the_file_type_its_suffix_names(tmp_path, capsys):
    assert main(["plot", str(_shipped_mma_csv()), "-o", str(tmp_path / "sweep.svg")]) == 0
    assert (tmp_path / "sweep.svg").read_text().lstrip().startswith("<?xml")


# ---------------------------------------------------------------- 5. nothing written into the package

def _snapshot(folder):
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_plotting_a_shipped_csv_writes_only_into_the_results_folder(tmp_path, monkeypatch, capsys):
    from mmabench.core import project_files

    results, elsewhere = tmp_path / "results", tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("MMABENCH_RESULTS", str(results))
    before = _snapshot(project_files.data())
    assert main(["plot", str(_shipped_mma_csv())]) == 0
    assert _snapshot(project_files.data()) == before
    (png,) = results.iterdir()
    assert png.name == "h100-sxm5-mma.png" and png.stat().st_size > 0
    assert f"wrote {png}" in capsys.readouterr().out
    assert not list(elsewhere.iterdir())


def test_plotting_a_csv_of_ones_own_writes_beside_it(tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(_shipped_mma_csv(), run / "mma.csv")
    assert main(["plot", str(run / "mma.csv")]) == 0
    assert (run / "mma.png").stat().st_size > 0


def _tracked_file():
    from mmabench import record

    if record.SOURCE_CHECKOUT is None or not (record.SOURCE_CHECKOUT / ".git").exists():
        pytest.skip("mmabench runs from an installed copy, not from a git checkout")
    return record.SOURCE_CHECKOUT / "README.md"


def _forbidden(target: str, suffix: str):
    """A file mmabench must not write: new in its shipped data or package, or a tracked one."""
    import mmabench

    if target == "shipped":
        return _shipped_mma_csv().with_name("out" + suffix)
    if target == "package":
        from pathlib import Path

        return Path(mmabench.__file__).parent / ("out" + suffix)
    return _tracked_file()


OUTPUTS = [(["plot", "CSV"], ".svg"), (["report"], ".html"), (["report", "--markdown"], ".md"),
           (["bundle", "--results", "TMP"], ".mmabench.json.gz")]


# (no tracked figure lies outside the shipped data, and plot checks its suffix first)
@pytest.mark.parametrize("target, command, suffix", [
    (target, command, suffix) for target in ("shipped", "package", "tracked")
    for command, suffix in OUTPUTS if (target, command[0]) != ("tracked", "plot")])
def test_a_named_output_inside_the_package_or_over_a_tracked_file_is_refused(
        tmp_path, monkeypatch, capsys, target, command, suffix):
    monkeypatch.chdir(tmp_path)   # report's default -o report.html is probed there
    path = _forbidden(target, suffix)
    before = path.stat().st_mtime_ns if path.exists() else None
    argv = [{"CSV": str(_shipped_mma_csv()), "TMP": str(tmp_path)}.get(a, a) for a in command]
    if argv[-1] != "--markdown":
        argv.append("-o")
    assert main(argv + [str(path)]) == 2
    line = one_line(capsys.readouterr().err)
    assert f"cannot write {path}" in line and ("shipped files" in line or "tracked by git" in line)
    assert (path.stat().st_mtime_ns if path.exists() else None) == before


def test_results_are_never_written_into_the_shipped_data(capsys):
    from mmabench.core import project_files

    assert main(["mma", "--offline", "--arch", "sm_90", "--results", str(project_files.data())]) == 2
    assert "inside mmabench's shipped files" in one_line(capsys.readouterr().err)


# ---------------------------------------------------------------- 3. report --published

PUBLISHED_HEADER = "gpu,level,form,acc,metric,value,unit,citation,from_chart\n"


@pytest.mark.parametrize("content, words", [
    (None, "no such file"), ("", "is empty"), ("# only a comment\n", "is empty"),
    ("gpu,level,form,value\nH100,instr,x,1\n", "missing columns acc, metric, unit, citation, from_chart"),
    (PUBLISHED_HEADER + "H100,instr,x,f16,tflops,fast,TFLOP/s,paper,no\n", "not a number")])
def test_report_published_that_is_missing_empty_or_malformed_is_one_line(
        tmp_path, monkeypatch, capsys, content, words):
    from mmabench.reporting import sources

    def no_work(*a, **k):
        raise AssertionError("results were loaded before --published was checked")

    monkeypatch.setattr(sources, "load", no_work)
    published = tmp_path / "published.csv"
    if content is not None:
        published.write_text(content)
    out = tmp_path / "report.html"
    assert main(["report", "--published", str(published), "-o", str(out)]) == 2
    line = one_line(capsys.readouterr().err)
    assert str(published) in line and words in line
    assert not out.exists()


def test_report_reads_a_published_csv_with_only_its_header(tmp_path, capsys):
    published = tmp_path / "published.csv"
    published.write_text(PUBLISHED_HEADER)
    assert main(["report", str(_shipped_mma_csv()), "--published", str(published),
                 "-o", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").stat().st_size > 0


# ---------------------------------------------------------------- 4. one command, one file each

@pytest.mark.parametrize("markdown", ["same", "same-by-another-path", "a-figure-of-it"])
def test_report_never_writes_two_outputs_into_one_file(tmp_path, monkeypatch, capsys, markdown):
    from mmabench.reporting import sources

    out = tmp_path / "r.html"
    if markdown == "same":
        md = out
    elif markdown == "same-by-another-path":
        (tmp_path / "sub").mkdir()
        md = tmp_path / "sub" / ".." / "r.html"
    else:   # -o names the file where --markdown puts one of its plots
        md = tmp_path / "r.md"
        (tmp_path / "r-figures").mkdir()
        out = tmp_path / "r-figures" / "PLOT.html"
    if markdown != "a-figure-of-it":
        monkeypatch.setattr(sources, "load", lambda *a, **k: pytest.fail("work before the check"))
    else:
        from mmabench.reporting import markdown as md_render

        real = md_render.render

        def render(doc, fig_dir, base):
            text, files = real(doc, fig_dir, base)
            return text, {f"{base}PLOT.html": "<svg/>", **files}

        monkeypatch.setattr(md_render, "render", render)
    assert main(["report", str(_shipped_mma_csv()), "-o", str(out), "--markdown", str(md)]) == 2
    line = one_line(capsys.readouterr().err)
    assert "same file as -o" in line
    assert not out.exists() and not (tmp_path / "r.md").exists()


# ---------------------------------------------------------------- 6. offline runs: progress and a run folder

def test_wgmma_offline_shows_progress_and_writes_a_run_folder(tmp_path, capsys):
    import pandas as pd

    assert main(["wgmma", "--offline", "--arch", "sm_80,sm_90", "--n", "16", "--type", "f16",
                 "--results", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert f"wgmma [{'#' * 24}] 4/4 " in captured.err
    (folder,) = tmp_path.iterdir()
    assert folder.name.endswith("_wgmma-offline_offline")
    assert f"results: {folder}" in captured.out
    rows = pd.read_csv(folder / "wgmma-offline.csv", keep_default_na=False)  # status 'n/a', as regs
    assert len(rows) == 2 * 2 and set(rows["arch"]) == {"sm_80", "sm_90"}
    assert list(rows.loc[rows["arch"] == "sm_80", "status"]) == ["n/a"] * 2
    hopper = rows[rows["arch"] == "sm_90"]
    assert (hopper["status"] == "ok").all() and (hopper["sass_per_trip"] == hopper["expected_per_trip"]).all()
    assert rows["git_commit"].notna().all() and rows["ptxas_version"].notna().all()
    assert (folder / "wgmma-offline.json").exists() and (folder / "context.json").exists()


def _fake_gemm_report(v):
    return {"kernel": v.name, "arch": "sm_90a", "acc": v.acc, "mode": v.mode, "registers": 168,
            "spill_store_bytes": 0, "spill_load_bytes": 0, "stack_bytes": 0, "smem_bytes": 1024,
            "wgmma_serialized": False, "setmaxnreg_ignored": False, "setmaxnreg": "",
            "hgmma": v.wgmma_opcode, "expected_hgmma": v.wgmma_opcode,
            "ok": True, "n_arrive": 1, "n_depbar": 1, "n_ldgsts": 0, "n_f2fp_pack": 0, "n_bar_sync": 1}


def test_gemm_offline_shows_progress_and_writes_a_run_folder(tmp_path, monkeypatch, capsys):
    import pandas as pd

    from mmabench.gemm import offline as goff
    from mmabench.gemm.variants import all_variants

    monkeypatch.setattr(goff, "report", _fake_gemm_report)
    assert main(["gemm", "--offline", "--results", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    n = len(all_variants())
    assert f"gemm [{'#' * 24}] {n}/{n} " in captured.err
    (folder,) = tmp_path.iterdir()
    assert folder.name.endswith("_gemm-offline_offline")
    assert f"results: {folder}" in captured.out
    rows = pd.read_csv(folder / "gemm-offline.csv")
    assert len(rows) == n and set(rows["status"]) == {"ok"} and "timestamp" in rows
    assert (folder / "context.json").exists()


@pytest.mark.parametrize("argv", [["wgmma", "--offline"], ["gemm", "--offline"]])
def test_wgmma_and_gemm_offline_check_the_results_folder_before_compiling(tmp_path, capsys, argv):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(argv + ["--results", str(blocker / "results")]) == 2
    assert "cannot write results" in one_line(capsys.readouterr().err)


# ---------------------------------------------------------------- 7. seeds

@pytest.mark.parametrize("seed", ["-1", str(2 ** 32)])
def test_a_seed_numpy_cannot_take_is_one_line(capsys, seed):
    assert main(["arith", "--offline", "--trials", "2", "--max-k", "16", "--seed", seed]) == 2
    out, err = capsys.readouterr()
    line = one_line(err)
    assert not out.strip()   # refused before any output
    assert f"--seed: bad value '{seed}'" in line and "accepted: an integer 0..4294967295" in line


def test_a_fresh_seed_is_drawn_each_time_it_is_not_given():
    from mmabench.core.seed import chosen

    said = []
    seeds = {chosen(None, say=said.append) for _ in range(8)}
    assert len(seeds) > 1 and all(0 <= s < 2 ** 32 for s in seeds)
    assert said[0].startswith("seed ") and said[0].endswith(f"rerun with --seed {said[0].split()[1][:-1]}")


# ---------------------------------------------------------------- 8. the README says what the code does

def test_readme_and_help_say_where_plots_go_what_offline_runs_write_and_how_seeds_work(capsys):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for said in ("`wgmma-offline.csv`", "`gemm-offline.csv`", "seed N; rerun with --seed N",
                 "`gemm --offline`", "[--published CSV]", "whose plot goes to the results folder"):
        assert said in readme, said
    with pytest.raises(SystemExit):
        main(["plot", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "never written" in text and "results folder" in text and ".svg" in text
