"""Sliding-window request counters, the way the vendors count: N requests per window per key."""

from __future__ import annotations

import threading
import time
from collections import deque


class SlidingWindow:
    """Allows `limit` events per `window_seconds` for each key; `hit` says whether one more is allowed."""

    def __init__(self, limit: int, window_seconds: float, clock=time.monotonic) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> bool:
        """Record one event for `key` if the window has room; False when it is full."""
        now = self._clock()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self.window_seconds:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(now)
            return True

    def remaining(self, key: str) -> int:
        now = self._clock()
        with self._lock:
            events = self._events.get(key, deque())
            return max(0, self.limit - sum(1 for t in events if t > now - self.window_seconds))

    def seconds_until_free(self, key: str) -> float:
        """How long until one more event would be allowed for `key`."""
        now = self._clock()
        with self._lock:
            events = self._events.get(key)
            if not events or len(events) < self.limit:
                return 0.0
            return max(0.0, events[0] + self.window_seconds - now)
