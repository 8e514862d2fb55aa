"""Defects found by feeding the command line bad input as a newcomer would (no GPU needed): each
is one line and exit status 2, or correct behaviour, and never destroys a file."""

import pytest

from mmabench.cli import main


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _shipped_mma_csv():
    from mmabench.reporting import sources

    return next(sources.SHIPPED.glob("*/mma/mma.csv"))


def _run_folder(root, name="20260101-000000_mma_x"):
    """A run folder holding a real mma.csv (a copy of a shipped one) and its context."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "mma.csv").write_bytes(_shipped_mma_csv().read_bytes())
    (folder / "context.json").write_text("{}")
    return folder


# ---------------------------------------------------------------- outputs never over inputs

def test_bundle_and_report_never_write_over_a_result_file(tmp_path, capsys):
    folder = _run_folder(tmp_path / "res")
    csv = folder / "mma.csv"
    before = csv.read_bytes()
    assert main(["bundle", "--results", str(tmp_path / "res"), "-o", str(csv)]) == 2
    assert ".mmabench.json.gz" in one_line(capsys.readouterr().err)
    for output in ("-o", "--markdown"):
        assert main(["report", str(csv), output, str(csv)]) == 2
        assert "cannot write" in one_line(capsys.readouterr().err)
    assert csv.read_bytes() == before
    assert main(["report", str(tmp_path / "res"), "-o", str(tmp_path / "r.txt")]) == 2
    assert "accepted suffixes .html" in one_line(capsys.readouterr().err)


def test_an_input_file_is_never_an_output(tmp_path):
    from mmabench.record.output import overwrites_input

    page = tmp_path / "in.html"
    assert "it is an input" in overwrites_input(tmp_path / "." / "in.html", [page])
    assert overwrites_input(tmp_path / "out.html", [page, tmp_path]) == ""


def test_a_report_written_among_its_input_folders_can_be_written_again(tmp_path, monkeypatch, capsys):
    """report -o results/report.html, twice: the page is no input (the readers take CSVs and
    bundles), so the second run replaces it like the first wrote it."""
    monkeypatch.chdir(tmp_path)
    _run_folder(tmp_path / "results")
    for _ in range(2):
        assert main(["report", "results", "-o", "results/report.html", "--markdown", "results/r.md"]) == 0
    assert (tmp_path / "results" / "report.html").stat().st_size > 0
    for _ in range(2):
        assert main(["bundle", "--results", "results", "-o", "results/b.mmabench.json.gz"]) == 0


def test_default_output_names_never_replace_an_earlier_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _run_folder(tmp_path / "res")
    for _ in range(2):
        assert main(["bundle", "--results", str(tmp_path / "res")]) == 0
    bundles = sorted(p.name for p in tmp_path.glob("*.mmabench.json.gz"))
    assert len(bundles) == 2 and bundles[1].endswith("_2.mmabench.json.gz"), bundles


def test_fresh_name_keeps_a_double_suffix(tmp_path):
    from mmabench.record.output import fresh_name

    first = tmp_path / "a.mmabench.json.gz"
    assert fresh_name(first, ".mmabench.json.gz") == first
    first.write_text("x")
    assert fresh_name(first, ".mmabench.json.gz").name == "a_2.mmabench.json.gz"
    (tmp_path / "p.png").write_text("x")
    assert fresh_name(tmp_path / "p.png").name == "p_2.png"


# ---------------------------------------------------------------- inputs

def test_a_result_file_without_gpu_names_is_one_line(tmp_path, capsys):
    import pandas as pd

    frame = pd.read_csv(_shipped_mma_csv())
    frame["gpu_name"] = ""
    blank = tmp_path / "mma.csv"
    frame.to_csv(blank, index=False)
    for command in (["compare"], ["report", "-o", str(tmp_path / "r.html")]):
        assert main([*command, str(blank)]) == 2
        assert "column gpu_name is empty" in one_line(capsys.readouterr().err)


def test_shipped_names_the_results_that_come_with_mmabench(tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", "shipped", str(_shipped_mma_csv()), "-o", str(out)]) == 0
    assert out.stat().st_size > 0
    assert main(["compare", "shipped"]) == 0
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "nothere")]) == 2
    assert "'shipped'" in one_line(capsys.readouterr().err)


# ---------------------------------------------------------------- options

@pytest.mark.parametrize("argv, words", [
    (["arith", "--offline", "--trials", "201"], "--trials 201; accepted: an integer 1..200"),
    (["arith", "--offline", "--max-k", "65537"], "--max-k 65537; accepted: an integer 16..65536"),
    (["mma", "--offline", "--acc", "f16,,f32"], "empty item in the accumulator list"),
    (["attention", "--dim", "abc"], "accepted: 64,128,256"),
    (["wgmma", "--offline", "--n", "9"], "accepted: 8,16,32,64,128,256"),
    (["mma", "--regime", "hot"], "--regime: bad value 'hot'; accepted: sustained, burst"),
    (["softmax", "--seed", "-1"], "--seed: bad value '-1'"),
    (["gemm", "--triton", "--no-triton"], "--triton and --no-triton exclude each other"),
    (["attention", "--mask", "none"], "attention: argument --mask: invalid choice"),
    (["arith", "--trials", "abc"], "arith: argument --trials: invalid int value"),
    (["attention", "--offline", "--kernel", "hopper", "--arch", "sm_80"], "sm_90 (sm_90a) only"),
])
def test_bad_options_are_one_line_before_any_gpu_is_looked_for(capsys, tmp_path, argv, words):
    assert main([*argv, *(["--results", str(tmp_path)] if "--offline" in argv and argv[0] != "arith"
                          else [])]) == 2
    assert words in one_line(capsys.readouterr().err)
    assert not list(tmp_path.iterdir())           # no run folder was opened


def test_full_without_a_gpu_says_it_changes_nothing(monkeypatch, capsys):
    from mmabench import everything, hardware

    monkeypatch.setattr(hardware, "unavailable_reason", lambda: "no driver (test)")
    monkeypatch.setattr(everything, "JOBS", ())           # the header line only
    assert main(["--full"]) == 0
    assert "--full changes nothing without a GPU" in capsys.readouterr().out


def test_report_counts_only_the_plots_it_drew(tmp_path, monkeypatch, capsys):
    from mmabench.reporting import plots

    monkeypatch.setattr(plots, "available", lambda: False)
    assert main(["report", str(_shipped_mma_csv()), "-o", str(tmp_path / "r.html")]) == 0
    out, err = capsys.readouterr()
    assert " 0 plots" in out and "plots left out: matplotlib is not installed" in err
    assert "pip install matplotlib" in err


# ---------------------------------------------------------------- paths of the wrong kind

def test_a_folder_where_a_file_is_expected_is_named_as_such(tmp_path, capsys):
    assert main(["plot", str(tmp_path)]) == 2
    assert f"{tmp_path} is a folder: expected a CSV result file" in one_line(capsys.readouterr().err)
    assert main(["report", "--published", str(tmp_path), "-o", str(tmp_path / "r.html")]) == 2
    assert "is a folder" in one_line(capsys.readouterr().err)


def test_results_that_name_a_file_or_nothing_are_one_line(tmp_path, monkeypatch, capsys):
    a_file = tmp_path / "f"
    a_file.write_text("x")
    assert main(["mma", "--offline", "--arch", "sm_80", "--results", str(a_file)]) == 2
    assert "it is a file, not a folder" in one_line(capsys.readouterr().err)
    monkeypatch.setenv("MMABENCH_RESULTS", "")
    monkeypatch.chdir(tmp_path)
    assert main(["mma", "--offline", "--arch", "sm_80"]) == 2
    assert "MMABENCH_RESULTS is set but empty" in one_line(capsys.readouterr().err)
    assert not (tmp_path / "results").exists()


def test_a_file_where_the_markdown_figures_folder_goes_is_one_line(tmp_path, capsys):
    (tmp_path / "m-figures").write_text("keep")
    assert main(["report", str(_shipped_mma_csv()), "-o", str(tmp_path / "r.html"),
                 "--markdown", str(tmp_path / "m.md")]) == 2
    assert "it is a file, and they go in a folder of that name" in one_line(capsys.readouterr().err)
    assert (tmp_path / "m-figures").read_text() == "keep" and not (tmp_path / "r.html").exists()


# ---------------------------------------------------------------- second round

@pytest.mark.parametrize("argv, words", [
    (["gemm", "--no-t", "--triton"], "--triton and --no-triton exclude each other"),
    (["regs", "--arch", "sm_80,"], "empty item in the architecture list"),
    (["gemm", "--shape", "256x8192x8192,"], "empty item in the --shape list"),
    (["arith", "--offline", "--form", "acc_f16,"], "empty item in the --form list"),
    (["regs", "--kernel", "demo.*,"], "empty item in the --kernel list"),
    (["attention", "--kernel", "hopper", "--hopper-options", "poly1+poly2"], "contradict or repeat"),
    (["attention", "--kernel", "hopper", "--hopper-options", "none+lazy"], "contradict or repeat"),
    (["mma", "--bogus"], "mma: unrecognized arguments: --bogus (see python -m mmabench mma --help)"),
    (["wgmma", "--check-only", "--dump-layout", "FILE"], "it is a file; give a folder"),
    (["bundle", "--results", "FILE"], "is not a folder: --results takes results folders"),
])
def test_second_round_of_bad_input_is_one_line(tmp_path, capsys, argv, words):
    a_file = tmp_path / "a.csv"
    a_file.write_text("x\n1\n")
    argv = [str(a_file) if a == "FILE" else a for a in argv]
    assert main(argv) == 2
    assert words in one_line(capsys.readouterr().err)


def test_hopper_options_that_apply_to_no_chosen_scheme_are_refused():
    import argparse

    from mmabench.attention import cli
    from mmabench.core.errors import UserError

    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["attention", "--kernel", "hopper", "--norm", "inloop",
                              "--hopper-options", "lazy"])
    with pytest.raises(UserError, match="none of these sets applies"):
        cli.selected_variants(args, "sm_90")


def test_the_same_input_named_twice_is_read_once(tmp_path, capsys):
    from mmabench.reporting import sources

    assert len(sources.load(["shipped", "shipped"]).runs) == len(sources.load(["shipped"]).runs)
    _run_folder(tmp_path / "res")
    out = tmp_path / "b.mmabench.json.gz"
    assert main(["bundle", "--results", str(tmp_path / "res"), "--results", str(tmp_path / "res"),
                 "-o", str(out)]) == 0
    assert "1 runs" in capsys.readouterr().out


def test_reports_default_name_never_replaces_a_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.html").write_text("my notes")
    assert main(["report", str(_shipped_mma_csv())]) == 0
    assert (tmp_path / "report.html").read_text() == "my notes"
    assert (tmp_path / "report_2.html").stat().st_size > 0
