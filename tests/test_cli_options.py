"""Which options each mode of each sub-command reads: an option given to a mode that does not read
it is refused in one line (exit status 2), never silently ignored; one the mode reads is accepted.

READS is the specification, written from the code that reads each option (not from the
declarations in the sub-command modules, which it checks)."""

from __future__ import annotations

import argparse

import pytest

from mmabench import cli, devices
from mmabench.core import options
from mmabench.core.options import Mode, Modes

MMA_SELECT = {"--shape", "--acc", "--type"}
SOFTMAX_SELECT = {"--op", "--type"}
WGMMA_SELECT = {"--n", "--acc", "--type", "--a", "--swizzle", "--full"}
ATTENTION_VARIANT = {"--dim", "--acc-s", "--acc-o", "--norm", "--full", "--kernel"}
ATTENTION_CASES = {"--seq", "--mask", "--causal", "--tokens"}
REGS_SELECT = {"--family", "--kernel", "--jobs", "--markdown"}
REGS_REPORT = REGS_SELECT | {"--arch", "--all", "--diff", "--wide", "--compile-each"}

# command -> mode name -> (the argv that selects it, the options it reads)
READS = {
    "info": {"info": ((), set())},
    "mma": {
        "the measurements": ((), MMA_SELECT | {"--results", "--markdown", "--quick", "--full",
                                               "--cold", "--regime", "--warps", "--ilp",
                                               "--blocks-per-sm",
                                               "--repeats", "--seed", "--devices"}),
        "--offline": (("--offline",), MMA_SELECT | {"--results", "--markdown", "--arch"}),
    },
    "softmax": {
        "the measurements": ((), SOFTMAX_SELECT | {"--results", "--markdown", "--quick", "--full",
                                                  "--cold", "--regime", "--warps", "--ilp",
                                                  "--blocks-per-sm", "--repeats", "--seed",
                                                  "--devices"}),
        "--offline": (("--offline",), SOFTMAX_SELECT | {"--results", "--markdown", "--arch"}),
    },
    "wgmma": {
        "the measurements": ((), WGMMA_SELECT | {"--quick", "--warpgroups", "--ilp", "--depth",
                                                 "--pending", "--no-compare", "--regime", "--seed",
                                                 "--results", "--markdown", "--devices"}),
        "--check-only": (("--check-only",), WGMMA_SELECT | {"--seed", "--dump-layout",
                                                             "--devices"}),
        "--offline": (("--offline",), WGMMA_SELECT | {"--arch", "--results", "--markdown"}),
    },
    "gemm": {
        "the benchmark": ((), {"--acc", "--mode", "--markdown", "--size", "--shape", "--triton",
                               "--no-triton", "--cublas", "--no-cublas", "--quick", "--regime", "--seed",
                               "--results", "--devices"}),
        "--offline": (("--offline",), {"--acc", "--mode", "--results", "--markdown", "--triton",
                                       "--no-triton", "--size"}),
    },
    "arith": {
        "the measurements": ((), {"--form", "--trials", "--max-k", "--seed", "--markdown",
                                  "--vectors", "--results", "--devices"}),
        "--offline": (("--offline",), {"--form", "--trials", "--max-k", "--seed", "--markdown",
                                       "--fp8-consequence"}),
    },
    "regs": {
        "the saved report": ((), REGS_REPORT | {"--results", "--keep-code"}),
        "--no-save": (("--no-save",), REGS_REPORT),
        "--crosscheck": (("--crosscheck",), REGS_SELECT),
    },
    "attention": {
        "the benchmark": ((), ATTENTION_VARIANT | ATTENTION_CASES | {
            "--hopper-options", "--regime", "--cold", "--rounds", "--seed", "--no-torch", "--results",
            "--markdown", "--devices"}),
        "--numerics": (("--numerics",), ATTENTION_VARIANT | {"--seed", "--results", "--markdown",
                                                             "--devices"}),
        "--tune": (("--tune",), ATTENTION_VARIANT | ATTENTION_CASES | {"--seed", "--tune-options",
                                                                   "--devices"}),
        "--overhead": (("--overhead",), {"--results", "--markdown", "--devices"}),
        "--offline": (("--offline",), ATTENTION_VARIANT | {"--arch", "--results", "--markdown"}),
    },
    "compare": {"compare": ((), {"--markdown"})},
    "plot": {"plot": ((), {"-o", "--output"})},
    "bundle": {"bundle": ((), {"--results", "-o", "--output", "--with-code"})},
    "report": {"report": ((), {"-o", "--output", "--markdown", "--published"})},
}
POSITIONAL = {"plot": ["results/mma.csv"]}   # a required positional argument
SWITCHES = {"--quick", "--full", "--cold", "--markdown", "--offline", "--no-compare",
            "--check-only", "--triton", "--no-triton", "--cublas", "--no-cublas",
            "--fp8-consequence", "--all", "--wide", "--no-save", "--keep-code", "--crosscheck",
            "--causal", "--no-torch", "--numerics", "--tune", "--tune-options", "--overhead",
            "--with-code", "--compile-each"}
CHOICES = {"--mask": "full", "--diff": "acc", "--regime": "burst"}
REPORT_MARKDOWN = {"report": "out.md"}       # report's --markdown takes a file


def value(command: str, flag: str) -> list[str]:
    if flag == "--markdown" and command in REPORT_MARKDOWN:
        return [flag, REPORT_MARKDOWN[command]]
    if flag in SWITCHES:
        return [flag]
    return [flag, CHOICES.get(flag, "1")]   # parses as a string or an integer


def mode_switches(command: str) -> set[str]:
    return {name for name in READS[command] if name.startswith("-")}


def refused_cases():
    for command, modes in READS.items():
        every = set().union(*(reads for _, reads in modes.values())) | mode_switches(command)
        for mode, (argv, reads) in modes.items():
            # a mode switch given to another switched mode is a second mode; without a switch, it
            # simply selects its mode
            others = every - reads - set(argv) - (set() if argv else mode_switches(command))
            for flag in sorted(others):
                yield pytest.param(command, mode, flag, id=f"{command} {mode} {flag}")


def accepted_cases():
    for command, modes in READS.items():
        for mode, (argv, reads) in modes.items():
            for flag in sorted(reads):
                yield pytest.param(command, mode, flag, id=f"{command} {mode} {flag}")


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def parser():
    return cli.build_parser()


def test_the_table_names_every_sub_command_and_every_option(parser):
    (chooser,) = [a for a in parser._actions if a.nargs == argparse.PARSER]
    assert set(chooser.choices) == set(READS)
    for command, sub in chooser.choices.items():
        flags = {f for a in sub._actions for f in a.option_strings} - {"-h", "--help"}
        declared = set().union(*(reads for _, reads in READS[command].values()))
        assert flags == declared | mode_switches(command), command


@pytest.mark.parametrize("command, mode, flag", list(refused_cases()))
def test_an_option_the_mode_does_not_read_is_refused_in_one_line(capsys, command, mode, flag):
    argv, _ = READS[command][mode]
    assert cli.main([command, *POSITIONAL.get(command, []), *argv, *value(command, flag)]) == 2
    line = one_line(capsys.readouterr().err)
    if flag in mode_switches(command):                      # a second mode
        assert f"{flag} and {mode}" in line or f"{mode} and {flag}" in line, line
        return
    readers = [m for m, (_, reads) in READS[command].items() if flag in reads]
    assert flag in line and f"not to {mode}" in line, line
    assert all(r in line for r in readers), line


@pytest.mark.parametrize("command, mode, flag", list(accepted_cases()))
def test_an_option_the_mode_reads_is_accepted(parser, command, mode, flag):
    argv, _ = READS[command][mode]
    options.parse(parser, [command, *POSITIONAL.get(command, []), *argv, *value(command, flag)])


@pytest.mark.parametrize("argv, flag", [
    (["mma", "--results", ""], "--results"),
    (["attention", "--offline", "--results", " "], "--results"),
    (["regs", "--results", ""], "--results"),
    (["plot", "results/mma.csv", "-o", ""], "-o/--output"),
    (["bundle", "-o", ""], "-o/--output"),
    (["bundle", "--results", "."], None),               # not empty: passes this check
    (["bundle", "--results", ".", "--results", ""], "--results"),
    (["report", "-o", ""], "-o/--output"),
    (["report", "--markdown", ""], "--markdown"),
    (["report", "--published", ""], "--published"),
    (["wgmma", "--check-only", "--dump-layout", ""], "--dump-layout"),
    (["compare", ""], "files"),
])
def test_an_empty_value_is_refused_in_one_line(parser, capsys, argv, flag):
    if flag is None:
        options.parse(parser, argv)
        return
    assert cli.main(argv) == 2
    line = one_line(capsys.readouterr().err)
    assert "empty" in line and flag in line, line


def test_the_top_level_full_applies_with_no_sub_command_only(parser, capsys):
    assert options.parse(parser, ["--full"]).everything_full      # not run here: minutes
    assert cli.main(["--full", "info"]) == 2
    assert "--full applies only to python -m mmabench with no sub-command, not to info" in \
        one_line(capsys.readouterr().err)
    assert cli.main(["--full", "mma", "--offline"]) == 2
    assert "mma has its own --full" in one_line(capsys.readouterr().err)


@pytest.mark.parametrize("argv, gets_results", [
    (["mma", "--quick"], True), (["wgmma", "--check-only"], False), (["attention", "--tune"], False),
])
def test_a_child_per_gpu_gets_results_only_where_its_mode_reads_them(parser, monkeypatch, tmp_path,
                                                                     argv, gets_results):
    """Else the child would refuse the --results its parent adds (wgmma --check-only, --tune)."""
    monkeypatch.setenv("MMABENCH_RESULTS", str(tmp_path))
    seen = []

    def launcher(cmd, env, log):
        seen.append(cmd)
        return 0

    argv = argv + ["--devices", "0"]
    gpu = [devices.Device(0, "GPU-aaaa0000", "Fake H100")]
    assert devices.run(options.parse(parser, argv), argv, devices=gpu, launcher=launcher,
                       command=["child"]) == 0
    (cmd,) = seen
    assert ("--results" in cmd) is gets_results and "--devices" not in cmd
    options.parse(parser, cmd[1:])          # the child's command line passes its own check


def _parser_with(*arguments):
    parser = argparse.ArgumentParser(prog="x")
    for flags, kwargs in arguments:
        parser.add_argument(*flags, **kwargs)
    return parser


@pytest.mark.parametrize("declared, arguments, problem", [
    (Modes(modes=(Mode("run"), Mode("--offline"))),
     [(["--offline"], {"action": "store_true"}), (["--seed"], {"type": int})], "--seed"),
    (Modes(common=("--seed", "--nope")), [(["--seed"], {"type": int})], "--nope"),
    (Modes(modes=(Mode("run", reads=("--size",)), Mode("--offline"))),
     [(["--offline"], {"action": "store_true"}), (["--size"], {"type": int, "default": 8})],
     "default must be None"),
    (Modes(modes=(Mode("run"), Mode("other"))), [], "exactly one mode"),
])
def test_a_wrong_declaration_fails_when_the_cli_is_built(declared, arguments, problem):
    with pytest.raises(ValueError, match=problem):
        options.bind(declared, _parser_with(*arguments), "x")
