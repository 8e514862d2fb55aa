"""One child process per GPU: its command line, its environment, and the launcher that runs it.

The child is `python -m mmabench <the same arguments without --devices>`, pinned to one GPU with
CUDA_VISIBLE_DEVICES and writing under its own results root. The launcher is a plain callable
(command, env, log path) -> exit status, so tests can swap in a fake child.
"""

from __future__ import annotations

import codecs
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

from mmabench.devices.inventory import Device

Launcher = Callable[[list, dict, Path], int]

PACKAGE_ROOT = Path(__file__).resolve().parents[2]   # the folder holding this copy of mmabench


def _drop_option(argv: list[str], name: str) -> list[str]:
    """`argv` without `name VALUE` / `name=VALUE`, also as an abbreviation argparse accepted."""
    def names_it(token: str) -> bool:
        head = token.split("=", 1)[0]
        return len(head) > 2 and head.startswith("--") and name.startswith(head)

    out, skip = [], False
    for token in argv:
        if skip:
            skip = False
        elif names_it(token):
            skip = "=" not in token
        else:
            out.append(token)
    return out


def child_argv(argv: list[str], results_dir: Path | None) -> list[str]:
    """The child's arguments: `--devices` dropped, `--results` pointed at its own folder
    (None: the sub-command has no --results; the environment carries the root instead)."""
    out = _drop_option(argv, "--devices")
    if results_dir is not None:
        out = _drop_option(out, "--results") + ["--results", str(results_dir)]
    return out


def child_env(device: Device, results_dir: Path, base: dict | None = None) -> dict:
    env = dict(os.environ if base is None else base)
    env["CUDA_VISIBLE_DEVICES"] = device.uuid or str(device.index)
    env["MMABENCH_RESULTS"] = str(results_dir)
    env["MMABENCH_DEVICE_INDEX"] = str(device.index)
    env["MMABENCH_DEVICE_UUID"] = device.uuid
    # the child imports the same copy of mmabench as this process
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
    return env


def base_command() -> list[str]:
    return [sys.executable, "-m", "mmabench"]


def _copy(stream, log) -> None:
    decode = codecs.getincrementaldecoder("utf-8")(errors="replace")
    for chunk in iter(lambda: stream.read1(1 << 16), b""):
        log.write(chunk)
        log.flush()
        sys.stdout.write(decode.decode(chunk))
        sys.stdout.flush()


# After Ctrl-C, how long the child gets to stop on its own (it writes its rows as it measures them,
# whole, and stops in well under a second) before it is killed.
CHILD_STOP_S = 1.5


def run_child(command: list, env: dict, log_path: Path) -> int:
    """Run the child with its output shown here and kept in `log_path`; its exit status
    (negative: killed by that signal). Ctrl-C: the child gets one SIGINT from here and
    CHILD_STOP_S to end, then it is killed; the interrupt goes on."""
    with open(log_path, "wb") as log:
        # Its own process group: a terminal's Ctrl-C reaches this process only, and the child gets
        # exactly one SIGINT (from _stop) whether the terminal or a `kill` sent it.
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        reader = threading.Thread(target=_copy, args=(proc.stdout, log), daemon=True)
        reader.start()
        try:
            status = proc.wait()
        except KeyboardInterrupt:
            _stop(proc)
            reader.join(timeout=1)
            raise
        reader.join()
        return status


def _stop(proc: subprocess.Popen) -> None:
    for sig, grace in ((signal.SIGINT, CHILD_STOP_S), (signal.SIGKILL, 1)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)     # the child and whatever it started
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def describe_status(status: int) -> str:
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"
