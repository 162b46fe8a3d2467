"""The handoff state machine: start, patron messages, claim, reply, note, resolve.

A conversation moves ``bot → waiting → agent → bot`` (or ``waiting → bot`` when the patron
cancels). Every step is a database transaction, so a gateway
restart keeps the queue, the claims and the transcript. Claiming is a conditional update plus an
insert into a table whose primary key is the conversation, so two agents can never hold the same
conversation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.handoff.base import WEB_CHANNEL, HandoffError, Notifier, OutboxLike, nothing
from bot.handoff.polling import WebchatPolling
from bot.handoff.queries import ConsoleQueries
from bot.handoff.schedule import ScheduleFile, format_moment
from bot.handoff.texts import text
from actions.rules import is_cancel
from bot.handoff_models import Claim, Handoff, Note, Staff
from bot.messages import Button, Outgoing, Reply
from bot.models import Conversation, ConversationState, Message, utcnow
from bot.staff import StaffUser, audit

log = logging.getLogger(__name__)


class HandoffService(ConsoleQueries, WebchatPolling):
    """Moves conversations between the bot and librarians, and tells the consoles."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        schedule: ScheduleFile,
        notify: Notifier = nothing,
        outbox: Callable[[], OutboxLike | None] = lambda: None,
        rate_after_resolve: bool = False,
    ) -> None:
        self.sessions = sessions
        self.schedule = schedule
        self.notify = notify
        self._outbox = outbox
        # Ask the patron for a 1-5 rating (buttons on the "resolved" message).
        self.rate_after_resolve = rate_after_resolve

    # patron side (called by the router, inside the conversation's lock)

    async def start(self, conversation_id: int, *, reason: str, language: str) -> list[Outgoing]:
        """Queue the conversation for a librarian; returns what to tell the patron."""
        now = utcnow()
        async with self.sessions.begin() as session:
            conv = await session.get(Conversation, conversation_id)
            if conv is None:
                return []
            conv.language = "en" if language == "en" else "id"
            if conv.state is ConversationState.BOT:
                conv.state = ConversationState.WAITING
                handoff = Handoff(conversation_id=conversation_id, reason=reason, status="waiting", requested_at=now)
                session.add(handoff)
                await session.flush()
            await audit(session, "handoff_requested", conversation_id=conversation_id, detail={"reason": reason})
            position = await self._position(session, conversation_id)
            lang = conv.language
        await self.notify({"type": "queue", "conversation_id": conversation_id})
        schedule = self.schedule.current()
        if not schedule.is_open(now):
            opening = schedule.next_opening(now)
            when = format_moment(opening, lang) if opening else ("secepatnya" if lang != "en" else "as soon as possible")
            return [Outgoing(text=text("off_hours", lang, when=when))]
        return [Outgoing(text=text("queue", lang, position=position))]

    async def on_patron_message(self, conversation_id: int, message: str) -> Reply:
        """A patron message while waiting or with an agent: to the console, never to Rasa."""
        if is_cancel(message):
            async with self.sessions.begin() as session:
                conv = await session.get(Conversation, conversation_id)
                lang = conv.language if conv else "id"
                await self._close(session, conversation_id, status="cancelled", staff_id=None)
                await audit(session, "handoff_cancelled_by_patron", conversation_id=conversation_id)
            await self.notify({"type": "queue", "conversation_id": conversation_id})
            return Reply(messages=[Outgoing(text=text("cancelled", lang))], handoff=False)
        await self.notify({"type": "message", "conversation_id": conversation_id, "author": "patron"})
        return Reply(messages=[], handoff=True)

    async def hold(self, conversation_id: int, *, reason: str) -> None:
        """Pause the bot for a conversation and put it in the console queue, telling the patron nothing.

        For events that show a person should look (a story reply, a person answering in the
        platform's own inbox, another app taking the thread); no-op when staff already have it.
        """
        async with self.sessions.begin() as session:
            conv = await session.get(Conversation, conversation_id)
            if conv is None or conv.state is not ConversationState.BOT:
                return
            conv.state = ConversationState.WAITING
            session.add(Handoff(conversation_id=conversation_id, reason=reason, status="waiting", requested_at=utcnow()))
            await audit(session, "handoff_requested", conversation_id=conversation_id, detail={"reason": reason})
        await self.notify({"type": "queue", "conversation_id": conversation_id})

    async def release(self, conversation_id: int, *, reason: str) -> bool:
        """Give a conversation held for ``reason`` back to the bot (e.g. the thread was passed back)."""
        async with self.sessions.begin() as session:
            handoff = await self._active(session, conversation_id)
            if handoff is None or handoff.reason != reason:
                return False
            await self._close(session, conversation_id, status="resolved", staff_id=None)
            await audit(session, "handoff_released", conversation_id=conversation_id, detail={"reason": reason})
        await self.notify({"type": "queue", "conversation_id": conversation_id})
        return True

    async def decline(self, conversation_id: int, *, why: str) -> list[Outgoing]:
        """Take back a handoff just started (over a limit): the conversation returns to the bot.

        Returns what to tell the patron; the transcript row is written here.
        """
        async with self.sessions.begin() as session:
            conv = await session.get(Conversation, conversation_id)
            lang = conv.language if conv else "id"
            await self._close(session, conversation_id, status="declined", staff_id=None)
            await audit(session, "handoff_declined", conversation_id=conversation_id, detail={"why": why})
            message = text("declined", lang)
            session.add(Message(conversation_id=conversation_id, direction="out", author="system", text=message))
        await self.notify({"type": "queue", "conversation_id": conversation_id})
        return [Outgoing(text=message)]

    async def web_conversation(self, external_id: str) -> tuple[int, ConversationState] | None:
        """(id, state) of a web chat conversation; None before its first message."""
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(Conversation.id, Conversation.state).where(
                        Conversation.channel == WEB_CHANNEL, Conversation.external_id == external_id
                    )
                )
            ).first()
        return (row[0], row[1]) if row is not None else None

    # console actions

    async def claim(self, conversation_id: int, user: StaffUser) -> None:
        """Take a waiting conversation, or take over one the bot is handling.

        Raises:
            HandoffError: someone else was faster, or the conversation is no longer waiting.
        """
        try:
            channel, lang, takeover = await self._claim(conversation_id, user)
        except IntegrityError as exc:
            raise HandoffError("Percakapan ini sudah diambil pustakawan lain.") from exc
        await self._deliver(conversation_id, channel, text("claimed", lang, name=user.display_name), author="system")
        await self.notify({"type": "queue", "conversation_id": conversation_id})

    async def _claim(self, conversation_id: int, user: StaffUser) -> tuple[str, str, bool]:
        async with self.sessions.begin() as session:
            # Write first: the conditional update decides the race inside one write transaction.
            taken = await session.execute(
                update(Handoff)
                .where(Handoff.conversation_id == conversation_id, Handoff.status == "waiting")
                .values(status="agent", claimed_by=user.id, claimed_at=utcnow())
            )
            takeover = False
            if taken.rowcount != 1:
                moved = await session.execute(
                    update(Conversation)
                    .where(Conversation.id == conversation_id, Conversation.state == ConversationState.BOT)
                    .values(state=ConversationState.AGENT)
                )
                if moved.rowcount != 1:
                    raise HandoffError(await self._why_not(session, conversation_id))
                session.add(Handoff(conversation_id=conversation_id, reason="staff_takeover", status="agent",
                                    claimed_by=user.id, claimed_at=utcnow()))
                takeover = True
            handoff = await self._active(session, conversation_id)
            assert handoff is not None
            # The primary key on the conversation makes a second claim fail at the database.
            session.add(Claim(conversation_id=conversation_id, handoff_id=handoff.id, staff_id=user.id))
            await session.flush()
            conv = await session.get(Conversation, conversation_id)
            assert conv is not None
            conv.state = ConversationState.AGENT
            await audit(session, "takeover" if takeover else "claim", staff_id=user.id,
                        conversation_id=conversation_id)
            return conv.channel, conv.language, takeover

    async def _why_not(self, session: AsyncSession, conversation_id: int) -> str:
        conv = await session.get(Conversation, conversation_id)
        if conv is None:
            return "Percakapan tidak ditemukan."
        handoff = await self._active(session, conversation_id)
        if handoff and handoff.claimed_by:
            staff = await session.get(Staff, handoff.claimed_by)
            return f"Percakapan ini sudah diambil {staff.display_name if staff else 'pustakawan lain'}."
        return "Percakapan ini tidak bisa diambil sekarang."

    async def _holder(self, session: AsyncSession, conversation_id: int, user: StaffUser) -> Conversation:
        conv = await session.get(Conversation, conversation_id)
        if conv is None:
            raise HandoffError("Percakapan tidak ditemukan.")
        claim = await session.get(Claim, conversation_id)
        if claim is None:
            raise HandoffError("Ambil dulu percakapan ini sebelum membalas atau menyelesaikannya.")
        if claim.staff_id != user.id and not user.is_admin:
            raise HandoffError("Percakapan ini sedang ditangani pustakawan lain.")
        return conv

    async def reply(self, conversation_id: int, user: StaffUser, message: str) -> int:
        """Send a librarian's reply through the patron's channel; returns its transcript id.

        Raises:
            HandoffError: not holding the conversation, empty text, or the channel's window closed.
        """
        message = message.strip()
        if not message:
            raise HandoffError("Balasan kosong tidak dikirim.")
        async with self.sessions() as session:
            conv = await self._holder(session, conversation_id, user)
            channel = conv.channel
        if channel != WEB_CHANNEL:
            outbox = self._outbox()
            if outbox is not None:
                blocked = await outbox.check_window(conversation_id, author="agent")
                if blocked:
                    raise HandoffError(f"Balasan tidak bisa dikirim: {blocked}")
        message_id = await self._deliver(conversation_id, channel, message, author="agent", staff_id=user.id)
        await self.notify({"type": "message", "conversation_id": conversation_id, "author": "agent"})
        return message_id

    async def note(self, conversation_id: int, user: StaffUser, message: str) -> None:
        """Add an internal note (never sent to the patron)."""
        message = message.strip()
        if not message:
            raise HandoffError("Catatan kosong tidak disimpan.")
        async with self.sessions.begin() as session:
            if await session.get(Conversation, conversation_id) is None:
                raise HandoffError("Percakapan tidak ditemukan.")
            session.add(Note(conversation_id=conversation_id, staff_id=user.id, text=message))
            await audit(session, "note", staff_id=user.id, conversation_id=conversation_id)
        await self.notify({"type": "message", "conversation_id": conversation_id, "author": "note"})

    async def resolve(self, conversation_id: int, user: StaffUser) -> None:
        """Finish the handoff and give the conversation back to the bot."""
        async with self.sessions.begin() as session:
            conv = await self._holder(session, conversation_id, user)
            channel, lang = conv.channel, conv.language
            active = await self._active(session, conversation_id)
            handoff_id = active.id if active is not None else None
            await self._close(session, conversation_id, status="resolved", staff_id=user.id)
            await audit(session, "resolve", staff_id=user.id, conversation_id=conversation_id)
        message, buttons = text("resolved", lang), ()
        if self.rate_after_resolve and handoff_id is not None:
            from actions.feedback import rating_buttons
            from actions.feedback import text as feedback_text

            message = f"{message}\n{feedback_text('rate.prompt', lang)}"
            buttons = tuple(Button(title, payload) for title, payload in rating_buttons(handoff_id))
        await self._deliver(conversation_id, channel, message, author="system", buttons=buttons)
        await self.notify({"type": "queue", "conversation_id": conversation_id})

    async def _close(self, session: AsyncSession, conversation_id: int, *, status: str, staff_id: int | None) -> None:
        handoff = await self._active(session, conversation_id)
        if handoff is not None:
            handoff.status = status
            handoff.closed_at = utcnow()
            handoff.closed_by = staff_id
        claim = await session.get(Claim, conversation_id)
        if claim is not None:
            await session.delete(claim)
        conv = await session.get(Conversation, conversation_id)
        if conv is not None:
            conv.state = ConversationState.BOT

    async def _deliver(
        self, conversation_id: int, channel: str, message: str, *, author: str, staff_id: int | None = None,
        buttons: tuple[Button, ...] = (),
    ) -> int:
        outgoing = Outgoing(text=message, buttons=buttons)
        async with self.sessions.begin() as session:
            row = Message(conversation_id=conversation_id, direction="out", author=author, text=message,
                          payload=outgoing.as_json() if buttons else None)
            session.add(row)
            await session.flush()
            message_id = row.id
            if author == "agent":
                await audit(session, "reply", staff_id=staff_id, conversation_id=conversation_id,
                            message_id=message_id, detail={"channel": channel})
        if channel != WEB_CHANNEL:
            outbox = self._outbox()
            if outbox is None:
                log.error("no outbox for channel %s; message %s not delivered", channel, message_id)
            else:
                await outbox.enqueue(conversation_id, outgoing, author=author, transcript_id=message_id)
        return message_id
