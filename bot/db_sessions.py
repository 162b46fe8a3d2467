"""The gateway's session factory: on SQLite, write transactions of the process take turns.

SQLite has one writer at a time. Left alone, every ``sessions.begin()`` transaction of the
gateway (router, inbox, outbox, handoff, console) would wait for the write lock inside
SQLite's busy handler, which is not first-come-first-served: under load some writers starve
past ``busy_timeout`` and fail with "database is locked" (the load benchmark saw this). Here
``begin()`` first waits its turn on an asyncio lock, in arrival order, so within one process
writers never meet inside SQLite; other processes (the CLI, a second gateway) still meet the
busy timeout. Plain ``sessions()`` (reads, or code committing by hand) is not affected, and
neither is any other database (PostgreSQL handles concurrent writers itself).

A ``begin()`` nested inside another in the same task does not wait (it would wait forever),
and a turn that takes longer than ``max_wait`` seconds is skipped with a warning rather than
blocking the caller for good.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from types import TracebackType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

_holding: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "pustakabot_write_turn", default=False
)


class _Turn:
    """``async with``: wait for the write turn, then enter the session's transaction."""

    def __init__(self, lock: asyncio.Lock, inner: Any, max_wait: float) -> None:
        self._lock = lock
        self._inner = inner
        self._max_wait = max_wait
        self._acquired = False
        self._token: contextvars.Token[bool] | None = None

    async def __aenter__(self) -> AsyncSession:
        if not _holding.get():
            try:
                await asyncio.wait_for(self._lock.acquire(), self._max_wait)
                self._acquired = True
            except TimeoutError:
                log.warning(
                    "waited %.0f s for the SQLite write turn; writing without it", self._max_wait
                )
            self._token = _holding.set(True)
        try:
            return await self._inner.__aenter__()
        except BaseException:
            self._release()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        try:
            return await self._inner.__aexit__(exc_type, exc, tb)
        finally:
            self._release()

    def _release(self) -> None:
        if self._token is not None:
            _holding.reset(self._token)
            self._token = None
        if self._acquired:
            self._acquired = False
            self._lock.release()


class GatewaySessions(async_sessionmaker[AsyncSession]):
    """``async_sessionmaker`` whose ``begin()`` transactions take turns on SQLite (module doc)."""

    def __init__(self, engine: AsyncEngine, *, max_wait: float = 60.0, **kwargs: Any) -> None:
        super().__init__(engine, **kwargs)
        self._turns = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        self._max_wait = max_wait

    def begin(self) -> Any:
        """A new session in a transaction (``async with sessions.begin() as session``)."""
        inner = super().begin()
        if self._turns is None:
            return inner
        return _Turn(self._turns, inner, self._max_wait)


def gateway_sessions(engine: AsyncEngine) -> GatewaySessions:
    """The gateway's session factory for ``engine`` (objects stay usable after commit)."""
    return GatewaySessions(engine, expire_on_commit=False)
