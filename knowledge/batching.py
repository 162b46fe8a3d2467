"""Patrons' questions asked at the same time share one embedding call.

An embedder's cost for a short sentence is mostly streaming its weight matrices through the CPU
once; a batch of eight short sentences costs about twice one (``benchmarks/embed_batching.py``).
Under load several conversations' questions are being embedded at once, each from its own
worker thread: :class:`QueryBatcher` lets the first caller embed and the questions that arrive
meanwhile wait for the next call, which embeds them together. Nothing ever waits for a batch to
fill: a lone question is embedded at once, exactly as without the batcher.

:func:`serve_single_threaded` is the other half of the same fact: a server answering many
conversations at once gets its parallelism from them, and BLAS threads inside one small matrix
product only spin (a FAQ search costs 2.3x the CPU with OpenBLAS's default two threads here).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

Embed = Callable[[Sequence[str]], np.ndarray]


def serve_single_threaded() -> None:
    """Limit this process's BLAS libraries (OpenBLAS under numpy) to one thread each.

    For the gateway's process, at start: each FAQ search's products are small (a question
    against ~1,300 variants); with two BLAS threads each costs ten times the CPU of one.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


@dataclass
class _Ticket:
    text: str
    vector: np.ndarray | None = None
    error: BaseException | None = None
    done: bool = field(default=False)


class QueryBatcher:
    """Embeds single questions from many threads, in batches of those waiting.

    Args:
        embed: the embedder's batch call (rows in the order of the texts).
        max_batch: most questions in one call.
    """

    def __init__(self, embed: Embed, *, max_batch: int = 16) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._embed = embed
        self.max_batch = max_batch
        self._cond = threading.Condition()
        self._waiting: list[_Ticket] = []
        self._busy = False
        #: sizes of the calls made (the last few hundred), for tests and benchmarks
        self.batch_sizes: list[int] = []

    def embed_one(self, text: str) -> np.ndarray:
        """The vector of ``text`` (raises what the embedder raised for its batch)."""
        ticket = _Ticket(text)
        with self._cond:
            self._waiting.append(ticket)
            while not ticket.done:
                if self._busy:
                    self._cond.wait()
                    continue
                # Nobody is embedding: this thread embeds what waits (its own question included
                # unless more than max_batch were ahead of it; then it goes round again).
                self._busy = True
                batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch:]
                self._cond.release()
                try:
                    self._run(batch)
                finally:
                    self._cond.acquire()
                    self._busy = False
                    self._cond.notify_all()
        if ticket.error is not None:
            raise ticket.error
        assert ticket.vector is not None
        return ticket.vector

    def _run(self, batch: list[_Ticket]) -> None:
        try:
            vectors = self._embed([t.text for t in batch])
            if len(vectors) != len(batch):
                raise RuntimeError(f"the embedder returned {len(vectors)} rows for {len(batch)} texts")
        except BaseException as exc:  # every waiting caller gets the error, none hangs
            for t in batch:
                t.error, t.done = exc, True
            return
        for t, v in zip(batch, vectors, strict=True):
            t.vector, t.done = v, True
        self.batch_sizes = [*self.batch_sizes[-255:], len(batch)]
