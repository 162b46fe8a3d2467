"""Gateway tables: conversations and their transcript (channels and handoff build on these)."""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Current time in UTC (aware)."""
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    """Declarative base of the gateway tables (own Alembic history: alembic_version_bot)."""

    metadata = MetaData(naming_convention=NAMING)


class ConversationState(str, enum.Enum):
    """Who answers the patron now."""

    BOT = "bot"
    WAITING = "waiting"
    AGENT = "agent"


class Conversation(Base):
    """One patron on one channel."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(128))
    patron_name: Mapped[str | None] = mapped_column(String(255), default=None)
    language: Mapped[str] = mapped_column(String(8), default="id")
    state: Mapped[ConversationState] = mapped_column(
        Enum(ConversationState, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        default=ConversationState.BOT,
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_inbound_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    # The answer engine's record of this conversation (actions.context.ConversationContext).
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # When the retention job removed the patron's identity and texts (bot/privacy.py).
    anonymised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    @property
    def sender_key(self) -> str:
        """This conversation's key outside the gateway (e.g. on purchase suggestions)."""
        return f"{self.channel}:{self.external_id}"


class Message(Base):
    """One message of a conversation's transcript, in or out."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation_created", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    author: Mapped[str] = mapped_column(String(20))  # patron | bot | agent | system
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    platform_message_id: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
