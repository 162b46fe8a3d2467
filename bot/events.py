"""Gateway-side decisions on what is not a patron's text: attachments, echoes, stories, handover.

Connectors only translate platform shapes into :class:`~bot.messages.Incoming` (its
``attachment`` and ``kind`` fields); the inbox hands such items here instead of to the router
(:meth:`GatewayEvents.handles`). Everything is written to the transcript so the console shows it.

* **Non-text message** (photo, sticker, voice, file, location…, no caption) on any channel:
  the connector names its kind (``Incoming.attachment``, one vocabulary: :data:`LABELS`);
  recorded as "[Foto]" etc.; while the bot has the conversation the patron gets one short
  text-only reply naming what could not be opened (:func:`text_only_reply`); while a librarian
  has it the console is told and the bot stays quiet. A caption is answered as text by the
  router, on every channel.
* **Echo from the platform's inbox** (a person answered in Meta's own inbox): recorded as the
  staff's message (never sent again) and the bot pauses: the conversation waits in the console
  queue ("dijawab dari inbox Meta") until a librarian resolves it there.
* **Story reply / story mention** (Instagram): recorded and queued for a librarian (the bot
  cannot see the story, so an answer would be a guess).
* **Handover protocol**: ``take_thread_control`` pauses the bot (queued, reason "handover");
  ``pass_thread_control`` back to us resumes it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.handoff import HandoffService
from bot.messages import Incoming, Outgoing, Reply
from bot.models import Conversation, ConversationState, Message

log = logging.getLogger(__name__)

TEXT_ONLY = {
    "id": "Maaf Kak, saya belum bisa membuka {noun}. Saya hanya bisa membaca pesan teks: silakan ketik "
    "judul buku atau pertanyaan Kakak, ya. Kalau perlu dibantu petugas, ketik \"mau bicara dengan petugas\".",
    "en": "Sorry, I can't open {noun} yet. I can only read text messages: please type a book title or your "
    "question. If you need a librarian, type \"talk to a librarian\".",
}
#: every kind of non-text content a connector may name, as the transcript shows it
LABELS = {
    "photo": "Foto", "sticker": "Stiker", "voice": "Pesan suara", "audio": "Audio", "video": "Video",
    "file": "Dokumen", "location": "Lokasi", "contact": "Kontak", "poll": "Polling", "story": "Story",
    "share": "Kiriman yang dibagikan", "order": "Pesanan", "other": "Lampiran",
}
#: what the text-only reply says could not be opened, per kind and language
NOUNS = {
    "id": {
        "photo": "gambar", "sticker": "stiker", "voice": "pesan suara", "audio": "pesan suara",
        "video": "video", "file": "dokumen", "location": "lokasi", "contact": "kontak",
        "poll": "polling", "story": "story", "share": "kiriman yang dibagikan", "order": "pesanan",
    },
    "en": {
        "photo": "images", "sticker": "stickers", "voice": "voice messages", "audio": "voice messages",
        "video": "videos", "file": "documents", "location": "locations", "contact": "contact cards",
        "poll": "polls", "story": "stories", "share": "shared posts", "order": "orders",
    },
}
OTHER_NOUN = {"id": "jenis pesan ini", "en": "this kind of message"}
STORY_LABELS = {"story_reply": "Balasan story", "story_mention": "Menyebut perpustakaan di story"}


def text_only_reply(kind: str | None, language: str) -> Outgoing:
    """The short text-only reply to content of ``kind`` (a :data:`LABELS` key), ``id`` or ``en``."""
    lang = "en" if language == "en" else "id"
    noun = NOUNS[lang].get(kind or "", OTHER_NOUN[lang])
    return Outgoing(text=TEXT_ONLY[lang].format(noun=noun))


def label(incoming: Incoming) -> str:
    """How a non-text item reads in the transcript: "[Foto] caption"."""
    if incoming.kind in STORY_LABELS:
        head = STORY_LABELS[incoming.kind]
    else:
        head = LABELS.get(incoming.attachment or "", "Lampiran")
    return f"[{head}] {incoming.text}".strip()


class GatewayEvents:
    """Handles the :class:`Incoming` items that are not text for the bot."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], handoff: HandoffService | None) -> None:
        self.sessions = sessions
        self.handoff = handoff

    @staticmethod
    def handles(incoming: Incoming) -> bool:
        """True for events and for attachments without text (the router gets the rest)."""
        return incoming.kind != "message" or (incoming.attachment is not None and not incoming.text.strip())

    async def handle(self, incoming: Incoming) -> Reply:
        """Record ``incoming`` and decide; returns what to send the patron (often nothing)."""
        if incoming.kind == "echo":
            return await self._echo(incoming)
        if incoming.kind in STORY_LABELS:
            conv_id, _state = await self._record_in(incoming, label(incoming))
            await self._hold(conv_id, "story")
            return Reply(messages=[], handoff=True)
        if incoming.kind == "thread_taken":
            conv_id, _state = await self._conversation(incoming)
            await self._hold(conv_id, "handover")
            return Reply(messages=[], handoff=True)
        if incoming.kind == "thread_passed":
            conv_id, _state = await self._conversation(incoming)
            released = self.handoff is not None and await self.handoff.release(conv_id, reason="handover")
            log.info("thread passed back for conversation %s (bot resumed: %s)", conv_id, released)
            return Reply(messages=[])
        return await self._attachment(incoming)

    async def _attachment(self, incoming: Incoming) -> Reply:
        conv_id, state = await self._record_in(incoming, label(incoming))
        if state is not ConversationState.BOT:
            if self.handoff is not None:
                await self.handoff.notify({"type": "message", "conversation_id": conv_id, "author": "patron"})
            return Reply(messages=[], handoff=True)
        async with self.sessions.begin() as session:
            conv = await session.get(Conversation, conv_id)
            reply = text_only_reply(incoming.attachment, conv.language if conv is not None else "id")
            session.add(Message(conversation_id=conv_id, direction="out", author="bot", text=reply.text))
        return Reply(messages=[reply])

    async def _echo(self, incoming: Incoming) -> Reply:
        conv_id, _state = await self._conversation(incoming, inbound=False)
        async with self.sessions.begin() as session:
            session.add(
                Message(
                    conversation_id=conv_id, direction="out", author="agent",
                    text=incoming.text or label(incoming),
                    payload={"source": "platform_inbox"}, platform_message_id=incoming.platform_message_id,
                )
            )
        await self._hold(conv_id, "platform_inbox")
        return Reply(messages=[], handoff=True)

    async def _hold(self, conv_id: int, reason: str) -> None:
        if self.handoff is not None:
            await self.handoff.hold(conv_id, reason=reason)
            await self.handoff.notify({"type": "message", "conversation_id": conv_id, "author": "patron"})

    async def _conversation(self, incoming: Incoming, *, inbound: bool = True) -> tuple[int, ConversationState]:
        async with self.sessions.begin() as session:
            conv = await _get_or_create(session, incoming)
            if inbound:
                conv.last_inbound_at = incoming.timestamp or datetime.now(UTC)
            return conv.id, conv.state

    async def _record_in(self, incoming: Incoming, text: str) -> tuple[int, ConversationState]:
        async with self.sessions.begin() as session:
            conv = await _get_or_create(session, incoming)
            conv.last_inbound_at = incoming.timestamp or datetime.now(UTC)
            payload: dict[str, Any] = {"attachment": incoming.attachment or incoming.kind}
            urls = [
                a["payload"]["url"] for a in incoming.attachments
                if isinstance(a.get("payload"), dict) and isinstance(a["payload"].get("url"), str)
            ]
            if urls:
                payload["urls"] = urls[:5]
            session.add(
                Message(
                    conversation_id=conv.id, direction="in", author="patron", text=text, payload=payload,
                    platform_message_id=incoming.platform_message_id,
                )
            )
            return conv.id, conv.state


async def _get_or_create(session: AsyncSession, incoming: Incoming) -> Conversation:
    conv = await session.scalar(
        select(Conversation).where(
            Conversation.channel == incoming.channel, Conversation.external_id == incoming.conversation_id
        )
    )
    if conv is None:
        conv = Conversation(
            channel=incoming.channel, external_id=incoming.conversation_id, patron_name=incoming.patron_name
        )
        session.add(conv)
        await session.flush()
    elif incoming.patron_name and not conv.patron_name:
        conv.patron_name = incoming.patron_name
    return conv
