"""A progress bar on stderr: redrawn in place on a terminal, a line per 10%
otherwise (CI logs), silent when disabled."""
from __future__ import annotations

import sys
import time


class Progress:
    WIDTH = 30

    def __init__(self, total: float, enabled: bool = True, stream=None):
        self.total, self.enabled = max(total, 1e-9), enabled
        self.stream = stream or sys.stderr
        self.tty = self.enabled and self.stream.isatty()
        self.t0 = time.time()
        self.done = 0.0
        self.last_decile = -1

    def update(self, done: float, label: str = "") -> None:
        self.done = done
        if not self.enabled:
            return
        frac = min(self.done / self.total, 1.0)
        elapsed = time.time() - self.t0
        bar = "#" * int(frac * self.WIDTH) + "." * (self.WIDTH - int(frac * self.WIDTH))
        line = f"[{bar}] {frac * 100:5.1f}% {elapsed:6.1f}s  {label[:60]}"
        if self.tty:
            print(f"\r{line:<110s}", end="", file=self.stream, flush=True)
        elif int(frac * 10) > self.last_decile:
            self.last_decile = int(frac * 10)
            print(line, file=self.stream, flush=True)

    def finish(self, message: str) -> None:
        if self.enabled:
            print(("\r" if self.tty else "") + f"{message:<110s}", file=self.stream, flush=True)
