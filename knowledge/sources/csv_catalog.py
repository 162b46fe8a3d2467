"""Catalog import from CSV/TSV, one row per physical copy.

Columns (header row required; see docs/): record_id, title, subtitle, authors, publisher, year,
isbn, classification, call_number, subjects, language, barcode, location, status, due_date,
series, series_number (optional: "Tetralogi Buru" and 1, or "Tetralogi Buru ; 1").
``authors`` and ``subjects`` are separated by ``;``. ``status`` is available / on_loan /
reference / lost (or tersedia / dipinjam / rujukan / hilang). Headers may also be the
Indonesian names a spreadsheet or an INLISLite export uses ("Judul", "Pengarang", "No.
Panggil", "Nomor Barcode"...; :data:`HEADER_ALIASES`), in any case and punctuation.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from knowledge.catalog import reindex
from knowledge.models import CopyStatus
from knowledge.series import series_number
from knowledge.sources.records import RecordData, upsert_records
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
    "jatuhtempo": "due_date", "seri": "series", "judulseri": "series", "pernyataanseri": "series",
    "nomorseri": "series_number", "noseri": "series_number", "jilid": "series_number",
    "volume": "series_number",
}
COLUMNS = ("record_id", "title", "subtitle", "authors", "publisher", "year", "isbn", "classification",
           "call_number", "subjects", "language", "barcode", "location", "status", "due_date",
           "series", "series_number")


def column_name(header: str) -> str:
    """Our column for a header as a librarian's spreadsheet may spell it."""
    key = "".join(ch for ch in header.lower() if ch.isalnum())
    for column in COLUMNS:
        if key == column.replace("_", ""):
            return column
    return HEADER_ALIASES.get(key, header.strip())


def _split(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(";") if p.strip()]


def _series(name: str | None, number: str | None) -> dict[str, object]:
    """The series fields of a row: "Tetralogi Buru" and "1", or "Tetralogi Buru ; 1" alone."""
    name = (name or "").strip()
    number = (number or "").strip()
    if not number and ";" in name:
        name, _, number = (p.strip() for p in name.rpartition(";"))
    return {"series": name or None, "series_number": series_number(number) if name else None}


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
                    **_series(row.get("series"), row.get("series_number")),
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


def import_csv(sessions: sessionmaker[Session], path: Path, *, source: str = "csv") -> SyncReport:
    """Import a CSV/TSV catalog file in one transaction (all or nothing)."""
    report = SyncReport(source=f"{source}:{path.name}")
    records = read_csv(path, report)
    with sessions.begin() as session:
        upsert_records(session, source, records, report)
        reindex(session)  # the search index commits with the records
    return report
