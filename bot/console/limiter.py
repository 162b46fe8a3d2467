"""Login rate limiting: failed attempts counted per address and per username in a time window."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class LoginLimiter:
    """Allows ``limit`` failed logins per key within ``window`` seconds."""

    def __init__(self, limit: int, window: float = 900.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = self._clock()
        failures = self._failures.setdefault(key, deque())
        while failures and now - failures[0] > self.window:
            failures.popleft()
        if not failures:
            self._failures.pop(key, None)
        return failures

    def retry_after(self, *keys: str) -> float:
        """Seconds until another attempt is allowed for all of ``keys`` (0 if allowed now)."""
        wait = 0.0
        for key in keys:
            failures = self._recent(key)
            if len(failures) >= self.limit:
                wait = max(wait, self.window - (self._clock() - failures[0]))
        return wait

    def fail(self, *keys: str) -> None:
        """Count one failed attempt for each of ``keys``."""
        now = self._clock()
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)

    def reset(self, *keys: str) -> None:
        """Forget the failures of ``keys`` (after a successful login)."""
        for key in keys:
            self._failures.pop(key, None)
