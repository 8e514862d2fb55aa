"""`python -m mmabench` with no sub-command: all that the machine supports, with defaults."""

from __future__ import annotations

import argparse

from . import gpu


def run_everything(parser: argparse.ArgumentParser) -> int:
    reason = gpu.unavailable_reason()
    if reason:
        print(f"no GPU: {reason}; running what needs none (the offline compiler report)")
    jobs = [["info"]]
    if not reason:
        jobs.append(["mma"])
        jobs.append(["attention"])
    jobs.append(["regs"])
    known = parser._subparsers._group_actions[0].choices  # the sub-commands present
    status = 0
    for argv in jobs:
        if argv[0] not in known:
            continue
        print(f"\n=== python -m mmabench {' '.join(argv)}")
        args = parser.parse_args(argv)
        status = max(status, args.func(args) or 0)
    return status
