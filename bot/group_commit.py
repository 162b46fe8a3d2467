"""Group commit: the channel workers' many small writes share a few transactions.

Every inbox insert, "message done + replies queued" step and outbox status update is a *job*
(``async job(session) -> result``) handed to :meth:`GroupCommit.run`. One writer task takes
all jobs queued so far and runs them in a single transaction, so a burst of N webhook calls or
N delivered replies costs one commit instead of N; each caller's ``run`` returns only after
that commit (so a webhook may acknowledge and a worker may move on). Writes going through one
task also means they never compete with each other for SQLite's single write lock.

If a batch fails, it is rolled back and each of its jobs is run again alone, so one bad job
gets its own exception and the others still commit. A transient lock ("database is locked")
is retried for up to ``lock_patience`` seconds before the error reaches the caller: a webhook
never fails for a lock held a moment by another writer (the router, the staff console).
Jobs must only touch the database through ``session`` (they may run twice).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[AsyncSession], Awaitable[Any]]


def is_lock_error(exc: BaseException) -> bool:
    """True for SQLite's transient "database is locked" / "database table is locked" errors."""
    return isinstance(exc, OperationalError) and "is locked" in str(exc.orig or exc)


class GroupCommit:
    """Runs write jobs from many tasks in shared transactions, one writer task at a time.

    Args:
        sessions: session factory of the database written to.
        max_batch: most jobs in one transaction.
        lock_patience: seconds a batch keeps retrying a transient lock error.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        max_batch: int = 256,
        lock_patience: float = 30.0,
    ) -> None:
        self.sessions = sessions
        self.max_batch = max_batch
        self.lock_patience = lock_patience
        self._queue: list[tuple[Job, asyncio.Future[Any]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.commits = 0  # transactions committed (for benchmarks)
        self.jobs = 0  # jobs committed

    async def run(self, job: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``job`` in the next shared transaction; returns its result once committed.

        Raises:
            RuntimeError: the writer was closed.
            Exception: whatever ``job`` (or its commit) raised when run alone.
        """
        if self._closed:
            raise RuntimeError("group commit writer is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((job, future))
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._writer(), name="group-commit")
        return await asyncio.shield(future)

    async def close(self) -> None:
        """Finish the queued jobs, then stop the writer task (later ``run`` calls fail)."""
        self._closed = True
        self._wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _writer(self) -> None:
        while True:
            if not self._queue:
                if self._closed:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                results = await self._transaction([job for job, _ in batch])
            except asyncio.CancelledError:
                for _, future in batch:
                    if not future.done():
                        future.cancel()
                raise
            except Exception as exc:  # noqa: BLE001 - isolate the failing job below
                if len(batch) == 1:
                    _settle(batch[0][1], exc=exc)
                    continue
                log.info(
                    "group commit of %d jobs failed (%s); running them one by one", len(batch), exc
                )
                for job, future in batch:
                    try:
                        (result,) = await self._transaction([job])
                    except Exception as single:  # noqa: BLE001 - handed to the caller
                        _settle(future, exc=single)
                    else:
                        _settle(future, result=result)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                _settle(future, result=result)

    async def _transaction(self, jobs: list[Job]) -> list[Any]:
        deadline = time.monotonic() + self.lock_patience
        delay = 0.01
        while True:
            try:
                async with self.sessions.begin() as session:
                    results = [await job(session) for job in jobs]
                self.commits += 1
                self.jobs += len(jobs)
                return results
            except OperationalError as exc:
                if not is_lock_error(exc) or time.monotonic() + delay > deadline:
                    raise
                log.info("database locked; retrying %d jobs in %.2f s", len(jobs), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)


def _settle(
    future: asyncio.Future[Any], *, result: Any = None, exc: BaseException | None = None
) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)
