"""Progress of a long loop on stderr: a rich progress bar on a terminal; elsewhere (a log, CI) a
plain line at every 10th step and at the last, so logs stay short."""

from __future__ import annotations

import atexit
import sys
import time


class Progress:
    def __init__(self, total: int, label: str):
        self.total, self.label, self.done = total, label, 0
        self.start = time.monotonic()
        self.tty = sys.stderr.isatty()
        self._bar = None

    def step(self, what: str) -> None:
        self.done += 1
        if self.tty:
            self._draw(what)
        elif self.done % 10 == 0 or self.done == self.total:
            width = 24
            filled = int(width * self.done / max(self.total, 1))
            line = (f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                    f"{time.monotonic() - self.start:5.1f}s {what}")
            sys.stderr.write(line[:120] + "\n")
            sys.stderr.flush()

    def _draw(self, what: str) -> None:
        if self._bar is None:
            from rich import progress as rp
            from rich.console import Console

            # redrawn on each step only (no thread), and stdout is left alone
            self._bar = rp.Progress(
                rp.TextColumn("{task.description}", markup=False), rp.BarColumn(bar_width=24),
                rp.MofNCompleteColumn(), rp.TimeElapsedColumn(),
                rp.TextColumn("{task.fields[what]}", markup=False),
                console=Console(stderr=True), auto_refresh=False,
                redirect_stdout=False, redirect_stderr=False)
            self._task = self._bar.add_task(self.label, total=self.total, what="")
            self._bar.start()
            atexit.register(self._bar.stop)   # an interrupted loop still gets its cursor back
        self._bar.update(self._task, completed=self.done, what=what)
        self._bar.refresh()
        if self.done >= self.total:
            self._bar.stop()
            atexit.unregister(self._bar.stop)
