"""One holder at a time per conversation, in this process or across gateway replicas.

:class:`LocalLocks` are asyncio locks (one process: the SQLite default). :class:`AdvisoryLocks`
add a PostgreSQL session advisory lock per key, taken on one dedicated connection per replica
(``pg_try_advisory_lock``), so any number of held keys costs a replica one connection and two
short queries per turn. PostgreSQL releases every lock of a session when its connection ends,
so a replica killed with ``kill -9`` frees its conversations at once (the kernel closes the
socket; no lease has to expire first).

If that connection is lost while locks are held (a database restart, a network cut), the
locks are gone while their holders still run: the holders' final writes are therefore
conditional (the inbox marks a message done only if it is still pending, and queues the reply
only then), so a second replica that took over cannot make a message answered twice.

Both kinds are re-entrant within one asyncio task: the inbox holds a conversation's lock for
the whole step and the router, called inside it, takes the same key again without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import logging
import weakref
from collections.abc import AsyncIterator
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

# (id of the LocalLocks, key, id of the holding task): a task created while a lock is held
# copies this context, but it is not the holder (the task id tells them apart)
_held: contextvars.ContextVar[frozenset[tuple[int, str, int]]] = contextvars.ContextVar(
    "pustakabot_held_locks", default=frozenset()
)


class LockBusy(Exception):
    """Another holder kept the key for longer than the caller was willing to wait."""


class ConversationLocks(Protocol):
    """``async with locks.hold(key, wait=...)``: exclusive, re-entrant within a task."""

    def hold(self, key: str, *, wait: float | None = None) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold ``key``; waits at most ``wait`` seconds (None: as long as it takes), else :class:`LockBusy`."""
        ...

    async def close(self) -> None:
        """Release everything (shutdown)."""
        ...


def _holds(owner: object, key: str) -> bool:
    """True when the current task holds ``key`` of ``owner``."""
    return (id(owner), key, id(asyncio.current_task())) in _held.get()


class LocalLocks:
    """asyncio locks per key, forgotten when nobody holds or waits for them."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    @contextlib.asynccontextmanager
    async def hold(self, key: str, *, wait: float | None = None) -> AsyncIterator[None]:
        """See :meth:`ConversationLocks.hold`."""
        if _holds(self, key):
            yield
            return
        lock = self._lock(key)  # a strong reference while we wait and hold
        try:
            if wait is None:
                await lock.acquire()
            elif wait <= 0:
                if lock.locked():
                    raise LockBusy(key)
                await lock.acquire()
            else:
                await asyncio.wait_for(lock.acquire(), wait)
        except TimeoutError as exc:
            raise LockBusy(key) from exc
        token = _held.set(_held.get() | {(id(self), key, id(asyncio.current_task()))})
        try:
            yield
        finally:
            _held.reset(token)
            lock.release()

    async def close(self) -> None:
        """Nothing to release."""


def advisory_key(key: str) -> int:
    """A stable signed 64-bit number for ``key`` (the advisory lock's id)."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


class AdvisoryLocks:
    """PostgreSQL session advisory locks on one dedicated connection (module doc).

    Within the replica a :class:`LocalLocks` orders the tasks first (PostgreSQL's session locks
    are re-entrant per session, so they cannot tell two tasks of one replica apart).
    """

    def __init__(self, engine: AsyncEngine, *, poll: float = 0.02, max_poll: float = 0.2) -> None:
        self.engine = engine
        self.poll = poll
        self.max_poll = max_poll
        self._local = LocalLocks()
        self._conn: AsyncConnection | None = None
        self._generation = 0  # bumped when the connection (and so every lock on it) was lost
        self._io = asyncio.Lock()  # one query at a time on the connection
        self._background: set[asyncio.Task[bool]] = set()

    async def _query(self, sql: str, key: int) -> bool:
        async with self._io:
            try:
                if self._conn is None:
                    conn = await self.engine.connect()
                    self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                    await self._conn.execute(text("SET application_name = 'pustakabot-locks'"))
                return bool((await self._conn.execute(text(sql), {"k": key})).scalar())
            except Exception:
                await self._drop()
                raise

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._generation += 1
        if conn is not None:
            log.warning("the advisory lock connection was lost; its locks are released")
            with contextlib.suppress(Exception):
                await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()

    async def _try(self, number: int) -> bool:
        """``pg_try_advisory_lock``; a caller cancelled meanwhile never leaves the lock behind."""
        query = asyncio.ensure_future(self._query("SELECT pg_try_advisory_lock(:k)", number))
        try:
            return await asyncio.shield(query)
        except asyncio.CancelledError:
            query.add_done_callback(lambda done: self._undo(done, number))
            raise

    def _undo(self, done: asyncio.Future[bool], number: int) -> None:
        if done.cancelled() or done.exception() is not None or not done.result():
            return
        task = asyncio.ensure_future(self._query("SELECT pg_advisory_unlock(:k)", number))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @contextlib.asynccontextmanager
    async def hold(self, key: str, *, wait: float | None = None) -> AsyncIterator[None]:
        """See :meth:`ConversationLocks.hold`."""
        if _holds(self._local, key):  # the local lock is held exactly while we hold the key
            yield
            return
        loop = asyncio.get_running_loop()
        deadline = None if wait is None else loop.time() + max(0.0, wait)
        async with self._local.hold(key, wait=wait):
            number = advisory_key(key)
            delay = self.poll
            while not await self._try(number):
                if deadline is not None and loop.time() + delay > deadline:
                    raise LockBusy(key)
                await asyncio.sleep(delay)
                delay = min(self.max_poll, delay * 2)
            generation = self._generation
            try:
                yield
            finally:
                if generation == self._generation:
                    try:
                        await asyncio.shield(self._query("SELECT pg_advisory_unlock(:k)", number))
                    except Exception:  # noqa: BLE001 - the connection is dropped: the lock with it
                        log.warning("could not release the advisory lock of %s; its connection was reset", key)

    async def close(self) -> None:
        """Close the lock connection (PostgreSQL releases its locks)."""
        async with self._io:
            conn, self._conn = self._conn, None
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()
