"""Routes a patron's message: record it, ask Rasa (or hold it for a librarian), record the answer.

Every channel (web chat, Telegram, Messenger, Instagram) goes through :meth:`Router.handle`, so
all share the same transcript, the same handoff states and the same degraded-mode reply.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.handoff import HandoffService, detect_trigger, guess_language
from bot.handoff import text as handoff_text
from bot.messages import Incoming, Outgoing, Reply
from bot.models import Conversation, ConversationState, Message
from bot.rasa import RasaClient, RasaUnavailable

log = logging.getLogger(__name__)

HANDOFF_KEY = "handoff"

DEGRADED = {
    "id": "Maaf Kak, layanan chat kami sedang gangguan. Silakan coba lagi beberapa saat lagi, "
    "atau hubungi perpustakaan langsung di jam layanan.",
    "en": "Sorry, our chat service is having trouble right now. Please try again in a moment, "
    "or contact the library directly during opening hours.",
}


class KeyedLocks:
    """One asyncio lock per key, forgotten when no one holds or waits for it."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def get(self, key: str) -> asyncio.Lock:
        """The lock of ``key``."""
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock


class Router:
    """Handles incoming messages one conversation at a time, different conversations in parallel."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rasa: RasaClient,
        *,
        handoff: HandoffService | None = None,
    ) -> None:
        self.sessions = sessions
        self.rasa = rasa
        self.handoff = handoff
        self._locks = KeyedLocks()

    async def conversation(self, session: AsyncSession, msg: Incoming) -> Conversation:
        """The conversation of ``msg`` (created on first contact)."""
        conv = await session.scalar(
            select(Conversation).where(
                Conversation.channel == msg.channel, Conversation.external_id == msg.conversation_id
            )
        )
        if conv is None:
            conv = Conversation(channel=msg.channel, external_id=msg.conversation_id, patron_name=msg.patron_name)
            session.add(conv)
            await session.flush()
        return conv

    async def handle(self, msg: Incoming) -> Reply:
        """Answer ``msg``; messages of one conversation are answered in the order received."""
        async with self._locks.get(f"{msg.channel}:{msg.conversation_id}"):
            return await self._handle(msg)

    async def _handle(self, msg: Incoming) -> Reply:
        async with self.sessions.begin() as session:
            conv = await self.conversation(session, msg)
            conv.last_inbound_at = msg.timestamp or datetime.now(timezone.utc)
            if msg.patron_name and not conv.patron_name:
                conv.patron_name = msg.patron_name
            session.add(
                Message(
                    conversation_id=conv.id,
                    direction="in",
                    author="patron",
                    text=msg.text,
                    payload={"payload": msg.payload} if msg.payload else None,
                    platform_message_id=msg.platform_message_id,
                )
            )
            sender = conv.rasa_sender_id
            state = conv.state
            conv_id = conv.id
        if state is not ConversationState.BOT:
            # A librarian has (or will have) this conversation: nothing goes to Rasa.
            if self.handoff is None:
                return Reply(messages=[], handoff=True)
            held = await self.handoff.on_patron_message(conv_id, msg.text)
            await self._record(conv_id, held.messages, author="system")
            return held
        trigger = detect_trigger(msg.text) if self.handoff is not None and not msg.payload else None
        if trigger is not None:
            # Complaints and explicit requests for a person skip Rasa entirely.
            return await self._start_handoff(conv_id, reason=trigger, language=_language(msg.text))
        reply = Reply()
        try:
            outgoing = await self.rasa.send(sender, msg.for_nlu, metadata={"channel": msg.channel})
        except RasaUnavailable as exc:
            log.warning("Rasa unavailable (%s); degraded reply to %s", exc.reason, msg.channel)
            lang = "en" if _looks_english(msg.text) else "id"
            reply.messages = [Outgoing(text=DEGRADED[lang])]
            reply.degraded = True
            await self._record(conv_id, reply.messages, author="system")
            return reply
        signal: dict[str, Any] = {}
        for out in outgoing:
            if out.custom and HANDOFF_KEY in out.custom:
                reply.handoff = True
                signal = out.custom[HANDOFF_KEY] if isinstance(out.custom[HANDOFF_KEY], dict) else {}
                continue
            reply.messages.append(out)
        await self._record(conv_id, reply.messages, author="bot")
        if reply.handoff:
            if self.handoff is None:
                async with self.sessions.begin() as session:
                    conv = await session.get(Conversation, conv_id)
                    if conv is not None:
                        conv.state = ConversationState.WAITING
            else:
                extra = await self.handoff.start(
                    conv_id,
                    reason=str(signal.get("reason") or "patron_request"),
                    language=str(signal.get("language") or _language(msg.text)),
                )
                await self._record(conv_id, extra, author="system")
                reply.messages.extend(extra)
        return reply

    async def _start_handoff(self, conv_id: int, *, reason: str, language: str) -> Reply:
        assert self.handoff is not None
        key = "start.complaint" if reason == "complaint" else "start.request"
        messages = [Outgoing(text=handoff_text(key, language))]
        messages += await self.handoff.start(conv_id, reason=reason, language=language)
        await self._record(conv_id, messages, author="system")
        return Reply(messages=messages, handoff=True)

    async def _record(self, conv_id: int, messages: list[Outgoing], *, author: str) -> None:
        async with self.sessions.begin() as session:
            for out in messages:
                payload: dict[str, Any] | None = out.as_json() if out.buttons or out.image else None
                session.add(
                    Message(conversation_id=conv_id, direction="out", author=author, text=out.text, payload=payload)
                )


def _language(text: str) -> str:
    return guess_language(text)


def _looks_english(text: str) -> bool:
    words = set(text.lower().split())
    return bool(words & {"the", "is", "are", "do", "you", "what", "when", "where", "how", "hello", "hi"})
