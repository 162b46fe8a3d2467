"""A short, polite text-only answer to messages the bot cannot read (photos, voice notes, ...).

Channels mark such a message with an attachment ``{"unsupported": True, "label": ...}`` (WhatsApp
does; see :mod:`bot.channels.whatsapp`). :class:`MediaReplies` wraps the router: while the bot
has the conversation it records the message in the transcript (which also opens the 24-hour
window), and answers in the patron's language that only text can be read, without asking the
NLU about a placeholder. While a librarian has (or waits for) the conversation, the message goes
to the router unchanged, so the librarian sees "[gambar]" in the console. Everything else goes
to the router unchanged.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.messages import Incoming, Outgoing, Reply
from bot.models import Conversation, ConversationState, Message, utcnow

REPLY = {
    "id": "Maaf Kak, saya belum bisa membuka {label}. Silakan tulis pertanyaan Kakak dalam bentuk teks, ya. "
    "Kalau perlu dibantu petugas, ketik \"mau bicara dengan petugas\".",
    "en": "Sorry, I can't open {label} yet. Please type your question as text. "
    "If you need a librarian, type \"talk to a librarian\".",
}
LABELS_EN = {
    "gambar": "images",
    "stiker": "stickers",
    "pesan suara": "voice messages",
    "video": "videos",
    "dokumen": "documents",
    "lokasi": "locations",
    "kontak": "contact cards",
    "pesanan": "orders",
    "jenis pesan ini": "this kind of message",
}


class Handler(Protocol):
    """What the inbox calls for each patron message (the router)."""

    async def handle(self, msg: Incoming, *, defer: bool = False) -> Reply:
        """Answer ``msg`` (``defer``: raise :class:`bot.router.AnswerDeferred` rather than send a
        degraded reply)."""


def unsupported_label(msg: Incoming) -> str | None:
    """The Indonesian label of the unreadable content of ``msg``, or None for a normal message."""
    for attachment in msg.attachments:
        if attachment.get("unsupported"):
            return str(attachment.get("label") or "jenis pesan ini")
    return None


def media_reply(label: str, language: str) -> Outgoing:
    """The polite text-only note for ``label`` in ``language`` (``id`` or ``en``)."""
    if language == "en":
        return Outgoing(text=REPLY["en"].format(label=LABELS_EN.get(label, "this kind of message")))
    return Outgoing(text=REPLY["id"].format(label=label))


class MediaReplies:
    """Router wrapper answering unreadable messages itself; see the module docstring."""

    def __init__(self, router: Handler, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.router = router
        self.sessions = sessions

    async def handle(self, msg: Incoming, *, defer: bool = False) -> Reply:
        """Answer ``msg``: unreadable content gets the note, the rest goes to the router."""
        label = unsupported_label(msg)
        if label is None:
            return await self.router.handle(msg, defer=defer)
        async with self.sessions.begin() as session:
            conv = await session.scalar(
                select(Conversation).where(
                    Conversation.channel == msg.channel, Conversation.external_id == msg.conversation_id
                )
            )
            if conv is not None and conv.state is not ConversationState.BOT:
                handed = True
            else:
                handed = False
                if conv is None:
                    conv = Conversation(channel=msg.channel, external_id=msg.conversation_id, patron_name=msg.patron_name)
                    session.add(conv)
                    await session.flush()
                conv.last_inbound_at = msg.timestamp or utcnow()
                if msg.patron_name and not conv.patron_name:
                    conv.patron_name = msg.patron_name
                reply = media_reply(label, conv.language)
                session.add(
                    Message(
                        conversation_id=conv.id, direction="in", author="patron", text=msg.text,
                        payload={"attachments": list(msg.attachments)}, platform_message_id=msg.platform_message_id,
                    )
                )
                session.add(Message(conversation_id=conv.id, direction="out", author="bot", text=reply.text))
        if handed:
            return await self.router.handle(msg, defer=defer)
        return Reply(messages=[reply])
