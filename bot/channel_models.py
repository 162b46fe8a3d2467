"""Tables of the channel connectors: the inbox, the outbox and Telegram's short callback ids.

The inbox holds every patron message persisted before its webhook is acknowledged; the
unique (channel, platform_id) pair turns a platform's retried delivery into a no-op. The outbox
holds every message to a patron until the platform accepted it (or it failed for good).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models import Base, utcnow

PENDING = "pending"
DONE = "done"
#: outbox: committed right before a platform call; a row left in it was interrupted by a crash
SENDING = "sending"
SENT = "sent"
FAILED = "failed"


class InboxItem(Base):
    """One inbound platform event (a patron's message), persisted before the webhook's 200."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "platform_id", name="uq_inbox_channel_platform_id"),
        Index("ix_inbox_pending", "status", "channel", "external_id", "id"),
        Index("ix_inbox_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    platform_id: Mapped[str] = mapped_column(String(255))  # Telegram update_id, Meta mid
    external_id: Mapped[str] = mapped_column(String(128))  # the conversation on the platform
    data: Mapped[dict[str, Any]] = mapped_column(JSON)  # the serialised Incoming (+ extras)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)  # pending | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class OutboxItem(Base):
    """One message to a patron, kept until the platform accepted it or it failed for good."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "conversation_id", "id"),
        Index("ix_outbox_transcript_id", "transcript_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(128))
    author: Mapped[str] = mapped_column(String(20), default="bot")  # bot | agent | system
    transcript_id: Mapped[int | None] = mapped_column(Integer, default=None)
    message: Mapped[dict[str, Any]] = mapped_column(JSON)  # the serialised Outgoing
    status: Mapped[str] = mapped_column(String(10), default=PENDING)  # pending | sending | sent | failed
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    parts_sent: Mapped[int] = mapped_column(Integer, default=0)  # chunks already accepted
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    #: when the last platform call of this row started (with status ``sending``)
    sending_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    #: the platform's ids of the parts it accepted (Telegram message_id, Meta mid, WhatsApp wamid)
    platform_ids: Mapped[list[str] | None] = mapped_column(JSON, default=None)


class TelegramCallback(Base):
    """A button payload too long for Telegram's 64-byte ``callback_data``, under a short key."""

    __tablename__ = "telegram_callbacks"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Receipt(Base):
    """A platform's delivery report of one message part we sent (WhatsApp ``statuses``).

    ``platform_id`` is the platform's id of the part (WhatsApp ``wamid``); ``outbox_id`` is set
    once the send call returned it (a status callback may arrive first). A ``failed`` report
    marks the outbox row failed with ``reason``.
    """

    __tablename__ = "receipts"
    __table_args__ = (
        UniqueConstraint("channel", "platform_id", name="uq_receipts_channel_platform_id"),
        Index("ix_receipts_outbox_id", "outbox_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    platform_id: Mapped[str] = mapped_column(String(255))
    outbox_id: Mapped[int | None] = mapped_column(Integer, default=None)
    status: Mapped[str] = mapped_column(String(10), default=SENT)  # sent | delivered | read | failed
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
