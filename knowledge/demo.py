"""The demo knowledge base of Perpustakaan Kota Prabumulih shipped in knowledge/demo/."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.models import Record
from knowledge.sources.csv_catalog import import_csv
from knowledge.sources.ebooks_csv import import_ebooks_csv
from knowledge.sources.ical import import_ics
from knowledge.sources.report import SyncReport

DEMO_DIR = Path(__file__).resolve().parent / "demo"


def catalog_is_empty(sessions: sessionmaker[Session]) -> bool:
    """True when no record has been imported yet."""
    with sessions() as session:
        return session.execute(select(func.count(Record.id))).scalar_one() == 0


def load_demo(
    sessions: sessionmaker[Session], *, demo_dir: Path = DEMO_DIR, tz: str = "Asia/Jakarta"
) -> list[SyncReport]:
    """Import (idempotently) the demo catalog, e-books and events."""
    return [
        import_csv(sessions, demo_dir / "catalog.csv", source="demo"),
        import_ebooks_csv(sessions, demo_dir / "ebooks.csv", source="demo"),
        import_ics(sessions, str(demo_dir / "events.ics"), tz=tz, source="demo"),
    ]
