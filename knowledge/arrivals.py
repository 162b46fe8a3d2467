"""New arrivals: the catalog records a sync or import added after a given record id.

Record ids only grow, so "added since the last digest" is "id above the last digest's highest
id" (an updated record keeps its id and is not new).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.models import Record


@dataclass(frozen=True)
class NewRecord:
    """A newly added title, with what a patron's topics are matched on."""

    id: int
    title: str
    authors: tuple[str, ...]
    subjects: tuple[str, ...]
    classification: str | None
    year: str | None


def records_after(sessions: sessionmaker[Session], after_id: int, *, limit: int = 200) -> list[NewRecord]:
    """Records with an id above ``after_id``, oldest first."""
    with sessions() as session:
        rows = session.scalars(select(Record).where(Record.id > after_id).order_by(Record.id).limit(limit))
        return [
            NewRecord(r.id, r.title, tuple(r.authors or ()), tuple(r.subjects or ()), r.classification, r.year)
            for r in rows
        ]


def max_record_id(sessions: sessionmaker[Session]) -> int:
    """The highest record id (0: empty catalog)."""
    with sessions() as session:
        return int(session.scalar(select(func.max(Record.id))) or 0)
