"""The persistent outbox: every message to a patron is a row until the platform accepted it.

:meth:`Outbox.enqueue` writes a row (and wakes the worker); the worker delivers each
conversation's rows strictly in order (different conversations in parallel) through the
conversation's channel; status updates of all workers are group-committed
(:class:`~bot.group_commit.GroupCommit`). Timeouts, 5xx, Telegram 429 (waits ``retry_after``) and Meta rate
limits are retried with exponential backoff; permanent refusals (bot blocked, patron
unavailable, messaging window closed) are recorded as ``failed`` with an Indonesian reason and
not retried. A restart resumes every pending row. Parts of a split message already accepted
are remembered (``parts_sent``) and not sent twice.

States of a row: ``pending`` → ``sending`` → ``sent`` (or ``failed``, or back to ``pending`` for
a retry). ``sending`` (with ``attempts`` and ``sending_at``) is committed right before each
platform call (the channel's ``before`` hook, after pacing); the platform's answer is recorded
with ``sent`` and the ids it returned (``platform_ids``), or ``parts_sent`` after each accepted
part. A row whose platform answer was recorded is never sent again. A row still ``sending``
longer than ``sending_lease`` (the channel's ``send_timeout`` plus a margin: no live call can be
that old, on this process or another replica) was interrupted by a crash: the platform may or
may not have received it, and Telegram and Meta offer no idempotency key, so the part is sent
again (at-least-once). The duplicate window is the time between the platform accepting the
part and our ``sent``/``parts_sent`` commit; it is logged when such a row is taken over.

Meta messaging window: bot messages only within 24 hours of the patron's last message; staff
messages (author other than ``bot``/``system``) between 24 hours and 7 days go out with the
``HUMAN_AGENT`` tag; later ones are refused with a clear reason (:meth:`Outbox.check_window`).
WhatsApp (``uses_templates``): after 24 hours staff messages go out as the configured
staff-reply template (refused with the reason when none is configured); template messages
themselves (reminders, announcements) may go out at any time. Ids the channel returns for the
parts it sent are kept as receipts, so later status reports update the row (:mod:`bot.receipts`).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime, timedelta, timezone
from typing import Any, Generic, TypeVar

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channel_models import FAILED, PENDING, SENDING, SENT, OutboxItem
from bot import receipts
from bot.channels.base import BOT_WINDOW_HOURS, HUMAN_AGENT_DAYS, TEMPLATE_TAG, Channel, DeliveryError
from bot.group_commit import GroupCommit
from bot.messages import Outgoing
from bot.metrics import Metrics
from bot.models import Conversation, utcnow
from bot.render import outgoing_from_json, outgoing_to_json
from bot.replicas.locks import ConversationLocks, LocalLocks, LockBusy

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
Step = Callable[[K], Awaitable["bool | float"]]

WEB = "web"
RECEIPT_RETENTION = timedelta(days=30)  # delivery reports arrive within days
#: added to a channel's ``send_timeout``: how long a ``sending`` row is left to its sender
LEASE_MARGIN = 5.0
#: rows the worker takes (``sending`` ones only once their lease has run out)
OPEN = (PENDING, SENDING)
HUMAN_AGENT = "HUMAN_AGENT"
#: ``Outgoing.custom`` key naming a Meta message tag the message qualifies for (event reminders)
MESSAGE_TAG_KEY = "message_tag"
#: Messenger's tag for reminders of an event the patron signed up for (not available on Instagram)
CONFIRMED_EVENT_UPDATE = "CONFIRMED_EVENT_UPDATE"
CHANNEL_NAMES = {"messenger": "Messenger", "instagram": "Instagram", "telegram": "Telegram", "whatsapp": "WhatsApp"}


def aware(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (SQLite gives naive ones back)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


class KeyedWorkers(Generic[K]):
    """One task per key calling ``step(key)`` until it has nothing to do; keys run in parallel.

    ``step`` returns True (did work, call again), False (nothing to do) or a number of seconds
    to sleep before calling again. :meth:`kick` wakes a key; a kick during a running step is
    never lost. At most ``concurrency`` steps run at once (sleeps don't count).
    """

    def __init__(self, step: Step[K], *, concurrency: int, name: str) -> None:
        self._step = step
        self._sem = asyncio.Semaphore(concurrency)
        self._tasks: dict[K, asyncio.Task[None]] = {}
        self._dirty: set[K] = set()
        self._name = name
        self._closed = False

    def kick(self, key: K) -> None:
        """Make sure ``key`` gets processed."""
        if self._closed:
            return
        self._dirty.add(key)
        task = self._tasks.get(key)
        if task is None or task.done():
            self._tasks[key] = asyncio.get_running_loop().create_task(self._run(key), name=f"{self._name}:{key}")

    @property
    def active(self) -> int:
        """Keys with a running task."""
        return len(self._tasks)

    async def _run(self, key: K) -> None:
        try:
            while not self._closed:
                self._dirty.discard(key)
                try:
                    async with self._sem:
                        result = await self._step(key)
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - keep the worker alive, retry later
                    log.exception("%s worker failed for %s; retrying in 1 s", self._name, key)
                    result = 1.0
                if result is True:
                    continue
                if result is False:
                    if key in self._dirty:
                        continue
                    break
                await asyncio.sleep(float(result))
        finally:
            if self._tasks.get(key) is asyncio.current_task():
                del self._tasks[key]

    async def stop(self) -> None:
        """Cancel every task and wait for them."""
        self._closed = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()


class Outbox:
    """Persistent, ordered, retried delivery of outgoing messages (available as ``outbox_key``)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: dict[str, Channel],
        *,
        max_attempts: int = 8,
        backoff: float = 1.0,
        max_backoff: float = 300.0,
        concurrency: int = 64,
        sweep_interval: float = 30.0,
        writer: GroupCommit | None = None,
        lease_margin: float = LEASE_MARGIN,
        on_blocked: Callable[[AsyncSession, int, int], Awaitable[None]] | None = None,
        locks: ConversationLocks | None = None,
        busy_retry: float = 0.5,
        metrics: Metrics | None = None,
    ) -> None:
        self.sessions = sessions
        self.channels = channels
        #: one replica at a time delivers a conversation's rows, in order (bot/replicas/locks.py)
        self.locks = locks or LocalLocks()
        self.busy_retry = busy_retry
        self.metrics = metrics or Metrics()
        #: status updates of all workers share transactions (also used by the inbox)
        self.writer = writer or GroupCommit(sessions)
        self._own_writer = writer is None
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sweep_interval = sweep_interval
        self.lease_margin = lease_margin
        self.workers: KeyedWorkers[int] = KeyedWorkers(self._step, concurrency=concurrency, name="outbox")
        self._sweeper: asyncio.Task[None] | None = None
        #: awaited with (session, conversation id, outbox id) when the patron blocked the bot
        #: (subscriptions end), in the transaction that records the row ``failed``
        self.on_blocked = on_blocked

    # --- public API ----------------------------------------------------------------------

    async def enqueue(
        self, conversation_id: int, message: Outgoing, *, author: str = "bot", transcript_id: int | None = None
    ) -> int:
        """Queue ``message`` for conversation ``conversation_id``; returns the outbox row id.

        Web chat messages are recorded as sent at once (the patron's page polls the
        transcript). A message that can never be delivered (channel not configured, Meta window
        closed) is recorded as failed with its reason; see :meth:`statuses`.

        Raises:
            LookupError: no such conversation.
        """
        async with self.sessions.begin() as session:
            conv = await session.get(Conversation, conversation_id)
            if conv is None:
                raise LookupError(f"conversation {conversation_id} not found")
            (item,) = self.add(session, conv, [message], author=author, transcript_ids=[transcript_id])
            await session.flush()
            item_id = item.id
        self.workers.kick(conversation_id)
        return item_id

    def add(
        self,
        session: AsyncSession,
        conv: Conversation,
        messages: list[Outgoing],
        *,
        author: str,
        transcript_ids: list[int | None] | None = None,
    ) -> list[OutboxItem]:
        """Add rows for ``messages`` in the caller's transaction (call :meth:`kick` after commit)."""
        items = []
        now = utcnow()
        ids = transcript_ids or [None] * len(messages)
        for message, transcript_id in zip(messages, ids, strict=True):
            item = OutboxItem(
                conversation_id=conv.id,
                channel=conv.channel,
                external_id=conv.external_id,
                author=author,
                transcript_id=transcript_id,
                message=outgoing_to_json(message),
                status=PENDING,
                attempts=0,
                parts_sent=0,
                next_attempt_at=now,
                created_at=now,
            )
            if conv.channel == WEB:
                item.status, item.sent_at = SENT, now
                self.metrics.messages_out.labels(WEB).inc()
            elif conv.channel not in self.channels:
                item.status = FAILED
                item.reason = f"Kanal {conv.channel} belum dikonfigurasi di gateway."
            session.add(item)
            items.append(item)
        return items

    def kick(self, conversation_id: int) -> None:
        """Wake the worker of ``conversation_id``."""
        self.workers.kick(conversation_id)

    async def statuses(self, transcript_ids: list[int]) -> dict[int, str]:
        """Delivery status per transcript message id: ``pending``, ``sent`` or ``failed:<reason>``
        (a row being sent reads ``pending``).

        Ids without an outbox row are left out.
        """
        if not transcript_ids:
            return {}
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(OutboxItem.transcript_id, OutboxItem.status, OutboxItem.reason).where(
                        OutboxItem.transcript_id.in_(transcript_ids)
                    )
                )
            ).all()
        out: dict[int, str] = {}
        for transcript_id, status, reason in rows:
            if status == FAILED:
                out[transcript_id] = f"failed:{reason or 'tidak diketahui'}"
            else:
                out[transcript_id] = PENDING if status == SENDING else status
        return out

    async def check_window(self, conversation_id: int, *, author: str) -> str | None:
        """None when a message by ``author`` can be delivered now, else an Indonesian reason."""
        async with self.sessions() as session:
            conv = await session.get(Conversation, conversation_id)
        if conv is None:
            return "Percakapan tidak ditemukan."
        _tag, reason = self._window(conv, author)
        return reason

    def _window(
        self, conv: Conversation, author: str, message: Outgoing | None = None
    ) -> tuple[str | None, str | None]:
        """(tag, reason): tag HUMAN_AGENT/TEMPLATE for late staff messages; reason when undeliverable."""
        channel = self.channels.get(conv.channel)
        if channel is None or not channel.has_window:
            return None, None
        if message is not None and channel.is_template(message):
            return None, None  # approved templates may be sent at any time
        name = CHANNEL_NAMES.get(conv.channel, conv.channel)
        if conv.last_inbound_at is None:
            return None, f"Pesan tidak bisa dikirim: pemustaka belum pernah mengirim pesan di {name}."
        age = utcnow() - aware(conv.last_inbound_at)
        if age <= timedelta(hours=BOT_WINDOW_HOURS):
            return None, None
        if conv.channel == "messenger" and message is not None and \
                (message.custom or {}).get(MESSAGE_TAG_KEY) == CONFIRMED_EVENT_UPDATE:
            return CONFIRMED_EVENT_UPDATE, None  # a reminder the patron asked for ("Ingatkan saya")
        if author in ("bot", "system"):
            return None, (
                f"Pesan otomatis tidak bisa dikirim: sudah lebih dari 24 jam sejak pesan terakhir pemustaka di {name}."
            )
        if channel.uses_templates:
            problem = channel.template_problem()
            if problem is not None:
                return None, (
                    f"Pesan tidak bisa dikirim: sudah lebih dari 24 jam sejak pesan terakhir pemustaka di {name}, "
                    f"dan {problem}"
                )
            return TEMPLATE_TAG, None
        if age <= timedelta(days=HUMAN_AGENT_DAYS):
            return HUMAN_AGENT, None
        return None, f"Pesan tidak bisa dikirim: sudah lebih dari 7 hari sejak pesan terakhir pemustaka di {name}."

    # --- worker ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Resume every pending row and keep sweeping for rows nobody kicked."""
        await self.resume()
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="outbox-sweeper")

    async def stop(self) -> None:
        """Stop the sweeper and the workers (pending rows stay pending for the next start)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        await self.workers.stop()
        if self._own_writer:
            await self.writer.close()

    async def resume(self) -> int:
        """Kick every conversation with pending (or interrupted ``sending``) rows; returns how many."""
        async with self.sessions() as session:
            ids = list(
                await session.scalars(
                    select(OutboxItem.conversation_id).where(OutboxItem.status.in_(OPEN)).distinct()
                )
            )
        for conversation_id in ids:
            self.workers.kick(conversation_id)
        return len(ids)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval)
            try:
                await self.resume()
                before = utcnow() - RECEIPT_RETENTION
                await self.writer.run(lambda session: receipts.expire(session, before))
            except Exception:  # noqa: BLE001
                log.exception("outbox sweep failed")

    def _delay(self, attempts: int) -> float:
        base = min(self.max_backoff, self.backoff * 2 ** max(0, attempts - 1))
        return base * random.uniform(0.8, 1.2)

    def sending_lease(self, channel: Channel) -> float:
        """Seconds a ``sending`` row of ``channel`` is left to its sender before it counts as interrupted."""
        return channel.send_timeout + self.lease_margin

    async def _finish(self, item_id: int, **values: Any) -> None:
        stmt = update(OutboxItem).where(OutboxItem.id == item_id).values(**values)
        await self.writer.run(lambda session: session.execute(stmt))

    async def _failed(self, conversation_id: int, item_id: int, exc: DeliveryError, attempts: int) -> None:
        """Record a permanent refusal; a block ends the subscriptions in the same transaction."""
        failed = update(OutboxItem).where(OutboxItem.id == item_id).values(
            status=FAILED, reason=exc.reason, attempts=attempts
        )
        on_blocked = self.on_blocked if exc.blocked else None

        async def record(session: AsyncSession) -> None:
            await session.execute(failed)
            if on_blocked is not None:
                await on_blocked(session, conversation_id, item_id)

        await self.writer.run(record)

    async def _step(self, conversation_id: int) -> bool | float:
        # Held from reading the oldest pending row until it is marked sent: no other replica
        # sends this conversation's rows meanwhile (and none overtakes it). Busy: look again
        # shortly, the holder may have finished before a row we were kicked for.
        try:
            async with self.locks.hold(f"outbox:{conversation_id}", wait=0):
                return await self._deliver(conversation_id)
        except LockBusy:
            return self.busy_retry

    async def _deliver(self, conversation_id: int) -> bool | float:
        async with self.sessions() as session:
            item = await session.scalar(
                select(OutboxItem)
                .where(OutboxItem.conversation_id == conversation_id, OutboxItem.status.in_(OPEN))
                .order_by(OutboxItem.id)
                .limit(1)
            )
            if item is None:
                return False
            conv = await session.get(Conversation, conversation_id)
        assert conv is not None
        channel = self.channels.get(item.channel)
        if item.status == SENDING and channel is not None:
            # A platform call that never got its answer recorded: still running on a live sender
            # (another replica) until its lease runs out, else interrupted by a crash.
            since = aware(item.sending_at or item.next_attempt_at)
            left = (since + timedelta(seconds=self.sending_lease(channel)) - utcnow()).total_seconds()
            if left > 0:
                return left
            log.warning(
                "outbox %s: attempt %d (part %d) was interrupted after the platform call started at %s; "
                "the platform may have it: sending it again (at-least-once)",
                item.id, item.attempts, item.parts_sent + 1, since.isoformat(timespec="milliseconds"),
            )
        else:
            wait = (aware(item.next_attempt_at) - utcnow()).total_seconds()
            if wait > 0:
                return wait
        if channel is None:
            await self._finish(item.id, status=FAILED, reason=f"Kanal {item.channel} belum dikonfigurasi di gateway.")
            return True
        message = outgoing_from_json(item.message)
        tag, reason = self._window(conv, item.author, message)
        if reason is not None:
            log.info("outbox %s not delivered: %s", item.id, reason)
            await self._finish(item.id, status=FAILED, reason=reason)
            return True

        attempts = item.attempts + 1
        item_id, channel_name = item.id, item.channel
        accepted: list[str] = list(item.platform_ids or [])

        async def before(part: int) -> None:
            # committed before the platform call: a crash from here on leaves the row 'sending'
            await self._finish(item_id, status=SENDING, attempts=attempts, sending_at=utcnow())

        async def progress(parts: int, ids: list[str]) -> None:
            # still 'sending' until the next part's mark; recorded parts are never sent again
            await self._finish(item_id, parts_sent=parts, platform_ids=[*accepted, *ids] or None)

        try:
            with self.metrics.timed("send"):
                platform_ids = await channel.send(
                    item.external_id, message, skip=item.parts_sent, tag=tag, progress=progress, before=before
                )
        except DeliveryError as exc:
            permanent = exc.permanent or attempts >= self.max_attempts
            self.metrics.outbox_failures.labels(channel_name, "permanent" if permanent else "retry").inc()
            if permanent:
                log.warning("outbox %s failed for good after %d attempts: %s", item_id, attempts, exc.reason)
                await self._failed(conversation_id, item_id, exc, attempts)
                return True
            delay = exc.retry_after if exc.retry_after is not None else self._delay(attempts)
            log.info("outbox %s attempt %d failed (%s); retry in %.1f s", item_id, attempts, exc.reason, delay)
            await self._finish(
                item_id,
                status=PENDING,
                attempts=attempts,
                reason=exc.reason,
                next_attempt_at=utcnow() + timedelta(seconds=delay),
            )
            return delay
        ids = [*accepted, *(platform_ids or [])]
        sent = update(OutboxItem).where(OutboxItem.id == item_id).values(
            status=SENT, attempts=attempts, sent_at=utcnow(), reason=None, platform_ids=ids or None
        )
        receipts_wanted = channel.has_receipts and bool(platform_ids)

        async def done(session: AsyncSession) -> None:
            await session.execute(sent)
            if receipts_wanted:  # after the update: an early 'failed' report must win
                await receipts.record_sent(session, channel_name, item_id, list(platform_ids or []))

        await self.writer.run(done)
        self.metrics.messages_out.labels(channel_name).inc()
        return True
