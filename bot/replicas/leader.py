"""Leader election for periodic jobs: one catalog sync, one scheduler at a time.

A job runner (``pustakabot catalog sync --every``, a reminder or announcement scheduler) holds a
:class:`LeaderLock` named after its job while it runs; the others stand by and poll, and take
over when the leader stops or dies:

* :class:`RedisLease` (``PUSTAKABOT_REDIS_URL`` set): a Redis key with an expiry (redis-py's
  token-checked lock), renewed every third of ``ttl`` by a background thread while the job
  runs and between runs. A leader killed with ``kill -9`` stops renewing: the lease expires
  after ``ttl`` seconds and a stand-by takes over. Each new term gets a number from a Redis
  counter (:attr:`LeaderLock.term`, a fencing token a job may record with its writes).
* :class:`AdvisoryLease` (PostgreSQL without Redis): a session advisory lock on a dedicated
  connection; PostgreSQL ends it when the leader's connection closes (no expiry needed).
* :class:`LocalLease` (SQLite, one machine): always the leader.

Use :func:`run_as_leader` for a periodic job; it never runs the job on two replicas at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)


def replica_id() -> str:
    """This process's name among the replicas: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class LeaderLock(Protocol):
    """A named lease that at most one process holds."""

    name: str
    term: int  # increases with every new leader (0: unknown)

    def acquire(self) -> bool:
        """Take or keep the lease without waiting; True while this process leads."""
        ...

    def release(self) -> None:
        """Give the lease up (stand-bys may take it at once)."""
        ...


class LocalLease:
    """One process: always the leader."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.term = 1

    def acquire(self) -> bool:
        """Always True."""
        return True

    def release(self) -> None:
        """Nothing to give up."""


class RedisLease:
    """A Redis lease with expiry ``ttl`` seconds (see the module doc)."""

    def __init__(self, redis_url: str, name: str, *, prefix: str = "pustakabot:", ttl: float = 30.0) -> None:
        import redis

        self.name = name
        self.ttl = ttl
        self.term = 0
        self._client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        self._key = f"{prefix}leader:{name}"
        self._lock = self._client.lock(self._key, timeout=ttl, blocking=False, thread_local=False)
        self._mutex = threading.Lock()
        self._renewer: threading.Thread | None = None
        self._stop = threading.Event()

    def acquire(self) -> bool:
        """Take the lease if free, renew it if ours; False when another holds it or Redis is down."""
        import redis

        with self._mutex:
            try:
                if self._lock.local.token is not None and self._lock.owned():
                    self._lock.reacquire()
                    return True
                if self._lock.acquire(blocking=False):
                    self.term = int(self._client.incr(self._key + ":term"))
                    log.info("leading %s (term %d, %s)", self.name, self.term, replica_id())
                    self._start_renewer()
                    return True
            except redis.RedisError as exc:
                log.warning("leader lease %s: Redis unreachable (%s); standing by", self.name, exc)
            return False

    def _start_renewer(self) -> None:
        if self._renewer is not None and self._renewer.is_alive():
            return
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew, name=f"lease-{self.name}", daemon=True)
        self._renewer.start()

    def _renew(self) -> None:
        import redis

        while not self._stop.wait(self.ttl / 3):
            with self._mutex:
                try:
                    if self._lock.local.token is None or not self._lock.owned():
                        log.warning("lost the leader lease %s", self.name)
                        return
                    self._lock.reacquire()
                except redis.RedisError as exc:
                    log.warning("renewing the leader lease %s failed (%s)", self.name, exc)

    def release(self) -> None:
        """Give the lease up."""
        import redis

        self._stop.set()
        with self._mutex, contextlib.suppress(redis.RedisError, redis.exceptions.LockError):
            if self._lock.local.token is not None:
                self._lock.release()

    def held_by_us(self) -> bool:
        """True while the lease in Redis carries our token."""
        with self._mutex:
            return self._lock.local.token is not None and bool(self._lock.owned())


class AdvisoryLease:
    """A PostgreSQL session advisory lock held on a dedicated connection (see the module doc)."""

    def __init__(self, database_url: str, name: str) -> None:
        from bot.replicas.locks import advisory_key
        from knowledge.db import make_engine

        self.name = name
        self.term = 0
        self._engine = make_engine(database_url, pool_size=1, max_overflow=0, pool_pre_ping=True)
        self._key = advisory_key(f"leader:{name}")
        self._conn = None

    def acquire(self) -> bool:
        """Take the lock if free (kept while this process's connection lives)."""
        from sqlalchemy import text

        try:
            if self._conn is not None:
                self._conn.execute(text("SELECT 1"))
                return True
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            if conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar():
                self._conn = conn
                self.term = int(time.time())
                log.info("leading %s (%s)", self.name, replica_id())
                return True
            conn.close()
        except Exception as exc:  # noqa: BLE001 - any driver error: not the leader now
            log.warning("leader lock %s: database unreachable (%s); standing by", self.name, exc)
            self._conn = None
        return False

    def release(self) -> None:
        """Close the connection (PostgreSQL releases the lock)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
        self._engine.dispose()


def leader_lock(name: str, *, redis_url: str, database_url: str, prefix: str = "pustakabot:",
                ttl: float = 30.0) -> LeaderLock:
    """The lease for ``name``: Redis when configured, else PostgreSQL, else in process."""
    if redis_url:
        return RedisLease(redis_url, name, prefix=prefix, ttl=ttl)
    if database_url.startswith("postgresql"):
        return AdvisoryLease(database_url, name)
    return LocalLease(name)


def run_as_leader(
    lock: LeaderLock,
    job: Callable[[], None],
    *,
    every: float,
    stop: threading.Event | None = None,
    standby_poll: float | None = None,
) -> None:
    """Run ``job`` every ``every`` seconds while this process leads ``lock``, until ``stop`` is set.

    Stand-bys check the lease every ``standby_poll`` seconds (default: a third of the lease's
    ttl, at most ``every``). A failing job is logged and run again at the next interval.
    """
    stop = stop or threading.Event()
    poll = standby_poll if standby_poll is not None else min(every, getattr(lock, "ttl", 30.0) / 3)
    next_run = 0.0
    try:
        while not stop.is_set():
            if lock.acquire():
                if time.monotonic() >= next_run:
                    next_run = time.monotonic() + every
                    try:
                        job()
                    except Exception:  # noqa: BLE001 - a periodic job never stops the runner
                        log.exception("periodic job %s failed; next try in %.0f s", lock.name, every)
                stop.wait(max(0.0, min(next_run - time.monotonic(), poll)))
            else:
                next_run = 0.0  # when we take over, run at once
                stop.wait(poll)
    finally:
        lock.release()
