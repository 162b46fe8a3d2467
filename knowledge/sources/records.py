"""What every catalog importer produces (records with their copies, changes) and how it is stored.

The CSV, MARC, SLiMS and OAI-PMH readers turn their source into :class:`RecordData` (or a stream
of :class:`Change`); :func:`upsert_records` / :func:`upsert_one` write them, keyed by the
record's id in its source and the copies' barcodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from knowledge.models import Copy, Record
from knowledge.sources.report import SyncReport


@dataclass
class RecordData:
    """A record and its copies as read from a source, before it touches the database."""

    source_id: str
    fields: dict[str, Any]
    copies: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Change:
    """One change from a source: a record to upsert, or (``record`` None) an id to delete."""

    source_id: str
    record: RecordData | None = None


def upsert_records(
    session: Session,
    source: str,
    records: list[RecordData],
    report: SyncReport,
    *,
    existing: dict[str, Record] | None = None,
) -> None:
    """Insert or update ``records`` of ``source`` (keyed by source id); copies keyed by barcode.

    Args:
        session: the open transaction.
        source: the source name (``csv``, ``marc``, ``slims``...).
        records: records to write.
        report: counts added / updated / unchanged.
        existing: the records of ``source`` already stored, by source id (default: all of
            them, loaded here); batch callers pass just the ones in their batch.
    """
    if existing is None:
        existing = {
            r.source_id: r
            for r in session.scalars(
                select(Record).where(Record.source == source).options(selectinload(Record.copies))
            )
        }
    for data in records:
        upsert_one(session, source, data, existing.get(data.source_id), report)


def upsert_one(
    session: Session, source: str, data: RecordData, record: Record | None, report: SyncReport
) -> Record:
    """Insert ``data`` as a new record, or update ``record`` (its stored version) in place."""
    if record is None:
        record = Record(source=source, source_id=data.source_id, **data.fields)
        record.copies = [Copy(**c) for c in data.copies]
        session.add(record)
        report.added += 1
        return record
    changed = False
    for key, value in data.fields.items():
        if getattr(record, key) != value:
            setattr(record, key, value)
            changed = True
    old = [(c.barcode, c.call_number, c.location, c.status, c.due_date) for c in record.copies]
    new = [
        (c["barcode"], c["call_number"], c["location"], c["status"], c["due_date"])
        for c in data.copies
    ]
    if old != new:
        by_barcode = {c.barcode: c for c in record.copies if c.barcode}
        kept = []
        for c in data.copies:
            copy = by_barcode.pop(c["barcode"], None) if c["barcode"] else None
            if copy is None:
                copy = Copy(**c)
            else:
                for key, value in c.items():
                    setattr(copy, key, value)
            kept.append(copy)
        record.copies = kept
        changed = True
    if changed:
        report.updated += 1
    else:
        report.unchanged += 1
    return record
