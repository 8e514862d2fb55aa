"""`python -m mmabench` with no sub-command: all that the machine supports, with defaults.

The default answers the question quickly (about a minute on an H100): the instruction suite's
small sweep, the attention kernel on four shapes with the schemes that matter, the Hopper
instruction where the GPU has it, and the offline register report. `--full` passes --full to
every measuring step (exhaustive sweeps, more interleaved rounds).
"""

from __future__ import annotations

import argparse
import time

from . import gpu

# (sub-command argv, needs a GPU, takes --full)
JOBS = (
    (["info"], False, False),
    (["mma"], True, True),
    (["wgmma"], True, True),
    (["attention"], True, True),
    (["regs"], False, False),
)


def run_everything(parser: argparse.ArgumentParser, full: bool = False) -> int:
    reason = gpu.unavailable_reason()
    if reason:
        print(f"no GPU: {reason}; running what needs none (the offline compiler report)")
    known = parser._subparsers._group_actions[0].choices  # the sub-commands present
    status = 0
    for argv, needs_gpu, takes_full in JOBS:
        if argv[0] not in known or (needs_gpu and reason):
            continue
        if needs_gpu and argv[0] == "wgmma" and not _has_wgmma():
            print("\n=== wgmma: skipped (wgmma needs sm_90a, this GPU is "
                  f"{gpu.device_arch()})")
            continue
        argv = argv + (["--full"] if full and takes_full else [])
        print(f"\n=== python -m mmabench {' '.join(argv)}", flush=True)
        t0 = time.monotonic()
        args = parser.parse_args(argv)
        status = max(status, args.func(args) or 0)
        print(f"=== {argv[0]}: {time.monotonic() - t0:.1f} s", flush=True)
    return status


def _has_wgmma() -> bool:
    return gpu.device_arch() == "sm_90"
