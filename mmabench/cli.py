"""Command line: `python -m mmabench [info|mma|regs|attention] ...`.

A thin layer: each sub-command lives with its benchmark and calls functions a notebook can
call too. A UserError (bad input, missing tool, no GPU) prints one line, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import UserError

# Sub-command modules, each with add_parser(subparsers); a missing one is simply not offered.
SUBCOMMANDS = ("mmabench.info", "mmabench.mma.cli", "mmabench.compiler.cli", "mmabench.attention.cli",
               "mmabench.compare", "mmabench.plot", "mmabench.arith.cli")


def _modules():
    for name in SUBCOMMANDS:
        try:
            yield importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mmabench",
        description="Is fp16 accumulation worth it on this GPU? Tensor-core microbenchmarks in "
                    "hand-written PTX (mma.sync f16 vs f32 accumulation), a fused attention "
                    "kernel with either accumulator, and offline register/SASS reports. "
                    "With no sub-command: everything the machine supports.")
    parser.add_argument("--version", action="version", version=f"mmabench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _modules():
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            from .everything import run_everything
            return run_everything(parser)
        return args.func(args)
    except UserError as exc:
        print(f"mmabench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mmabench: interrupted; rows measured so far are in the results folder",
              file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
