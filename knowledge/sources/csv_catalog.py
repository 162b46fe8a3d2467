"""Catalog import from CSV/TSV, one row per physical copy.

Columns (header row required; see docs/): record_id, title, subtitle, authors, publisher, year,
isbn, classification, call_number, subjects, language, barcode, location, status, due_date.
``authors`` and ``subjects`` are separated by ``;``. ``status`` is available / on_loan /
reference / lost (or tersedia / dipinjam / rujukan / hilang). Headers may also be the
Indonesian names a spreadsheet or an INLISLite export uses ("Judul", "Pengarang", "No.
Panggil", "Nomor Barcode"...; :data:`HEADER_ALIASES`), in any case and punctuation.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from knowledge.catalog import reindex
from knowledge.models import Copy, CopyStatus, Record
from knowledge.sources.report import SyncReport

STATUS_WORDS = {
    "available": CopyStatus.AVAILABLE, "tersedia": CopyStatus.AVAILABLE, "": CopyStatus.AVAILABLE,
    "on_loan": CopyStatus.ON_LOAN, "dipinjam": CopyStatus.ON_LOAN, "loan": CopyStatus.ON_LOAN,
    "reference": CopyStatus.REFERENCE, "rujukan": CopyStatus.REFERENCE, "referensi": CopyStatus.REFERENCE,
    "lost": CopyStatus.LOST, "hilang": CopyStatus.LOST,
}


# Indonesian column names -> our columns (keys folded: lower case, letters and digits only).
HEADER_ALIASES = {
    "idbibliografi": "record_id", "idkatalog": "record_id", "nokatalog": "record_id",
    "nomorkatalog": "record_id", "catalogid": "record_id", "biblioid": "record_id", "id": "record_id",
    "judul": "title", "judulutama": "title", "anakjudul": "subtitle", "subjudul": "subtitle",
    "pengarang": "authors", "penulis": "authors", "author": "authors", "penerbit": "publisher",
    "tahunterbit": "year", "tahun": "year", "klasifikasi": "classification", "ddc": "classification",
    "nopanggil": "call_number", "nomorpanggil": "call_number", "callnumber": "call_number",
    "subjek": "subjects", "topik": "subjects", "subject": "subjects", "bahasa": "language",
    "nobarcode": "barcode", "nomorbarcode": "barcode", "noinduk": "barcode", "nomorinduk": "barcode",
    "itemcode": "barcode", "lokasi": "location", "ruang": "location", "statuseksemplar": "status",
    "ketersediaan": "status", "tanggalkembali": "due_date", "tglkembali": "due_date",
    "jatuhtempo": "due_date",
}
COLUMNS = ("record_id", "title", "subtitle", "authors", "publisher", "year", "isbn", "classification",
           "call_number", "subjects", "language", "barcode", "location", "status", "due_date")


def column_name(header: str) -> str:
    """Our column for a header as a librarian's spreadsheet may spell it."""
    key = "".join(ch for ch in header.lower() if ch.isalnum())
    for column in COLUMNS:
        if key == column.replace("_", ""):
            return column
    return HEADER_ALIASES.get(key, header.strip())


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


def _split(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(";") if p.strip()]


def read_csv(path: Path, report: SyncReport) -> list[RecordData]:
    """Group the copy rows of ``path`` into records; bad rows are skipped with their line."""
    text = path.read_text(encoding="utf-8-sig")
    dialect = "excel-tab" if path.suffix.lower() == ".tsv" or text.split("\n", 1)[0].count("\t") > 1 else "excel"
    records: dict[str, RecordData] = {}
    reader = csv.DictReader(text.splitlines(), dialect=dialect)
    if reader.fieldnames:
        reader.fieldnames = [column_name(h) for h in reader.fieldnames]
    for line_no, row in enumerate(reader, start=2):
        rid = (row.get("record_id") or "").strip()
        title = (row.get("title") or "").strip()
        if not rid or not title:
            report.skip(f"{path.name}:{line_no}", "record_id atau title kosong")
            continue
        status_word = (row.get("status") or "").strip().lower()
        if status_word not in STATUS_WORDS:
            report.skip(f"{path.name}:{line_no}", f"status `{status_word}` tidak dikenal")
            continue
        due = (row.get("due_date") or "").strip()
        try:
            due_date = date.fromisoformat(due) if due else None
        except ValueError:
            report.skip(f"{path.name}:{line_no}", f"due_date `{due}` bukan tanggal YYYY-MM-DD")
            continue
        rec = records.get(rid)
        if rec is None:
            rec = records[rid] = RecordData(
                source_id=rid,
                fields={
                    "title": title,
                    "subtitle": (row.get("subtitle") or "").strip() or None,
                    "authors": _split(row.get("authors")),
                    "publisher": (row.get("publisher") or "").strip() or None,
                    "year": (row.get("year") or "").strip() or None,
                    "isbn": (row.get("isbn") or "").strip() or None,
                    "classification": (row.get("classification") or "").strip() or None,
                    "call_number": (row.get("call_number") or "").strip() or None,
                    "subjects": _split(row.get("subjects")),
                    "language": (row.get("language") or "").strip() or None,
                },
            )
        if (row.get("barcode") or "").strip() or (row.get("location") or "").strip():
            rec.copies.append(
                {
                    "barcode": (row.get("barcode") or "").strip() or None,
                    "call_number": (row.get("call_number") or "").strip() or None,
                    "location": (row.get("location") or "").strip() or None,
                    "status": STATUS_WORDS[status_word],
                    "due_date": due_date,
                }
            )
    return list(records.values())


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


def import_csv(sessions: sessionmaker[Session], path: Path, *, source: str = "csv") -> SyncReport:
    """Import a CSV/TSV catalog file in one transaction (all or nothing)."""
    report = SyncReport(source=f"{source}:{path.name}")
    records = read_csv(path, report)
    with sessions.begin() as session:
        upsert_records(session, source, records, report)
        reindex(session)  # the search index commits with the records
    return report
