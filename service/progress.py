"""A dependency-free progress bar for long runs, drawn on stderr."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts items done out of ``total`` and redraws one stderr line at most ten times a second.

    ``enabled=None`` draws only when the stream is a terminal, so piped and CI logs stay clean.
    """

    def __init__(self, total: int, *, enabled: bool | None = None, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.done = 0
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._start = time.monotonic()
        self._drawn = 0.0

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and (now - self._drawn >= 0.1 or self.done >= self.total):
            self._drawn = now
            self._draw(now)

    def update(self, done: int, total: int) -> None:
        """Set the count to ``done`` of ``total``: the ``progress(done, total)`` callback of long runs."""
        self.total = total
        self.advance(done - self.done)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self._start, 1e-9)
        rate = self.done / elapsed
        frac = self.done / self.total if self.total else 1.0
        bar = "#" * int(frac * 30)
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        self.stream.write(f"\r[{bar:<30}] {self.done}/{self.total} {rate:.1f} img/s eta {eta:.0f}s ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
