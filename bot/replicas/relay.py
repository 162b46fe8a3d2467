"""Console live updates across replicas: each event is published on a Redis channel and every
replica hands it to its own open console websockets.

The replica where the event happened delivers it to its own sockets at once (not through Redis)
and tags the published copy with its id, so it skips its own copy; the other replicas deliver
what they receive. While Redis is unreachable the local delivery still happens (consoles on
other replicas then refresh on their periodic poll) and the subscriber reconnects with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

Deliver = Callable[[dict[str, Any]], Awaitable[None]]


class RedisRelay:
    """Publish console events to the other replicas and deliver theirs here."""

    def __init__(self, redis: Redis, channel: str, origin: str, deliver: Deliver, *, listener: Redis | None = None) -> None:
        self.redis = redis
        self.listener = listener or redis  # without a read timeout: a quiet channel is no error
        self.channel = channel
        self.origin = origin
        self.deliver = deliver
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()

    async def publish(self, event: dict[str, Any]) -> None:
        """Send ``event`` to the other replicas (logged, never raised, when Redis is down)."""
        try:
            await self.redis.publish(self.channel, json.dumps({"origin": self.origin, "event": event}))
        except (RedisError, OSError) as exc:
            log.warning("console update not relayed to other replicas (Redis: %s)", exc)

    async def start(self) -> None:
        """Start listening (returns at once; :attr:`subscribed` is set once subscribed)."""
        self._task = asyncio.get_running_loop().create_task(self._listen(), name="console-relay")

    async def stop(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _listen(self) -> None:
        delay = 0.5
        while True:
            pubsub = self.listener.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.subscribed.set()
                delay = 0.5
                async for message in pubsub.listen():
                    await self._handle(message)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self.subscribed.clear()
                log.warning("console relay lost Redis (%s); reconnecting in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(30.0, delay * 2)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _handle(self, message: dict[str, Any]) -> None:
        if message.get("type") != "message":
            return
        try:
            data = json.loads(message["data"])
        except (TypeError, ValueError):
            return
        if not isinstance(data, dict) or data.get("origin") == self.origin or not isinstance(data.get("event"), dict):
            return
        try:
            await self.deliver(data["event"])
        except Exception:  # noqa: BLE001 - one bad event must not stop the relay
            log.exception("delivering a relayed console update failed")
