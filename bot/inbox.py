"""The persistent inbox: patron messages are stored before their webhook is acknowledged.

:meth:`Inbox.accept` inserts a webhook's messages with ``INSERT ... ON CONFLICT DO NOTHING``
through the shared :class:`~bot.group_commit.GroupCommit` writer (a burst of concurrent webhook
calls shares one commit); the unique (channel, platform_id) constraint turns a platform's
retried delivery (Telegram ``update_id``, Meta ``mid``) into a no-op, so a message is answered
once. A worker then takes each conversation's messages strictly in arrival order
(conversations in parallel), asks the :class:`~bot.router.Router` (or, for attachments without
text and channel events such as echoes and story replies, :class:`~bot.events.GatewayEvents`),
and in one transaction
(again grouped with other workers') marks the message done and queues the answers in the
:class:`~bot.outbox.Outbox`. Messages still pending at shutdown are processed
after the next start, once the NLU answers (:meth:`Inbox.start` waits for it).

A message whose answer cannot be computed yet (the NLU is down and the knowledge alone is not
sure: :class:`~bot.router.AnswerDeferred`) is never marked done with an apology: it stays
pending and is retried with backoff until the NLU is back, without using up its attempts;
after ``hold_notice_after`` seconds the patron gets one short "sebentar ya" first. Processed rows are kept for ``retention`` (Telegram's ``update_id`` may
restart at a random value after a week without updates, so dedupe keys expire).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actions.i18n import t
from bot.channel_models import DONE, FAILED, PENDING, InboxItem
from bot.channels.base import Channel
from bot.events import GatewayEvents
from bot.group_commit import GroupCommit
from bot.messages import Incoming, Outgoing, Reply
from bot.models import Conversation, utcnow
from bot.outbox import KeyedWorkers, Outbox, aware
from bot.render import incoming_from_json, incoming_to_json
from bot.replicas.locks import ConversationLocks, LocalLocks, LockBusy
from bot.replicas.wiring import conversation_key
from bot.router import AnswerDeferred
from nlu.language import language_of

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (channel, external conversation id)


class Handler(Protocol):
    """What the inbox calls for each patron message with text (the router)."""

    async def handle(self, msg: Incoming, *, defer: bool = False) -> Reply:
        """Answer ``msg`` (``defer``: raise :class:`bot.router.AnswerDeferred` rather than send a
        degraded reply)."""


class Inbox:
    """Persist-then-acknowledge intake and ordered, restart-safe processing of patron messages."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        router: Handler,
        outbox: Outbox,
        channels: dict[str, Channel],
        *,
        concurrency: int = 32,
        max_attempts: int = 3,
        retention: timedelta = timedelta(days=3),
        sweep_interval: float = 30.0,
        writer: GroupCommit | None = None,
        events: GatewayEvents | None = None,
        ready: Callable[[], Awaitable[bool]] | None = None,
        hold_notice_after: float = 20.0,
        max_defer_delay: float = 15.0,
        locks: ConversationLocks | None = None,
        busy_retry: float = 0.25,
    ) -> None:
        self.sessions = sessions
        self.writer = writer or outbox.writer
        self.router = router
        self.events = events  # non-text items and channel events (bot/events.py)
        self.outbox = outbox
        self.channels = channels
        self.max_attempts = max_attempts
        self.retention = retention
        self.sweep_interval = sweep_interval
        self.ready = ready
        self.hold_notice_after = hold_notice_after
        self.max_defer_delay = max_defer_delay
        #: one replica at a time takes a conversation's messages (bot/replicas/locks.py)
        self.locks = locks or LocalLocks()
        self.busy_retry = busy_retry
        self.workers: KeyedWorkers[Key] = KeyedWorkers(self._step, concurrency=concurrency, name="inbox")
        self._sweeper: asyncio.Task[None] | None = None
        self._side_tasks: set[asyncio.Task[Any]] = set()

    async def accept(self, items: list[Incoming]) -> int:
        """Persist ``items`` (duplicates skipped) and wake their workers; returns how many were new.

        Each item needs ``platform_message_id`` (the dedupe key). Commits before returning, so
        a webhook may acknowledge right after.
        """
        for item in items:
            if not item.platform_message_id:
                raise ValueError("an inbox item needs a platform_message_id")
        if not items:
            return 0
        now = utcnow()
        rows = [
            {
                "channel": item.channel,
                "platform_id": item.platform_message_id,
                "external_id": item.conversation_id,
                "data": incoming_to_json(item),
                "status": PENDING,
                "attempts": 0,
                "received_at": now,
            }
            for item in items
        ]
        inserted = await self.writer.run(lambda session: _insert_new(session, rows))
        for item in items:
            key = (item.channel, str(item.platform_message_id))
            if key in inserted:
                self.workers.kick((item.channel, item.conversation_id))
            else:
                log.info("duplicate %s delivery %s ignored", item.channel, item.platform_message_id)
        return len(inserted)

    async def start(self) -> None:
        """Start the periodic sweep (resume + expiry); the backlog is resumed once the NLU
        answers (new messages are taken in and processed meanwhile)."""
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="inbox-sweeper")

    async def _wait_ready(self, timeout: float = 300.0) -> None:
        if self.ready is None:
            return
        deadline = asyncio.get_running_loop().time() + timeout
        while not await self.ready():
            if asyncio.get_running_loop().time() > deadline:
                log.warning("the NLU is not ready after %.0f s; resuming the inbox backlog anyway", timeout)
                return
            await asyncio.sleep(0.5)

    async def stop(self) -> None:
        """Stop the workers; unprocessed messages stay pending for the next start."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        await self.workers.stop()
        for task in list(self._side_tasks):
            task.cancel()
        await asyncio.gather(*self._side_tasks, return_exceptions=True)

    async def resume(self) -> int:
        """Kick every conversation with pending messages; returns how many."""
        async with self.sessions() as session:
            keys = (
                await session.execute(
                    select(InboxItem.channel, InboxItem.external_id).where(InboxItem.status == PENDING).distinct()
                )
            ).all()
        for channel, external_id in keys:
            self.workers.kick((channel, external_id))
        return len(keys)

    async def expire(self) -> int:
        """Delete processed rows older than ``retention``; returns how many."""
        async with self.sessions.begin() as session:
            result = await session.execute(
                delete(InboxItem).where(
                    InboxItem.status != PENDING, InboxItem.received_at < utcnow() - self.retention
                )
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def _sweep(self) -> None:
        await self._wait_ready()
        await self.resume()
        while True:
            await asyncio.sleep(self.sweep_interval)
            try:
                await self.resume()
                await self.expire()
            except Exception:  # noqa: BLE001
                log.exception("inbox sweep failed")

    def _typing(self, channel: Channel, external_id: str) -> None:
        task = asyncio.get_running_loop().create_task(channel.typing(external_id))
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def _step(self, key: Key) -> bool | float:
        # The lock covers the whole step (read the oldest pending message, answer, mark it done);
        # the router takes the same key again inside without waiting. Busy: another replica is
        # on this conversation, so look again shortly (it may finish before our new message).
        try:
            async with self.locks.hold(conversation_key(*key), wait=0):
                return await self._take(key)
        except LockBusy:
            return self.busy_retry

    async def _take(self, key: Key) -> bool | float:
        channel_name, external_id = key
        async with self.sessions() as session:
            row = await session.scalar(
                select(InboxItem)
                .where(
                    InboxItem.status == PENDING,
                    InboxItem.channel == channel_name,
                    InboxItem.external_id == external_id,
                )
                .order_by(InboxItem.id)
                .limit(1)
            )
        if row is None:
            return False
        incoming = incoming_from_json(row.data)
        gateway_side = self.events is not None and self.events.handles(incoming)
        channel = self.channels.get(channel_name)
        if channel is not None and not gateway_side:
            self._typing(channel, external_id)
        try:
            if gateway_side:
                assert self.events is not None
                reply = await self.events.handle(incoming)
            else:
                reply = await self.router.handle(incoming, defer=True)
        except asyncio.CancelledError:
            raise
        except AnswerDeferred as exc:
            return await self._defer(row, incoming, str(exc))
        except Exception as exc:  # noqa: BLE001 - record, retry a few times, then give up
            attempts = row.attempts + 1
            log.exception("inbox %s attempt %d failed", row.id, attempts)
            failed = (
                update(InboxItem)
                .where(InboxItem.id == row.id)
                .values(
                    attempts=attempts,
                    error=f"{type(exc).__name__}: {exc}"[:500],
                    status=FAILED if attempts >= self.max_attempts else PENDING,
                )
            )
            await self.writer.run(lambda session: session.execute(failed))
            return True if attempts >= self.max_attempts else 2.0 * attempts
        item_id = row.id

        async def done(session: AsyncSession) -> int | None:
            # Conditional: if another replica marked it done meanwhile (our lock was lost with
            # its connection), its reply is queued already and ours is dropped.
            marked = await session.execute(
                update(InboxItem)
                .where(InboxItem.id == item_id, InboxItem.status == PENDING)
                .values(status=DONE, processed_at=utcnow())
            )
            if marked.rowcount != 1:
                gone = await session.scalar(select(InboxItem.id).where(InboxItem.id == item_id)) is None
                if not gone:
                    log.warning("inbox %s was answered elsewhere meanwhile; this reply is dropped", item_id)
                    return None
                # The row is gone: this very turn erased the patron's data ("hapus data saya",
                # confirmed); its confirmation still goes out.
            conv = await session.scalar(
                select(Conversation).where(
                    Conversation.channel == channel_name, Conversation.external_id == external_id
                )
            )
            if conv is not None and reply.messages:
                self.outbox.add(session, conv, reply.messages, author="system" if reply.degraded else "bot")
            return conv.id if conv is not None else None

        conv_id = await self.writer.run(done)
        if conv_id is not None:
            self.outbox.kick(conv_id)
        return True


    async def _defer(self, row: InboxItem, incoming: Incoming, reason: str) -> float:
        """Keep ``row`` pending (its attempts untouched); send the hold notice once when it has
        waited ``hold_notice_after`` seconds. Returns the delay before the next try."""
        data = dict(row.data)
        deferrals = int(data.get("deferrals") or 0) + 1
        data["deferrals"] = deferrals
        waited = (utcnow() - aware(row.received_at)).total_seconds()
        notify = waited >= self.hold_notice_after and not data.get("held")
        if notify:
            data["held"] = True
        channel_name, external_id = row.channel, row.external_id

        async def keep(session: AsyncSession) -> int | None:
            await session.execute(
                update(InboxItem).where(InboxItem.id == row.id).values(data=data, error=f"deferred: {reason}")
            )
            if not notify:
                return None
            conv = await session.scalar(
                select(Conversation).where(
                    Conversation.channel == channel_name, Conversation.external_id == external_id
                )
            )
            if conv is None:
                return None
            lang = language_of(incoming.text)
            self.outbox.add(session, conv, [Outgoing(text=t("hold", lang))], author="system")
            return conv.id

        conv_id = await self.writer.run(keep)
        if conv_id is not None:
            log.info("inbox %s: the NLU is still down after %.0f s; the patron was told to wait", row.id, waited)
            self.outbox.kick(conv_id)
        return min(self.max_defer_delay, 0.5 * 2 ** min(deferrals, 6))


async def _insert_new(session: AsyncSession, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Insert the inbox ``rows`` not stored yet; returns the (channel, platform_id) inserted."""
    dialect = session.bind.dialect.name
    if dialect in ("sqlite", "postgresql"):
        module: Any = sqlite if dialect == "sqlite" else postgresql
        stmt = (
            module.insert(InboxItem)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["channel", "platform_id"])
            .returning(InboxItem.channel, InboxItem.platform_id)
        )
        return {(channel, platform_id) for channel, platform_id in (await session.execute(stmt)).all()}
    # Other databases: skip the keys already present (all inserts go through one writer).
    wanted = {(r["channel"], r["platform_id"]) for r in rows}
    existing = set(
        (
            await session.execute(
                select(InboxItem.channel, InboxItem.platform_id).where(
                    InboxItem.platform_id.in_([p for _, p in wanted])
                )
            )
        ).all()
    )
    fresh: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r["channel"], r["platform_id"])
        if key not in existing and key not in fresh:
            fresh[key] = r
    if fresh:
        await session.execute(insert(InboxItem), list(fresh.values()))
    return set(fresh)
