"""Tables of what the bot decided and what patrons thought of it (analytics, feedback).

``turns`` holds one row per bot turn: the kind of decision (answered / asked back / declined /
handed over), the FAQ entry answered, the title searched and whether the catalog had it, so the
console's analytics are plain SQL. ``feedback`` holds a patron's 👍 / 👎 on one answer and their
1–5 rating of a librarian's help, each with an optional comment. Both belong to a conversation
and go with it when a patron deletes their data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.models import Base, utcnow

#: TurnRecord.kind values
KINDS = ("answered", "asked_back", "declined", "handed_over")


class TurnRecord(Base):
    """One decision of the bot on one patron message."""

    __tablename__ = "turns"
    __table_args__ = (
        Index("ix_turns_created_at", "created_at"),
        Index("ix_turns_conversation_id", "conversation_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(Integer, default=None)  # the patron's message
    channel: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(16))  # answered | asked_back | declined | handed_over
    action: Mapped[str] = mapped_column(String(48), default="")
    faq_id: Mapped[str | None] = mapped_column(String(128), default=None)
    searched_title: Mapped[str | None] = mapped_column(String(300), default=None)
    found: Mapped[bool | None] = mapped_column(Boolean, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Feedback(Base):
    """A patron's 👍 / 👎 on one answer (``kind`` "answer", ``value`` 1 or -1) or their rating
    of a librarian's help (``kind`` "rating", ``value`` 1–5), with an optional comment."""

    __tablename__ = "feedback"
    __table_args__ = (
        Index("ix_feedback_created_at", "created_at"),
        Index("ix_feedback_conversation_id", "conversation_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))  # answer | rating
    value: Mapped[int] = mapped_column(Integer)
    turn_id: Mapped[int | None] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), default=None)
    handoff_id: Mapped[int | None] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"), default=None)
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
