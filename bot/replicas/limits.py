"""Rate-limit windows shared by every replica (Redis) or kept in this process.

:class:`Window` is the async interface the web chat and the console login use: ``hit`` checks
and counts in one atomic step (a Lua script in Redis, a synchronous step on the event loop in
process), so concurrent requests — on one replica or on several — can never both take the last
free slot. :class:`LocalWindow` wraps :class:`bot.ratelimit.SlidingWindow`; :class:`RedisWindow`
keeps each key's events in a sorted set scored by the Redis server's own clock (replicas'
clocks may differ). When Redis is unreachable a :class:`RedisWindow` counts in process instead
(one warning), so a Redis outage never blocks patrons or librarians; the limit is then per
replica until Redis is back.

:class:`LoginWindows` reserves a console login attempt against the per-address and the
per-username window together (both or neither), see :mod:`bot.console.limiter`.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.ratelimit import SlidingWindow

log = logging.getLogger(__name__)

# KEYS: the window keys; ARGV: window ms, member, then one limit per key.
# Counts the event in every key when each is under its limit; else returns the ms to wait.
_HIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 + i])
  if limit > 0 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
    if redis.call('ZCARD', key) >= limit then
      local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
      local left = tonumber(oldest[2]) + window - now
      if left > wait then wait = left end
      if wait <= 0 then wait = 1 end
    end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  if tonumber(ARGV[2 + i]) > 0 then
    redis.call('ZADD', key, now, ARGV[2])
    redis.call('PEXPIRE', key, window)
  end
end
return 0
"""


class Window(Protocol):
    """At most ``limit`` events per key within ``window`` seconds (``limit <= 0``: unlimited)."""

    limit: int
    window: float

    async def hit(self, key: str) -> float:
        """Count an event for ``key`` if allowed; returns 0, or the seconds to wait (nothing counted)."""
        ...


class LocalWindow:
    """:class:`Window` in this process."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.counts = SlidingWindow(limit, window)

    async def hit(self, key: str) -> float:
        """See :meth:`Window.hit`."""
        return self.counts.hit(key)


class RedisWindow:
    """:class:`Window` in Redis under ``prefix`` (falls back to this process while Redis is down)."""

    def __init__(self, redis: Redis, prefix: str, limit: int, window: float) -> None:
        self.redis = redis
        self.prefix = prefix
        self.limit = limit
        self.window = window
        self.fallback = LocalWindow(limit, window)
        self._script = redis.register_script(_HIT)
        self._warned = 0.0

    async def hit(self, key: str) -> float:
        """See :meth:`Window.hit`."""
        if self.limit <= 0:
            return 0.0
        try:
            ms = await self._script(
                keys=[self.prefix + key],
                args=[int(self.window * 1000), f"{time.time_ns()}:{secrets.token_hex(4)}", self.limit],
            )
        except (RedisError, OSError) as exc:
            _warn(self, exc)
            return await self.fallback.hit(key)
        return int(ms) / 1000.0


def _warn(owner: RedisWindow | LoginWindows, exc: BaseException) -> None:
    now = time.monotonic()
    if now - owner._warned > 60:
        owner._warned = now
        log.warning("Redis unreachable for rate limits (%s); counting in this replica meanwhile", exc)


class LoginWindows:
    """Reserve a console login attempt per address and per username at once.

    ``reserve`` returns a reservation id (give it back with :meth:`undo` when the password was
    right) or the seconds to wait. In process when ``redis`` is None.
    """

    def __init__(self, redis: Redis | None, prefix: str, address_limit: int, user_limit: int, window: float) -> None:
        self.redis = redis
        self.prefix = prefix
        self.address_limit = address_limit
        self.user_limit = user_limit
        self.window = window
        self.by_address = SlidingWindow(address_limit, window)
        self.by_user = SlidingWindow(user_limit, window)
        self._script = redis.register_script(_HIT) if redis is not None else None
        self._warned = 0.0

    async def reserve(self, address_key: str, user_key: str) -> str | float:
        """The reservation id, or the seconds to wait (nothing counted)."""
        if self.redis is not None and self._script is not None:
            member = f"{time.time_ns()}:{secrets.token_hex(6)}"
            try:
                ms = await self._script(
                    keys=[self.prefix + address_key, self.prefix + user_key],
                    args=[int(self.window * 1000), member, self.address_limit, self.user_limit],
                )
            except (RedisError, OSError) as exc:
                _warn(self, exc)
            else:
                return int(ms) / 1000.0 if int(ms) else "r:" + member
        wait = max(self.by_address.wait(address_key), self.by_user.wait(user_key))
        if wait > 0:
            return wait
        self.by_address.hit(address_key)
        self.by_user.hit(user_key)
        return "l:"

    async def undo(self, reservation: str, address_key: str, user_key: str) -> None:
        """Take back the reservation (a successful login is not a failed attempt)."""
        if reservation.startswith("r:") and self.redis is not None:
            try:
                await self.redis.zrem(self.prefix + address_key, reservation[2:])
                await self.redis.zrem(self.prefix + user_key, reservation[2:])
            except (RedisError, OSError) as exc:
                _warn(self, exc)
            return
        self.by_address.undo(address_key)
        self.by_user.undo(user_key)
