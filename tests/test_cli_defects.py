"""User-facing defects of issue 8, found on a machine without a GPU: each test failed before its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmabench import record
from mmabench.cli import main
from mmabench.compiler import report as creport
from mmabench.core.errors import UserError
from mmabench.reporting import tables as reporting_tables

REPO = Path(__file__).resolve().parents[1]  # the checkout these tests belong to


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def unwritable(tmp_path):
    """A results path that cannot be created (its parent is a file: fails even for root)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    return blocker / "results"


# ---------------------------------------------------------------- 1. results root checked first

def test_results_root_is_created_and_probed(tmp_path, unwritable):
    assert record.results_root(tmp_path / "r" / "s") == tmp_path / "r" / "s"
    assert (tmp_path / "r" / "s").is_dir() and not list((tmp_path / "r" / "s").iterdir())
    with pytest.raises(UserError, match="cannot write results to .*a-file/results"):
        record.results_root(unwritable)
    with pytest.raises(UserError):
        record.RunFolder("mma", "gpu", unwritable)


@pytest.mark.parametrize("via_env", [False, True])
def test_unwritable_results_is_one_line_before_any_compile(monkeypatch, capsys, unwritable, via_env):
    def no_work(*a, **k):
        raise AssertionError("work started before the results folder was checked")

    monkeypatch.setattr(creport, "compile_builds", no_work)
    argv = ["regs", "--family", "demo", "--arch", "sm_80"]
    if via_env:
        monkeypatch.setenv("MMABENCH_RESULTS", str(unwritable))
    else:
        argv += ["--results", str(unwritable)]
    assert main(argv) == 2
    line = one_line(capsys.readouterr().err)
    assert str(unwritable) in line
    assert ("(from MMABENCH_RESULTS)" if via_env else "(from --results)") in line


@pytest.mark.parametrize("argv", [["mma"], ["attention"], ["attention", "--numerics"]])
def test_measuring_commands_check_the_results_folder_first(capsys, unwritable, argv):
    assert main(argv + ["--results", str(unwritable)]) == 2
    assert "cannot write results" in one_line(capsys.readouterr().err)


# ---------------------------------------------------------------- 2. flags a mode does not read

@pytest.fixture
def no_offline_work(monkeypatch):
    """Fail fast if an offline compile starts: the flag was ignored, not refused."""
    from mmabench.attention import offline as aoff
    from mmabench.mma import offline as moff

    def ignored(*a, **k):
        raise AssertionError("the offline run started; the conflicting flag was ignored")

    monkeypatch.setattr(moff, "check_form", ignored)
    monkeypatch.setattr(aoff, "check_variant", ignored)


@pytest.mark.parametrize("extra, flag", [
    (["--quick"], "--quick"), (["--warps", "2"], "--warps"), (["--ilp", "2"], "--ilp"),
    (["--blocks-per-sm", "2"], "--blocks-per-sm"), (["--repeats", "3"], "--repeats"),
    (["--seed", "0"], "--seed"), (["--full"], "--full"), (["--cold"], "--cold"),
])
def test_mma_offline_refuses_measurement_flags(capsys, no_offline_work, extra, flag):
    assert main(["mma", "--offline", "--arch", "sm_90", *extra]) == 2
    line = one_line(capsys.readouterr().err)
    assert flag in line and "--offline" in line


@pytest.mark.parametrize("extra, flag", [
    (["--seq", "1024"], "--seq"), (["--numerics"], "--numerics"), (["--tune"], "--tune"),
    (["--tokens", "4096"], "--tokens"), (["--rounds", "3"], "--rounds"), (["--cold"], "--cold"),
    (["--seed", "0"], "--seed"), (["--no-torch"], "--no-torch"), (["--causal"], "--causal"),
    (["--mask", "full"], "--mask"), (["--overhead"], "--overhead"),
])
def test_attention_offline_refuses_flags_it_does_not_read(capsys, no_offline_work, extra, flag):
    assert main(["attention", "--offline", "--arch", "sm_90", "--dim", "64", *extra]) == 2
    line = one_line(capsys.readouterr().err)
    assert flag in line and "--offline" in line


@pytest.mark.parametrize("argv, words", [
    (["--numerics", "--seq", "1024"], ["--seq", "--numerics"]),
    (["--numerics", "--tune"], ["--tune", "--numerics"]),
    (["--numerics", "--tokens", "1024"], ["--tokens", "--numerics"]),
    (["--tune", "--rounds", "3"], ["--rounds", "--tune"]),
    (["--overhead", "--seq", "1024"], ["--seq", "--overhead"]),
    (["--tune", "--no-torch"], ["--no-torch", "--tune"]),
    (["--tokens", "0"], ["--tokens", "integer >= 1"]),
    (["--tokens", "-1"], ["--tokens", "integer >= 1"]),
])
def test_attention_flag_conflicts_and_bad_tokens_are_one_line(capsys, argv, words):
    assert main(["attention", *argv]) == 2      # before any GPU is looked for
    line = one_line(capsys.readouterr().err)
    assert all(w in line for w in words), line


@pytest.mark.parametrize("text", ["", ",", "4,x", "0", "33", "1.5", "1,,8", "1,8,"])
def test_integer_lists_name_what_is_accepted(text):
    from mmabench.core.errors import int_list

    assert int_list(None, "--warps", 1, 32) is None
    assert int_list(" 1, 8,32", "--warps", 1, 32) == (1, 8, 32)
    with pytest.raises(UserError) as exc:
        int_list(text, "--warps", 1, 32)
    assert str(exc.value) == f"bad --warps list {text!r}; accepted: integers 1..32, comma-separated"


@pytest.mark.parametrize("argv", [["mma", "--warps", "0"], ["wgmma", "--ilp", "5"],
                                  ["attention", "--seq", "x"]])
def test_every_command_parses_integer_lists_alike(capsys, argv):
    assert main(argv) == 2
    assert f"bad {argv[1]} list {argv[2]!r}; accepted: integers" in one_line(capsys.readouterr().err)


# ---------------------------------------------------------------- 3. small run folders, none in the repo

def test_tests_write_results_under_a_temporary_folder(tmp_path):
    root = record.results_root()
    assert root == tmp_path / "results"
    assert REPO not in root.resolve().parents


def test_code_is_stored_once_per_content_with_an_index(tmp_path):
    import csv

    folder = record.RunFolder("regs", "offline", tmp_path)
    a = folder.save_code("ptx", "k1.sm_80", ".version 7.0\n// same text\n")
    b = folder.save_code("ptx", "k1.sm_90", ".version 7.0\n// same text\n")
    c = folder.save_code("sass", "k1.sm_90", "HMMA.16816.F16 R0, R2, R4, R0 ;\n")
    assert a == b != c and a.read_text().endswith("// same text\n")
    assert sorted(p.name for p in (folder.path / "code").iterdir()) == sorted(
        ["index.csv", a.name, c.name])
    index = list(csv.DictReader((folder.path / "code" / "index.csv").open()))
    assert [(r["name"], r["kind"], r["file"]) for r in index] == [
        ("k1.sm_80", "ptx", a.name), ("k1.sm_90", "ptx", a.name), ("k1.sm_90", "sass", c.name)]


def _size(path):
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def test_regs_folder_is_small_by_default_and_keeps_code_when_asked(tmp_path, capsys):
    argv = ["regs", "--family", "mma,demo", "--arch", "sm_80,sm_90"]
    assert main(argv + ["--results", str(tmp_path / "plain")]) == 0
    (plain,) = (tmp_path / "plain").iterdir()
    assert not any(p.suffix in (".ptx", ".sass") for p in plain.rglob("*"))
    assert _size(plain) < 150_000, _size(plain)
    assert main(argv + ["--keep-code", "--results", str(tmp_path / "code")]) == 0
    (kept,) = (tmp_path / "code").iterdir()
    index = (kept / "code" / "index.csv").read_text()
    for kind in ("ptx", "sass", "ptxas"):
        assert f"demo.spill.cap32.sm_90,{kind}," in index
    assert len(list((kept / "code").glob("*.ptx"))) <= index.count(",ptx,")


# ---------------------------------------------------------------- 4. long offline compiles show progress

def _fake_variant_row(v, arch):
    return {"variant": v.name, "arch": arch, "dim": v.dim, "acc": v.acc_label, "norm": v.norm,
            "tiles": v.tiles.label, "registers": 100, "spill_stores": 0, "spill_loads": 0,
            "stack": 0, "smem_bytes": 32768, "blocks_per_sm": 2, "occupancy_pct": 25.0,
            "hmma_f16": 8, "hmma_f32": 8, "ldsm": 4, "ok": True, "problems": ""}


def test_attention_offline_shows_progress(monkeypatch, capsys):
    from mmabench.attention import offline as aoff

    monkeypatch.setattr(aoff, "check_variant", _fake_variant_row)
    assert main(["attention", "--offline", "--arch", "sm_80,sm_90", "--dim", "64"]) == 0
    err = capsys.readouterr().err
    import re

    done = re.search(r"attention \[#{24}\] (\d+)/(\d+) ", err)
    assert done and done.group(1) == done.group(2) and int(done.group(1)) >= 2, err


def test_regs_shows_progress_and_refuses_a_useless_diff_before_compiling(monkeypatch, capsys):
    assert main(["regs", "--family", "demo", "--arch", "sm_80,sm_90", "--no-save"]) == 0
    assert f"regs [{'#' * 24}]" in capsys.readouterr().err

    def no_work(*a, **k):
        raise AssertionError("compiled before finding there is nothing to diff")

    monkeypatch.setattr(creport, "compile_builds", no_work)
    assert main(["regs", "--family", "demo", "--diff", "acc", "--no-save"]) == 2
    assert "no f16-accumulate kernel" in one_line(capsys.readouterr().err)


# ---------------------------------------------------------------- 5. offline runs write a run folder

def test_mma_offline_writes_a_run_folder(tmp_path, capsys):
    import pandas as pd

    assert main(["mma", "--offline", "--arch", "sm_80,sm_90", "--acc", "f16", "--type", "f16",
                 "--results", str(tmp_path)]) == 0
    (folder,) = tmp_path.iterdir()
    assert folder.name.endswith("_mma-offline_offline")
    assert f"results: {folder}" in capsys.readouterr().out
    rows = pd.read_csv(folder / "mma-offline.csv")
    assert len(rows) == 2 * 2 and set(rows["arch"]) == {"sm_80", "sm_90"}
    assert rows["ok"].all() and (rows["sass_per_trip"] == rows["expected_per_trip"]).all()
    assert rows["git_commit"].notna().all() and rows["ptxas_version"].notna().all()
    assert (folder / "mma-offline.json").exists() and (folder / "context.json").exists()


def test_attention_offline_writes_a_run_folder(monkeypatch, tmp_path, capsys):
    import pandas as pd

    from mmabench.attention import offline as aoff

    monkeypatch.setattr(aoff, "check_variant", _fake_variant_row)
    assert main(["attention", "--offline", "--arch", "sm_90", "--dim", "64", "--acc-s", "f16",
                 "--results", str(tmp_path)]) == 0
    (folder,) = tmp_path.iterdir()
    assert folder.name.endswith("_attention-offline_offline")
    assert f"results: {folder}" in capsys.readouterr().out
    rows = pd.read_csv(folder / "attention-offline.csv")
    assert len(rows) == 3 * 2 and set(rows["arch"]) == {"sm_90"} and "timestamp" in rows


@pytest.mark.parametrize("argv", [["mma", "--offline"], ["attention", "--offline"]])
def test_offline_checks_the_results_folder_before_compiling(capsys, no_offline_work, unwritable, argv):
    assert main(argv + ["--arch", "sm_90", "--results", str(unwritable)]) == 2
    assert "cannot write results" in one_line(capsys.readouterr().err)


# ---------------------------------------------------------------- 6. no driver: say so

@pytest.fixture
def fresh_reason():
    from mmabench import hardware

    hardware.unavailable_reason.cache_clear()
    yield hardware
    hardware.unavailable_reason.cache_clear()


def _device_count_fails(monkeypatch, code):
    import cupy

    def fail():
        raise cupy.cuda.runtime.CUDARuntimeError(code)

    monkeypatch.setattr(cupy.cuda.runtime, "getDeviceCount", fail)


def test_no_driver_at_all_is_named_as_such(monkeypatch, fresh_reason):
    _device_count_fails(monkeypatch, 35)    # cudaErrorInsufficientDriver, as without libcuda
    monkeypatch.setattr(fresh_reason, "libcuda_loadable", lambda: False, raising=False)
    reason = fresh_reason.unavailable_reason()
    assert reason.startswith("no NVIDIA driver found (libcuda.so")
    assert "insufficient" not in reason


def test_an_old_driver_is_named_as_such(monkeypatch, fresh_reason):
    _device_count_fails(monkeypatch, 35)
    monkeypatch.setattr(fresh_reason, "libcuda_loadable", lambda: True, raising=False)
    reason = fresh_reason.unavailable_reason()
    assert "driver is older than" in reason and "cupy-cuda12x" in reason


def test_a_driver_without_a_device_is_named_as_such(monkeypatch, fresh_reason):
    _device_count_fails(monkeypatch, 100)   # cudaErrorNoDevice
    monkeypatch.setattr(fresh_reason, "libcuda_loadable", lambda: True, raising=False)
    assert fresh_reason.unavailable_reason().startswith("no CUDA GPU found")
    with pytest.raises(UserError, match="needs a CUDA GPU: no CUDA GPU found.*--offline"):
        fresh_reason.require_gpu()


# ---------------------------------------------------------------- 7. unwritable cache: fall back, say so

@pytest.mark.parametrize("var", ["MMABENCH_CACHE", "XDG_CACHE_HOME"])
def test_unwritable_cache_falls_back_to_a_temporary_one_with_one_warning(
        monkeypatch, capsys, unwritable, var):
    from mmabench.compiler import toolchain

    monkeypatch.delenv("MMABENCH_CACHE", raising=False)
    monkeypatch.setenv(var, str(unwritable))
    first = toolchain.cache_dir()
    assert first.is_dir() and not str(first).startswith(str(unwritable))
    assert toolchain.cache_dir() == first
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(unwritable) in err and "temporary" in err
    assert main(["mma", "--offline", "--arch", "sm_90", "--acc", "f16", "--type", "f16",
                 "--shape", "m16n8k16"]) == 0
    assert "Traceback" not in capsys.readouterr().err


# ---------------------------------------------------------------- 8. environment documented

def test_help_and_readme_name_the_environment_and_the_console_script(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for needle in ("MMABENCH_RESULTS", "MMABENCH_CACHE", "XDG_CACHE_HOME", "CUDA_HOME",
                   "console script"):
        assert needle in out, needle
    readme = (REPO / "README.md").read_text()
    section = readme.split("### Environment and files", 1)[1].split("\n## ", 1)[0]
    for needle in ("MMABENCH_RESULTS", "MMABENCH_CACHE", "`mmabench`", "--keep-code"):
        assert needle in section, needle


# ---------------------------------------------------------------- 9. regs table fits a terminal

def test_default_regs_table_fits_120_columns_and_wide_keeps_every_column(capsys):
    from mmabench.compiler import cli as ccli

    rows = creport.compile_report(archs=["sm_90"], all_kernels=True)
    narrow = ccli.main_table(rows)
    assert max(map(len, narrow.splitlines())) <= 120
    assert "HMMA.16816 F16 x128, F32 x128" in narrow or "HMMA.16816.F16" in narrow
    # no MUFU column: MUFU shows only as a softmax kernel's key opcode (MUFU.EX2)
    assert not any("MUFU" in line for line in narrow.splitlines() if not line.startswith("softmax."))
    assert main(["regs", "--no-save"]) == 0     # the default report, footnotes included
    assert max(map(len, capsys.readouterr().out.splitlines())) <= 120
    assert main(["regs", "--family", "demo", "--arch", "sm_90", "--no-save", "--wide"]) == 0
    out = capsys.readouterr().out
    assert all(h in out for h in ("stack B", "LDL/STL", "LDSM", "MUFU", "FFMA", "HFMA2"))


# ---------------------------------------------------------------- 10. torch is an extra

def test_torch_is_an_extra_and_the_readme_says_what_works_without_it():
    import tomllib

    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = meta["optional-dependencies"]
    assert any(d.replace(" ", "").startswith("torch>=2") for d in extras["torch"])
    assert not any(d.startswith("torch") for d in extras["test"] + meta["dependencies"])
    readme = (REPO / "README.md").read_text()
    assert '".[torch]"' in readme and "Without torch" in readme


# ---------------------------------------------------------------- 11. gpu_validate.sh fails when a step fails

def _fake_python(tmp_path, failing: str):
    fake = tmp_path / "fake-python"
    fake.write_text(f'#!/bin/sh\necho "fake $*"\ncase "$*" in *"{failing}"*) exit 3;; esac\nexit 0\n')
    fake.chmod(0o755)
    return fake


@pytest.mark.parametrize("failing, rc", [("no-step-has-this", 0), ("attention --numerics", 1)])
def test_gpu_validate_runs_every_step_and_fails_if_one_does(tmp_path, failing, rc):
    import os
    import subprocess

    fake = _fake_python(tmp_path, failing)
    env = dict(os.environ, PYTHON=str(fake), OUT=str(tmp_path / "out"))
    proc = subprocess.run(["bash", str(REPO / "scripts" / "gpu_validate.sh")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == rc, proc.stdout + proc.stderr
    summary = proc.stdout.split("== summary", 1)[1]
    for step in ("info", "pytest-gpu", "mma", "attention", "numerics", "regs-crosscheck",
                 "attn-correct-sanitize"):
        assert step in summary
    if rc:
        assert "numerics" in summary.split("FAILED", 1)[1] and "rc=3" in summary


def test_gpu_validate_runs_the_hopper_stages_when_named(tmp_path):
    """Three stages, so that each fits a 10-minute call; the tile search one d per step."""
    import os
    import subprocess

    env = dict(os.environ, PYTHON=str(_fake_python(tmp_path, "no-step-has-this")), OUT=str(tmp_path / "out"))
    proc = subprocess.run(["bash", str(REPO / "scripts" / "gpu_validate.sh"), "hopper", "hopper-tune",
                           "hopper-maps"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = proc.stdout.split("== summary", 1)[1]
    assert all(step in summary for step in ("hopper-tests", "hopper-tune-d64", "hopper-tune-d128",
                                            "hopper-tune-d256", "hopper-numerics", "hopper-ncu"))
    assert "pytest-gpu" not in summary                   # only the stage named
    assert "--numerics --kernel hopper" in proc.stdout and "test_hopper_attention_gpu.py" in proc.stdout


# ---------------------------------------------------------------- 12. attention cli: parse and dispatch only

def test_attention_reports_live_in_their_own_module(monkeypatch, capsys):
    """The CLI parses and dispatches: the table it prints is tables.offline_table of the rows
    that the offline run made."""
    from mmabench.attention import cli, offline, tables

    monkeypatch.setattr(offline, "check_variant", _fake_variant_row)
    made = []
    real_run = offline.run
    monkeypatch.setattr(offline, "run", lambda *a, **kw: made.append(real_run(*a, **kw)) or made[-1])
    assert main(["attention", "--offline", "--arch", "sm_90", "--dim", "64", "--acc-s", "f16",
                 "--acc-o", "f32"]) == 0
    ((_, rows),) = made
    text = tables.offline_table(rows)
    assert len(rows) >= 2 and text.count("\n") >= 2 + len(rows) and "HMMA F32/F16" in text
    assert max(map(len, text.splitlines())) <= 120
    assert text in capsys.readouterr().out
    row = {"dim": 64, "seq": 1024, "causal": False, "batch": 16, "heads": 32,
           "variant": rows[0]["variant"], "status": "ok", "tflops": 123.4, "max_abs_err": 1e-3,
           "rel_l2_err": 2e-4}
    assert "123.4" in tables.summary([row]) and cli.summary is tables.summary


def test_the_attention_tables_of_a_case_fit_120_columns_with_the_widest_hopper_rows(monkeypatch):
    """The per-case speed and resources tables (GPU runs), fed the longest names and tile labels
    the Hopper kernel has (every option on, an f32/f32-tiles twin, a throttled over-limit reading)."""
    from mmabench.attention import tables, variants
    from mmabench.attention.variants import HopperTiles

    monkeypatch.setenv(reporting_tables.STRICT_ENV, "1")
    widest = HopperTiles(3, 160, 4, overlap=True, poly=2, pingpong=True, lazy=True)
    v = variants.Variant(128, "f16q", "f16f32", "delayed", widest)
    base = {"dim": 128, "seq": 16384, "causal": True, "batch": 1, "heads": 16, "status": "ok",
            "impl": "mmabench", "kernel": "hopper", "acc_s": "f16q", "acc_o": "f16f32",
            "norm": "delayed", "tiles": widest.label, "tflops": 1701.6, "flop_per_clk_per_sm": 13307,
            "sm_clock_mhz": 1605, "power_w": 748.4, "power_above_limit": True, "throttled": True,
            "throttle": "sw_power_cap", "noise_pct": 11.7, "x_vs_flash": 2.09, "x_vs_flash_lo": 2.01,
            "x_vs_flash_hi": 2.14, "x_vs_cudnn": 1.02, "x_vs_cudnn_lo": 0.99, "x_vs_cudnn_hi": 1.05,
            "gflop_per_joule": 1957, "registers": 168, "local_bytes": 0, "blocks_per_sm": 1,
            "max_abs_err": 4.01e-3, "bf16_yard_max_abs_err": 1.0e-2, "yard_max_abs_err": 1.3e-3,
            "nonfinite_all": 0, "regime": "sustained"}
    rows = [{**base, "variant": v.name, "x_vs_f32f32": 1.17, "x_vs_f32f32_lo": 1.16, "x_vs_f32f32_hi": 1.2},
            {**base, "variant": v.name + "@f32tiles", "x_vs_f32f32_same_tiles": 0.99,
             "x_vs_f32f32_same_tiles_lo": 0.98, "x_vs_f32f32_same_tiles_hi": 1.02}]
    text = tables.summary(rows)
    assert widest.tag in text and max(map(len, text.splitlines())) <= 120
