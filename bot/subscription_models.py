"""Tables of subscriptions and what is sent to subscribers: announcements, reminders, digests.

A subscription belongs to one conversation (one patron on one channel) and one topic
(``actions.subscriptions.TOPICS``). Every message sent to a subscriber (an announcement, an
event reminder, a weekly digest) is a :class:`Delivery` whose ``key`` is unique: the database
itself guarantees that a scheduler running twice, or again after a restart, queues it once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models import Base, utcnow

#: Subscription.ended_reason values
ENDED_BY_PATRON = "patron"
ENDED_BLOCKED = "blocked"

#: Announcement.status values
DRAFT = "draft"
SCHEDULED = "scheduled"
SENDING = "sending"
DONE = "done"

#: Delivery.status values (``queued``: an outbox row carries it; see the outbox row's status)
QUEUED = "queued"
SKIPPED = "skipped"
OPTED_OUT = "opted_out"
BLOCKED = "blocked"


class Subscription(Base):
    """A patron's opt-in to one topic on one channel; ``ended_at`` set when they opted out."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("conversation_id", "topic", name="uq_subscriptions_conversation_topic"),
        Index("ix_subscriptions_topic", "topic", "ended_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    ended_reason: Mapped[str | None] = mapped_column(String(20), default=None)  # patron | blocked


class Announcement(Base):
    """A librarians' message to one topic's subscribers, sent at ``send_at`` (UTC)."""

    __tablename__ = "announcements"
    __table_args__ = (Index("ix_announcements_due", "status", "send_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic: Mapped[str] = mapped_column(String(160))
    text: Mapped[str] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(Text, default=None)
    link_title: Mapped[str | None] = mapped_column(String(80), default=None)
    link_url: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[str] = mapped_column(String(12), default=DRAFT)  # draft | scheduled | sending | done
    send_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_by: Mapped[int | None] = mapped_column(Integer, default=None)  # staff id
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class Reminder(Base):
    """"Ingatkan saya" on an event: one message to the conversation at ``due_at``."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("conversation_id", "event_id", name="uq_reminders_conversation_event"),
        Index("ix_reminders_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(Text, default=None)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    language: Mapped[str] = mapped_column(String(8), default="id")
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | queued
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Digest(Base):
    """One weekly new-arrivals digest (``week`` "2026-W49"; "baseline" marks where it started):
    the catalog records up to ``max_record_id`` were covered."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week: Mapped[str] = mapped_column(String(16), unique=True)
    max_record_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class Delivery(Base):
    """One message to one subscriber; ``key`` ("announcement:3:17", "reminder:9",
    "digest:2026-W49:17") is the idempotency key."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("key", name="uq_deliveries_key"),
        Index("ix_deliveries_announcement", "announcement_id"),
        Index("ix_deliveries_outbox_id", "outbox_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))  # announcement | reminder | digest
    announcement_id: Mapped[int | None] = mapped_column(Integer, default=None)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    outbox_id: Mapped[int | None] = mapped_column(Integer, default=None)
    status: Mapped[str] = mapped_column(String(12), default=QUEUED)  # queued | skipped | opted_out | blocked
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
