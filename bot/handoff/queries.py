"""Read-only handoff queries: the console queue, a conversation's transcript view, queue positions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.handoff.base import WEB_CHANNEL, HandoffError, OutboxLike
from bot.handoff_models import AuditEntry, Handoff, Note, Staff, WebchatCursor
from bot.models import Conversation, ConversationState, Message, utcnow


@dataclass
class QueueItem:
    """One row of the console's queue."""

    conversation_id: int
    channel: str
    patron: str
    state: str
    reason: str | None
    since: datetime
    agent: str | None
    agent_id: int | None
    last_text: str
    unread: int = 0


@dataclass
class TranscriptLine:
    """One line of the console transcript: a message or an internal note."""

    id: int
    kind: str  # message | note
    author: str  # patron | bot | agent | system | note
    text: str
    at: datetime
    staff: str | None = None
    status: str | None = None
    buttons: list[str] = field(default_factory=list)


@dataclass
class ConversationView:
    """Everything the console shows about one conversation."""

    conversation: Conversation
    handoff: Handoff | None
    agent: str | None
    agent_id: int | None
    lines: list[TranscriptLine]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def short_id(external_id: str) -> str:
    """A platform id as staff see it: enough to tell conversations apart, never the whole id."""
    return external_id if len(external_id) <= 6 else f"{external_id[:6]}…"


def _patron(conv: Conversation) -> str:
    return conv.patron_name or f"{conv.channel}:{short_id(conv.external_id)}"


class ConsoleQueries:
    """What the console reads; mixed into :class:`bot.handoff.service.HandoffService`."""

    sessions: async_sessionmaker[AsyncSession]
    _outbox: Callable[[], OutboxLike | None]

    async def _position(self, session: AsyncSession, conversation_id: int) -> int:
        mine = await session.scalar(
            select(Handoff.id).where(Handoff.conversation_id == conversation_id, Handoff.status == "waiting")
        )
        if mine is None:
            return 0
        count = await session.scalar(
            select(func.count()).select_from(Handoff).where(Handoff.status == "waiting", Handoff.id <= mine)
        )
        return int(count or 0)

    async def position(self, conversation_id: int) -> int:
        """Place of the conversation in the queue (1 = next), 0 when not waiting."""
        async with self.sessions() as session:
            return await self._position(session, conversation_id)

    async def queue(self, *, recent_hours: int = 24) -> tuple[list[QueueItem], list[QueueItem]]:
        """Active handoffs (waiting first, oldest first) and recent bot conversations to take over."""
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(Handoff, Conversation, Staff)
                    .join(Conversation, Conversation.id == Handoff.conversation_id)
                    .outerjoin(Staff, Staff.id == Handoff.claimed_by)
                    .where(Handoff.status.in_(("waiting", "agent")))
                    .order_by(Handoff.status.desc(), Handoff.id)
                )
            ).all()
            active = []
            for handoff, conv, staff in rows:
                last = await self._last_patron_text(session, conv.id)
                unread = await self._unread(session, conv.id, handoff)
                active.append(
                    QueueItem(
                        conversation_id=conv.id, channel=conv.channel, patron=_patron(conv),
                        state=handoff.status, reason=handoff.reason, since=_aware(handoff.requested_at),
                        agent=staff.display_name if staff else None, agent_id=staff.id if staff else None,
                        last_text=last, unread=unread,
                    )
                )
            cutoff = utcnow() - timedelta(hours=recent_hours)
            recent = []
            for conv in await session.scalars(
                select(Conversation)
                .where(Conversation.state == ConversationState.BOT, Conversation.last_inbound_at >= cutoff)
                .order_by(Conversation.last_inbound_at.desc())
                .limit(20)
            ):
                recent.append(
                    QueueItem(
                        conversation_id=conv.id, channel=conv.channel, patron=_patron(conv), state="bot",
                        reason=None, since=_aware(conv.last_inbound_at or conv.created_at), agent=None,
                        agent_id=None, last_text=await self._last_patron_text(session, conv.id),
                    )
                )
        return active, recent

    async def _last_patron_text(self, session: AsyncSession, conversation_id: int) -> str:
        last = await session.scalar(
            select(Message.text)
            .where(Message.conversation_id == conversation_id, Message.author == "patron")
            .order_by(Message.id.desc())
            .limit(1)
        )
        return (last or "")[:120]

    async def _unread(self, session: AsyncSession, conversation_id: int, handoff: Handoff) -> int:
        last_agent = await session.scalar(
            select(func.max(Message.id)).where(Message.conversation_id == conversation_id, Message.author == "agent")
        )
        query = select(func.count()).select_from(Message).where(
            Message.conversation_id == conversation_id,
            Message.author == "patron",
            Message.created_at >= handoff.requested_at,
        )
        if last_agent is not None:
            query = query.where(Message.id > last_agent)
        return int(await session.scalar(query) or 0)

    async def view(self, conversation_id: int) -> ConversationView:
        """The conversation, its active handoff, and the transcript with notes and delivery status.

        Raises:
            HandoffError: no such conversation.
        """
        async with self.sessions() as session:
            conv = await session.get(Conversation, conversation_id)
            if conv is None:
                raise HandoffError("Percakapan tidak ditemukan.")
            handoff = await self._active(session, conversation_id)
            agent = await session.get(Staff, handoff.claimed_by) if handoff and handoff.claimed_by else None
            messages = list(
                await session.scalars(
                    select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
                )
            )
            notes = (
                await session.execute(
                    select(Note, Staff).join(Staff, Staff.id == Note.staff_id)
                    .where(Note.conversation_id == conversation_id).order_by(Note.id)
                )
            ).all()
            names = dict((await session.execute(select(Staff.id, Staff.display_name))).tuples().all())
            staff_of = await self._reply_authors(session, conversation_id)
            seen = await session.scalar(
                select(WebchatCursor.seen_message_id).where(WebchatCursor.conversation_id == conversation_id)
            )
        outbound = [m.id for m in messages if m.direction == "out" and m.author in ("agent", "system")]
        statuses = await self._statuses(conv.channel, outbound, seen or 0)
        lines = [
            TranscriptLine(
                id=m.id, kind="message", author=m.author, text=m.text, at=_aware(m.created_at),
                staff=names.get(staff_of.get(m.id, -1)), status=statuses.get(m.id),
                buttons=[b.get("title", "") for b in (m.payload or {}).get("buttons", [])]
                + [f"{link.get('title', '')} \u2197" for link in (m.payload or {}).get("links", [])],
            )
            for m in messages
        ]
        lines += [
            TranscriptLine(id=n.id, kind="note", author="note", text=n.text, at=_aware(n.created_at),
                           staff=s.display_name)
            for n, s in notes
        ]
        lines.sort(key=lambda line: line.at)
        return ConversationView(
            conversation=conv, handoff=handoff, agent=agent.display_name if agent else None,
            agent_id=agent.id if agent else None, lines=lines,
        )

    async def _reply_authors(self, session: AsyncSession, conversation_id: int) -> dict[int, int]:
        rows = await session.execute(
            select(AuditEntry.message_id, AuditEntry.staff_id).where(
                AuditEntry.conversation_id == conversation_id,
                AuditEntry.action == "reply",
                AuditEntry.message_id.is_not(None),
            )
        )
        return {mid: sid for mid, sid in rows.tuples().all() if mid is not None and sid is not None}

    async def _statuses(self, channel: str, ids: list[int], seen: int) -> dict[int, str]:
        if not ids:
            return {}
        if channel == WEB_CHANNEL:
            return {i: ("sent" if i <= seen else "pending") for i in ids}
        outbox = self._outbox()
        if outbox is None:
            return {i: "failed:kanal belum aktif" for i in ids}
        return await outbox.statuses(ids)

    async def _active(self, session: AsyncSession, conversation_id: int) -> Handoff | None:
        return await session.scalar(
            select(Handoff)
            .where(Handoff.conversation_id == conversation_id, Handoff.status.in_(("waiting", "agent")))
            .order_by(Handoff.id.desc())
            .limit(1)
        )
