"""Parallel work and child processes that Ctrl-C stops at once.

Leaving a `with ThreadPoolExecutor()` block waits for every queued job, so Ctrl-C during
`regs --all` went on compiling for minutes; and a tool a worker thread runs (ptxas, nvdisasm,
compute-sanitizer) runs on after mmabench alone was signalled. Here:

- `pool(jobs)`: a thread pool that, when its block ends with an exception (Ctrl-C included),
  cancels the queued jobs, kills the tools its workers run and refuses to start new ones, and
  does not wait for the running jobs, whose results nobody will read;
- `run(args)`: subprocess.run for a tool, in its own process group so that it can be killed
  with its children (compute-sanitizer's target) by the pool, or when the caller is interrupted;
- `leave_if_stuck(code)`: a job stuck in native code (an NVRTC compile) cannot be stopped, and
  Python would wait for it at exit; the CLI leaves without it.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

STUCK_GRACE_S = 0.5     # how long a stopped pool's running jobs get to end before they count as stuck


class _Stop:
    """One pool's stop switch: its live tools, and whether it was stopped."""

    def __init__(self):
        self.lock = threading.Lock()
        self.stopped = False
        self.children: set[subprocess.Popen] = set()
        self.threads: list[threading.Thread] = []

    def stop(self) -> None:
        with self.lock:
            self.stopped = True
            children = list(self.children)
        for proc in children:
            _kill(proc)


_here = threading.local()          # .stop: the _Stop of the pool this worker thread belongs to
_abandoned: list[_Stop] = []       # stopped pools whose threads may still run


def _join_pool(stop: _Stop) -> None:
    _here.stop = stop
    with stop.lock:
        stop.threads.append(threading.current_thread())


@contextmanager
def pool(jobs: int):
    """A ThreadPoolExecutor for `with workers.pool(n) as executor:`; see the module's note."""
    stop = _Stop()
    executor = ThreadPoolExecutor(max_workers=jobs, initializer=_join_pool, initargs=(stop,))
    try:
        yield executor
    except BaseException:
        stop.stop()
        executor.shutdown(wait=False, cancel_futures=True)
        _abandoned.append(stop)
        raise
    executor.shutdown(wait=True)


def run(args: list, timeout: float | None = None) -> subprocess.CompletedProcess:
    """subprocess.run(args, capture_output=True, text=True, timeout=timeout), killable as above.
    In a stopped pool's worker it starts nothing and raises KeyboardInterrupt."""
    stop = getattr(_here, "stop", None)
    if stop is not None:
        with stop.lock:
            if stop.stopped:
                raise KeyboardInterrupt
            proc = _start(args)
            stop.children.add(proc)
    else:
        proc = _start(args)
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:           # a timeout, or Ctrl-C in the thread that waits
        _kill(proc)
        proc.wait()
        raise
    finally:
        if stop is not None:
            with stop.lock:
                stop.children.discard(proc)
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def _start(args: list) -> subprocess.Popen:
    # its own process group: killed with its children; a terminal's Ctrl-C reaches mmabench only
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:     # ended and reaped: its id may belong to another process now
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def stuck_threads(grace_s: float = STUCK_GRACE_S) -> list[threading.Thread]:
    """Threads of stopped pools still running after `grace_s` (those in native code)."""
    deadline = time.monotonic() + grace_s
    threads = [t for stop in _abandoned for t in stop.threads]
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return [t for t in threads if t.is_alive()]


def leave_if_stuck(code: int) -> None:
    """End the process now with `code` if a stopped pool's job is still running: Python's exit
    would wait for it (an NVRTC compile can take seconds) to throw its result away. Python's
    exit handlers run first (a progress bar gives the cursor back); files mmabench keeps are
    written whole (core.atomic_file), so none is left half written."""
    if not stuck_threads():
        return
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
