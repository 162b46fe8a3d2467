"""Tables of the live-agent handoff: staff, their sessions, handoffs, claims, notes, audit log.

The claim table's primary key is the conversation id, so the database itself guarantees that
two agents can never hold the same conversation (the second insert fails).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.models import Base, utcnow

ROLES = ("agent", "admin")


class Staff(Base):
    """A librarian account (created with ``pustakabot staff add``)."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="agent")  # agent | admin
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StaffSession(Base):
    """A server-side console session; the cookie holds a token, the table only its SHA-256."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Handoff(Base):
    """One episode of a conversation with (or waiting for) a librarian."""

    __tablename__ = "handoffs"
    __table_args__ = (Index("ix_handoffs_status", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(32))  # patron_request | not_understood | complaint | staff_takeover
    status: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting | agent | resolved | cancelled
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)


class Claim(Base):
    """Who holds a conversation now; one row per conversation at most (primary key)."""

    __tablename__ = "handoff_claims"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Note(Base):
    """An internal note on a conversation: staff only, never sent to the patron."""

    __tablename__ = "handoff_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEntry(Base):
    """Who did what to which conversation (login, claim, reply, note, resolve, account changes)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    action: Mapped[str] = mapped_column(String(32))
    conversation_id: Mapped[int | None] = mapped_column(Integer, default=None)
    message_id: Mapped[int | None] = mapped_column(Integer, default=None)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class WebchatCursor(Base):
    """The newest transcript message a web chat page has fetched (delivery status for web)."""

    __tablename__ = "webchat_cursors"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    seen_message_id: Mapped[int] = mapped_column(Integer, default=0)
