"""Platform send pacing shared by every replica (Redis), e.g. Telegram's ~30 messages/s per bot.

The same algorithm as :class:`bot.channels.base.Pacer` (reserve the next free slot: at least
``interval`` per chat, ``1/rate`` between any two sends), run as one Lua script on Redis's
clock, so N replicas together stay within the bot's limit instead of N times it. While Redis is
unreachable the replica paces on its own (the in-process :class:`Pacer`).
"""

from __future__ import annotations

import asyncio
import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.channels.base import Pacer

log = logging.getLogger(__name__)

# KEYS[1] the bot's next free slot, KEYS[2] this chat's; ARGV gap ms, interval ms. Returns ms to wait.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local gap = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local at = now
local nk = tonumber(redis.call('GET', KEYS[2]) or '0')
local ng = tonumber(redis.call('GET', KEYS[1]) or '0')
if nk > at then at = nk end
if ng > at then at = ng end
if gap > 0 then redis.call('SET', KEYS[1], at + gap, 'PX', math.max(1000, at + gap - now + 1000)) end
if interval > 0 then redis.call('SET', KEYS[2], at + interval, 'PX', math.max(1000, at + interval - now + 1000)) end
return at - now
"""

# KEYS[1] this chat's next slot; ARGV interval ms: the slot is at least ``interval`` after now.
_SENT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local at = now + tonumber(ARGV[1])
local nk = tonumber(redis.call('GET', KEYS[1]) or '0')
if nk > at then at = nk end
redis.call('SET', KEYS[1], at, 'PX', at - now + 1000)
return at - now
"""


class RedisPacer:
    """:class:`Pacer` across replicas (module doc)."""

    def __init__(self, redis: Redis, prefix: str, *, interval: float, rate: float) -> None:
        self.redis = redis
        self.prefix = prefix
        self.interval = interval
        self.gap = 1.0 / rate if rate > 0 else 0.0
        self.local = Pacer(interval=interval, rate=rate)
        self._script = redis.register_script(_RESERVE)
        self._sent = redis.register_script(_SENT)
        self._warned = 0.0

    async def reserve(self, key: str) -> float:
        """Reserve the next free slot for ``key``; returns seconds to wait for it."""
        if self.gap <= 0 and self.interval <= 0:
            return 0.0
        try:
            ms = await self._script(
                keys=[f"{self.prefix}all", f"{self.prefix}chat:{key}"],
                args=[int(self.gap * 1000), int(self.interval * 1000)],
            )
        except (RedisError, OSError) as exc:
            if time.monotonic() - self._warned > 60:
                self._warned = time.monotonic()
                log.warning("Redis unreachable for send pacing (%s); pacing this replica alone", exc)
            return self.local.reserve(key)
        return max(0, int(ms)) / 1000.0

    async def wait(self, key: str) -> None:
        """Sleep until ``key`` may send."""
        delay = await self.reserve(key)
        if delay > 0:
            await asyncio.sleep(delay)

    async def sent(self, key: str) -> None:
        """A call to ``key`` returned: its next slot is at least ``interval`` from now (see
        :meth:`Pacer.sent`)."""
        await self.local.sent(key)
        if self.interval <= 0:
            return
        try:
            await self._sent(keys=[f"{self.prefix}chat:{key}"], args=[int(self.interval * 1000)])
        except (RedisError, OSError):
            pass  # reserve() already warns and falls back to the local pacer
