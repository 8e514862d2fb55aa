"""Command line: `python -m mmabench [info|mma|softmax|regs|attention] ...`.

A thin layer: each sub-command lives with its benchmark and calls functions a notebook can
call too. A UserError (bad input, missing tool, no GPU) prints one line, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import textwrap

from mmabench import __version__, record
from mmabench.core import options, workers
from mmabench.core.errors import UserError

# Sub-command modules, each with add_parser(subparsers) and OPTIONS (core.options.Modes: which
# options each of its modes reads); a missing one is simply not offered.
SUBCOMMANDS = ("mmabench.info", "mmabench.mma.cli", "mmabench.wgmma.cli", "mmabench.softmax.cli",
               "mmabench.gemm.cli",
               "mmabench.arith.cli", "mmabench.compiler.cli", "mmabench.attention.cli",
               "mmabench.reporting.compare", "mmabench.reporting.sweep_plot", "mmabench.reporting.bundle", "mmabench.reporting.cli")


def _modules():
    for name in SUBCOMMANDS:
        try:
            yield importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise


ENVIRONMENT = """\
environment:
  MMABENCH_RESULTS     where run folders go (default ./results; --results overrides it)
  MMABENCH_CACHE       compile cache (default $XDG_CACHE_HOME/mmabench or ~/.cache/mmabench);
                       must be yours and not group/other-writable, else a private temporary
                       folder is used for the run, with a warning
  CUDA_HOME, CUDA_PATH, PATH
                       more places to find ptxas/nvdisasm/cuobjdump: the newest release
                       among them and the NVIDIA wheels' is used
  MMABENCH_GIT_COMMIT  the commit recorded in rows, over the checkout's HEAD or the one a
                       wheel recorded when it was built

The `mmabench` console script (installed with the package) is the same as python -m mmabench."""


PROG = "python -m mmabench"


class OneLineErrors(argparse.ArgumentParser):
    """argparse's errors (a bad integer, an unknown choice) as one line, like every other
    mistake, rather than a usage block; sub-command parsers are of this class too."""

    def parse_args(self, args=None, namespace=None):
        self._argv = list(sys.argv[1:] if args is None else args)
        return super().parse_args(args, namespace)

    def error(self, message: str):
        command = self.prog.removeprefix(PROG).strip()
        if not command and message.startswith("unrecognized arguments"):
            # reported by the top parser for a sub-command's line: name the sub-command
            commands = self._subparsers._group_actions[0].choices if self._subparsers else {}
            command = next((a for a in getattr(self, "_argv", []) if a in commands), "")
        prog = f"{PROG} {command}" if command else PROG
        raise UserError(f"{command + ': ' if command else ''}{message} (see {prog} --help)")


# The options of `python -m mmabench` itself, which no sub-command reads.
TOP_LEVEL = options.Modes(common=("--full",))


def build_parser() -> argparse.ArgumentParser:
    description = textwrap.fill(
        "Is fp16 accumulation worth it on this GPU? Tensor-core microbenchmarks in "
        "hand-written PTX (mma.sync f16 vs f32 accumulation), a fused attention "
        "kernel with either accumulator, and offline register/SASS reports. "
        "With no sub-command: everything the machine supports.", width=79,
        break_on_hyphens=False)
    parser = OneLineErrors(
        prog=PROG, description=description, epilog=ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"mmabench {__version__}")
    parser.add_argument("--full", dest="everything_full", action="store_true",
                        help="with no sub-command: the exhaustive sweeps (several minutes)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    top = options.bind(TOP_LEVEL, parser, "python -m mmabench with no sub-command")
    for module in _modules():
        before = set(sub.choices)
        module.add_parser(sub)
        (name,) = set(sub.choices) - before
        if module.OPTIONS.devices:  # a mode measures on a GPU: offer --devices
            from mmabench import devices
            devices.add_option(sub.choices[name])
        options.bind(module.OPTIONS, sub.choices[name], name, outer=top)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    opened_before = len(record.folders_opened())   # this command's run folders come after these
    try:
        # Building the parser imports every sub-command: a package run from a checkout that is
        # not installed cannot find its files, and says so in one line.
        parser = build_parser()
        args = options.parse(parser, argv)  # an option the chosen mode does not read: refused
        if getattr(args, "devices", None) is not None:  # one child process per GPU
            from mmabench import devices
            return devices.run(args, argv)
        if args.command is None:
            from mmabench.everything import run_everything
            return run_everything(parser, full=args.everything_full)
        return args.func(args)
    except UserError as exc:
        print(f"mmabench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # what was kept, as the run folders hold it now (rows are written as they are measured)
        kept = record.kept_message(record.folders_opened()[opened_before:])
        print(f"mmabench: interrupted; {kept}", file=sys.stderr)
        workers.leave_if_stuck(130)     # a compile stuck in native code is not waited for
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
