"""A one-line progress bar on stderr (no dependency; silent when stderr is not a terminal
except for every 10th step and the last, so logs stay short)."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, label: str):
        self.total, self.label, self.done = total, label, 0
        self.start = time.monotonic()
        self.tty = sys.stderr.isatty()

    def step(self, what: str) -> None:
        self.done += 1
        if not self.tty and self.done % 10 and self.done != self.total:
            return
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        bar = "#" * filled + "." * (width - filled)
        line = (f"{self.label} [{bar}] {self.done}/{self.total} "
                f"{time.monotonic() - self.start:5.1f}s {what}")
        end = "\r" if self.tty and self.done < self.total else "\n"
        sys.stderr.write(line[:120].ljust(120 if self.tty else 0) + end)
        sys.stderr.flush()
