"""Builds the replica-shared state for the settings (see :mod:`bot.replicas`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
import secrets
from dataclasses import dataclass, field

from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.replicas.leader import replica_id
from bot.replicas.limits import LocalWindow, RedisWindow, Window
from bot.replicas.locks import AdvisoryLocks, ConversationLocks, LocalLocks
from bot.settings import Settings


def conversation_key(channel: str, external_id: str) -> str:
    """The lock key of a conversation (the inbox and the router take the same one)."""
    return f"conversation:{channel}:{external_id}"


def conversation_locks(engine: AsyncEngine) -> ConversationLocks:
    """Advisory locks on PostgreSQL (several replicas may share it), asyncio locks otherwise."""
    return AdvisoryLocks(engine) if engine.dialect.name == "postgresql" else LocalLocks()


@dataclass
class Replicas:
    """This replica's name and its Redis client (None: one machine, everything in process)."""

    origin: str = field(default_factory=lambda: f"{replica_id()}:{secrets.token_hex(3)}")  # unique per app
    redis: Redis | None = None
    prefix: str = "pustakabot:"
    #: a client without read timeout for pub/sub subscribers (they wait for messages)
    listener: Redis | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Replicas:
        """The client for ``REDIS_URL`` (connects lazily; a down Redis degrades, see each user)."""
        redis = (
            Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2,
                           health_check_interval=30)
            if settings.redis_url else None
        )
        listener = (
            Redis.from_url(settings.redis_url, socket_connect_timeout=2, health_check_interval=30)
            if settings.redis_url else None
        )
        return cls(redis=redis, prefix=settings.redis_prefix, listener=listener)

    def window(self, name: str, limit: int, seconds: float) -> Window:
        """A rate-limit window shared by every replica (Redis) or in this process."""
        if self.redis is None:
            return LocalWindow(limit, seconds)
        return RedisWindow(self.redis, f"{self.prefix}rate:{name}:", limit, seconds)

    async def close(self) -> None:
        """Close the Redis connections."""
        for client in (self.redis, self.listener):
            if client is not None:
                await client.aclose()


def context(replicas: Replicas) -> object:
    """A cleanup context closing ``replicas`` when the app stops."""

    async def ctx(_app: web.Application) -> AsyncIterator[None]:
        yield
        await replicas.close()

    return ctx
