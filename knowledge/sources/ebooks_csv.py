"""E-book list import from CSV: ebook_id, title, authors, publisher, year, format, platform, url, subjects."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.models import EBook
from knowledge.sources.report import SyncReport


def import_ebooks_csv(sessions: sessionmaker[Session], path: Path, *, source: str = "csv") -> SyncReport:
    """Upsert the e-books of ``path`` keyed by ``ebook_id``."""
    report = SyncReport(source=f"ebooks:{path.name}")
    rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
    with sessions.begin() as session:
        existing = {e.source_id: e for e in session.scalars(select(EBook).where(EBook.source == source))}
        for line_no, row in enumerate(rows, start=2):
            eid = (row.get("ebook_id") or "").strip()
            url = (row.get("url") or "").strip()
            if not eid or not url or not (row.get("title") or "").strip():
                report.skip(f"{path.name}:{line_no}", "ebook_id, title atau url kosong")
                continue
            values = {
                "title": row["title"].strip(),
                "authors": [a.strip() for a in (row.get("authors") or "").split(";") if a.strip()],
                "publisher": (row.get("publisher") or "").strip() or None,
                "year": (row.get("year") or "").strip() or None,
                "format": (row.get("format") or "").strip() or None,
                "platform": (row.get("platform") or "").strip() or None,
                "url": url,
                "subjects": [s.strip() for s in (row.get("subjects") or "").split(";") if s.strip()],
            }
            book = existing.get(eid)
            if book is None:
                session.add(EBook(source=source, source_id=eid, **values))
                report.added += 1
            elif any(getattr(book, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(book, k, v)
                report.updated += 1
            else:
                report.unchanged += 1
    return report
