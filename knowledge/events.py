"""Upcoming library events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.models import Event


@dataclass(frozen=True)
class EventInfo:
    """One event occurrence, times aware."""

    title: str
    description: str | None
    location: str | None
    starts_at: datetime
    ends_at: datetime | None
    id: int | None = None


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def events_between(
    sessions: sessionmaker[Session], start: datetime, end: datetime, *, limit: int = 5
) -> list[EventInfo]:
    """Events starting in ``[start, end)``, soonest first."""
    with sessions() as session:
        rows = session.scalars(
            select(Event)
            .where(Event.starts_at >= start.astimezone(UTC))
            .where(Event.starts_at < end.astimezone(UTC))
            .order_by(Event.starts_at)
            .limit(limit)
        )
        return [
            EventInfo(
                e.title,
                e.description,
                e.location,
                _aware(e.starts_at),
                _aware(e.ends_at) if e.ends_at else None,
                e.id,
            )
            for e in rows
        ]


def event_by_id(sessions: sessionmaker[Session], event_id: int) -> EventInfo | None:
    """One event by its id (None: no such event)."""
    with sessions() as session:
        e = session.get(Event, event_id)
        if e is None:
            return None
        return EventInfo(e.title, e.description, e.location, _aware(e.starts_at),
                         _aware(e.ends_at) if e.ends_at else None, e.id)
