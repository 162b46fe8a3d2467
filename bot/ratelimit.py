"""In-process sliding-window counters for rate limits (web chat, handoffs, console logins).

:meth:`SlidingWindow.hit` checks and counts in one synchronous step, so concurrent requests on
the event loop can never both take the last free slot. State lives in the object (one per
application), never in module globals. With several gateway replicas each counts on its own.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

MAX_KEYS = 50_000  # forget idle keys beyond this many (a flood of random addresses)


class SlidingWindow:
    """At most ``limit`` events per key within ``window`` seconds; ``limit <= 0`` means unlimited."""

    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque()
        while events and now - events[0] >= self.window:
            events.popleft()
        return events

    def _prune(self, now: float) -> None:
        if len(self._events) <= MAX_KEYS:
            return
        self._events = {k: e for k, e in self._events.items() if e and now - e[-1] < self.window}

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may have another event (0 when it may now); counts nothing."""
        if self.limit <= 0:
            return 0.0
        now = self._clock()
        events = self._recent(key, now)
        if len(events) < self.limit:
            if not events:
                self._events.pop(key, None)
            return 0.0
        return max(0.0, self.window - (now - events[0]))

    def hit(self, key: str) -> float:
        """Count an event for ``key`` if allowed; returns 0, or the seconds to wait (nothing counted)."""
        if self.limit <= 0:
            return 0.0
        now = self._clock()
        events = self._recent(key, now)
        if len(events) >= self.limit:
            return max(0.0, self.window - (now - events[0]))
        events.append(now)
        self._prune(now)
        return 0.0

    def add(self, key: str) -> None:
        """Count an event for ``key`` unconditionally."""
        if self.limit > 0:
            self._recent(key, self._clock()).append(self._clock())
            self._prune(self._clock())

    def undo(self, key: str) -> None:
        """Take back the newest event of ``key`` (a reservation that turned out not to count)."""
        events = self._events.get(key)
        if events:
            events.pop()
            if not events:
                self._events.pop(key, None)


def retry_after_header(seconds: float) -> str:
    """``Retry-After`` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
