"""`python -m mmabench` with no sub-command: all that the machine supports, with defaults.

The default answers the question quickly (about a minute on an H100): the instruction suite's
small sweep, the attention kernel on four shapes with the schemes that matter, the Hopper
instruction where the GPU has it, and the offline register report. `--full` passes --full to
every measuring step (exhaustive sweeps, more interleaved rounds). To fit its time budget the
default times its comparisons (mma, wgmma, attention) in the burst regime, and says so in its header, tables and rows; the
sustained regime (each sub-command's own default) gives the headline ratios.
"""

from __future__ import annotations

import argparse
import time

from mmabench import hardware
from mmabench.core import options

# (argv by default, argv with --full, needs a GPU). wgmma by default: the widest N of each input
# and input width (f16, FP8: the rate and the f16/f32 question); --full: every N, type, A source
# and swizzle.
JOBS = (
    (["info"], ["info"], False),
    (["mma", "--regime", "burst"], ["mma", "--full"], True),
    (["wgmma", "--n", "256", "--type", "f16,e4m3", "--regime", "burst"], ["wgmma", "--full"], True),
    (["attention", "--regime", "burst"], ["attention", "--full"], True),
    (["regs"], ["regs"], False),
)


def run_everything(parser: argparse.ArgumentParser, full: bool = False) -> int:
    reason = hardware.unavailable_reason()
    if reason:
        print(f"no GPU: {reason}; running what needs none (the offline compiler report)"
              + ("; --full changes nothing without a GPU" if full else ""))
    known = parser._subparsers._group_actions[0].choices  # the sub-commands present
    status = 0
    for default_argv, full_argv, needs_gpu in JOBS:
        argv = full_argv if full else default_argv
        if argv[0] not in known or (needs_gpu and reason):
            continue
        if needs_gpu and argv[0] == "wgmma" and not _has_wgmma():
            print("\n=== wgmma: skipped (wgmma needs sm_90a, this GPU is "
                  f"{hardware.device_arch()})")
            continue
        print(f"\n=== python -m mmabench {' '.join(argv)}", flush=True)
        t0 = time.monotonic()
        args = options.parse(parser, argv)
        status = max(status, args.func(args) or 0)
        print(f"=== {argv[0]}: {time.monotonic() - t0:.1f} s", flush=True)
    return status


def _has_wgmma() -> bool:
    return hardware.device_arch() == "sm_90"
