"""An in-process sliding-window counter: at most ``limit`` events per key within ``window`` seconds.

Used for failed logins (per account and address, per address, per account) and uploads (per principal); one
process serves the API, so in-process state is enough and needs no extra service.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    """Counts recent events per key; thread-safe. ``max_keys`` bounds memory under a flood of new keys."""

    def __init__(
        self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self.limit, self.window, self.clock, self.max_keys = limit, window, clock, max_keys
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        events = self._events.get(key)
        if events is None:
            return None
        while events and events[0] <= now - self.window:
            events.popleft()
        if not events:
            del self._events[key]
            return None
        return events

    def retry_after(self, key: str) -> float | None:
        """Seconds until ``key`` may try again, or None when it is under the limit."""
        with self._lock:
            now = self.clock()
            events = self._recent(key, now)
            if events is None or len(events) < self.limit:
                return None
            return max(events[0] + self.window - now, 0.0)

    def hit(self, key: str) -> None:
        """Count one event for ``key``."""
        with self._lock:
            self._hit(key, self.clock())

    def _hit(self, key: str, now: float) -> None:
        if key not in self._events and len(self._events) >= self.max_keys:
            for other in list(self._events):
                self._recent(other, now)  # drops keys with nothing recent
            if len(self._events) >= self.max_keys:  # still full: forget the oldest key
                self._events.pop(next(iter(self._events)))
        self._events.setdefault(key, deque()).append(now)

    def take(self, key: str) -> float | None:
        """Count one event for ``key`` if it is under the limit (None); else the seconds to wait, counting nothing.

        Check and count in one step: concurrent requests of one key cannot all slip in under the limit.
        """
        with self._lock:
            now = self.clock()
            events = self._recent(key, now)
            if events is not None and len(events) >= self.limit:
                return max(events[0] + self.window - now, 0.0)
            self._hit(key, now)
            return None

    def reset(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)

    def undo(self, key: str) -> None:
        """Forget the latest event of ``key`` (one counted in advance that turned out not to count)."""
        with self._lock:
            events = self._events.get(key)
            if events:
                events.pop()
                if not events:
                    del self._events[key]
