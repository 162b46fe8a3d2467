"""SQLAlchemy 2.0 typed models of the knowledge base.

Every imported row is keyed by ``(source, source_id)`` so that a second import of the same data
updates in place instead of duplicating.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Current time in UTC (aware)."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of the knowledge tables."""

    metadata = MetaData(naming_convention=NAMING)


class CopyStatus(str, enum.Enum):
    """Circulation status of one physical copy."""

    AVAILABLE = "available"
    ON_LOAN = "on_loan"
    REFERENCE = "reference"
    LOST = "lost"


class FaqEntry(Base):
    """A librarian-written FAQ entry, mirrored from the FAQ files."""

    __tablename__ = "faq_entries"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    source_file: Mapped[str] = mapped_column(String(255))
    questions: Mapped[list[str]] = mapped_column(JSON)
    answer: Mapped[str] = mapped_column(Text)
    answer_en: Mapped[str | None] = mapped_column(Text, default=None)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Record(Base):
    """A bibliographic record (one title/edition) with its copies."""

    __tablename__ = "records"
    __table_args__ = (UniqueConstraint("source", "source_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(50))
    source_id: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(Text)
    subtitle: Mapped[str | None] = mapped_column(Text, default=None)
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    publisher: Mapped[str | None] = mapped_column(String(255), default=None)
    year: Mapped[str | None] = mapped_column(String(20), default=None)
    isbn: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    classification: Mapped[str | None] = mapped_column(String(64), default=None)
    call_number: Mapped[str | None] = mapped_column(String(128), default=None)
    subjects: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    ebook_url: Mapped[str | None] = mapped_column(Text, default=None)
    # Series statement (MARC 490/830 $a, $v): "Tetralogi Buru", volume 1.
    series: Mapped[str | None] = mapped_column(Text, default=None)
    series_number: Mapped[int | None] = mapped_column(Integer, default=None)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    copies: Mapped[list[Copy]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="Copy.id"
    )


class Copy(Base):
    """One physical copy (item) of a record."""

    __tablename__ = "copies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), index=True)
    barcode: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    call_number: Mapped[str | None] = mapped_column(String(128), default=None)
    location: Mapped[str | None] = mapped_column(String(255), default=None)
    status: Mapped[CopyStatus] = mapped_column(
        Enum(CopyStatus, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        default=CopyStatus.AVAILABLE,
    )
    due_date: Mapped[date | None] = mapped_column(Date, default=None)

    record: Mapped[Record] = relationship(back_populates="copies")


class EBook(Base):
    """An e-book patrons can read online."""

    __tablename__ = "ebooks"
    __table_args__ = (UniqueConstraint("source", "source_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(50))
    source_id: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    publisher: Mapped[str | None] = mapped_column(String(255), default=None)
    year: Mapped[str | None] = mapped_column(String(20), default=None)
    format: Mapped[str | None] = mapped_column(String(20), default=None)
    platform: Mapped[str | None] = mapped_column(String(100), default=None)
    url: Mapped[str] = mapped_column(Text)
    subjects: Mapped[list[str]] = mapped_column(JSON, default=list)


class Event(Base):
    """One occurrence of a library event (recurring events are expanded)."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        Index("ix_events_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(50))
    source_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    location: Mapped[str | None] = mapped_column(Text, default=None)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class PurchaseSuggestion(Base):
    """A title a patron asked the library to buy."""

    __tablename__ = "purchase_suggestions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    patron: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
