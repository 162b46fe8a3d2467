"""Catalog search: typo tolerance, authors, subjects, ISBN, honesty; on SQLite FTS5 and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from knowledge.catalog import CatalogQuery, CatalogSearch, isbn_forms, normalize_isbn
from knowledge.demo import load_demo
from knowledge.models import Record
from knowledge.sources.records import Change, RecordData
from knowledge.sources.report import SyncReport
from knowledge.sources.sync import delete_records, run_sync

PATRON_QUESTIONS = [
    ("lascar pelangi", "Laskar Pelangi", "title"),
    ("ronggeng dukuh parok", "Ronggeng Dukuh Paruk", "title"),
    ("negri 5 menara", "Negeri 5 Menara", "title"),
    ("ada buku bumi manusia ga kak?", "Bumi Manusia", "title"),
    ("buku karya tere liye", None, "author"),
    ("andrea hirata", None, "author"),
    ("buku tentang budidaya nanas", "Nenas: Budi Daya dan Pascapanen", "subject"),
    ("9789793062792", "Laskar Pelangi", "isbn"),
    ("ISBN 979-3062-79-7", "Laskar Pelangi", "isbn"),
]


def _check_patron_questions(sessions: sessionmaker[Session]) -> None:
    search = CatalogSearch(sessions)
    for question, title, matched in PATRON_QUESTIONS:
        hits = search.search(CatalogQuery(text=question))
        assert hits, question
        assert hits[0].matched == matched, (question, hits[0])
        if title:
            assert hits[0].title == title, (question, [h.title for h in hits])
    tere = search.search(CatalogQuery(text="buku karya tere liye", limit=10))
    assert len(tere) >= 3 and all("Liye, Tere" in h.authors for h in tere)
    # Not in the collection: an honest empty answer, never a look-alike.
    for missing in ("the hunger games", "bumi datar", "laskar merah putih", "cantik itu lukisan"):
        assert search.search(CatalogQuery(text=missing)) == [], missing
    # Fields combine: every given field must match.
    assert search.search(CatalogQuery(title="bumi manusia", author="tere liye")) == []
    assert [h.title for h in search.search(CatalogQuery(title="bumi", author="tere liye"))][:1] == ["Bumi"]
    assert search.search(CatalogQuery(title="bumi manusia", author="pramoedya"))[0].title == "Bumi Manusia"
    only = search.search(CatalogQuery(author="andrea hirata", only_available=True, limit=20))
    assert only and all(h.availability.is_available for h in only)


def test_patron_questions_on_sqlite_fts5(sessions: sessionmaker[Session]) -> None:
    load_demo(sessions)
    _check_patron_questions(sessions)


@pytest.mark.postgres
def test_patron_questions_on_postgresql(pg_sessions: sessionmaker[Session]) -> None:
    with pg_sessions() as session:
        assert session.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first()
        indexes = set(session.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename = 'catalog_index'")))
    assert {"ix_catalog_index_fts", "ix_catalog_index_title_trgm"} <= indexes
    load_demo(pg_sessions)
    _check_patron_questions(pg_sessions)


def test_index_follows_changes_and_deletions(sessions: sessionmaker[Session]) -> None:
    search = CatalogSearch(sessions, check_interval=0)
    book = RecordData("X1", {"title": "Kebun Nanas Kami", "authors": ["Sari, Dewi"], "subjects": ["Pertanian"]})
    run_sync(sessions, "test", [Change("X1", book)], SyncReport("t"))
    assert [h.title for h in search.search(CatalogQuery(text="kebun nanas kami"))] == ["Kebun Nanas Kami"]
    renamed = RecordData("X1", {"title": "Kebun Salak Kami", "authors": ["Sari, Dewi"], "subjects": ["Pertanian"]})
    run_sync(sessions, "test", [Change("X1", renamed)], SyncReport("t"))
    assert search.search(CatalogQuery(text="kebun nanas kami")) == []
    assert search.search(CatalogQuery(text="kebun salak kami"))
    with sessions.begin() as session:
        assert delete_records(session, "test", ["X1"]) == 1
    assert search.search(CatalogQuery(text="kebun salak kami")) == []
    with sessions() as session:
        assert session.scalar(text("SELECT count(*) FROM catalog_index")) == 0
        assert session.scalar(text("SELECT count(*) FROM catalog_fts WHERE catalog_fts MATCH 'salak'")) == 0


def test_records_written_without_reindex_are_caught_up(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        session.add(Record(source="other", source_id="1", title="Sang Pemimpi", authors=["Hirata, Andrea"]))
    hits = CatalogSearch(sessions).search(CatalogQuery(text="sang pemimpi"))
    assert [h.title for h in hits] == ["Sang Pemimpi"]
    with sessions() as session:
        assert session.scalar(select(Record.title)) == "Sang Pemimpi"


def test_isbn_normalisation() -> None:
    assert normalize_isbn("0-596-00108-8 (pbk.)") == "0596001088"
    assert normalize_isbn("978-979-3062-79-2") == "9789793062792"
    assert normalize_isbn("no isbn") is None
    assert set(isbn_forms("979-3062-79-7")) == {"9793062797", "9789793062792"}
    assert set(isbn_forms("ISBN 0-8044-2957-X")) == {"080442957x", "9780804429573"}


def test_isbn_check_digits() -> None:
    # A valid ISBN wins over an earlier one with a wrong check digit ...
    assert normalize_isbn("0-596-00108-9; 978-979-3062-79-2") == "9789793062792"
    # ... but a catalog typo alone keeps its number (it identifies the record).
    assert normalize_isbn("0-596-00108-9") == "0596001089"
    # A barcode that is not an ISBN (EAN outside 978/979) is not one.
    assert normalize_isbn("4006381333931") is None
    # A 978 ISBN-13 with a wrong check digit has no ISBN-10 form.
    assert isbn_forms("978-979-3062-79-3") == ["9789793062793"]
    assert isbn_forms("979-10-90636-07-1") == ["9791090636071"]


def test_a_display_title_with_its_subtitle_finds_the_record(sessions: sessionmaker[Session]) -> None:
    load_demo(sessions)
    search = CatalogSearch(sessions)
    hits = search.search(CatalogQuery(title="Filosofi Teras: Filsafat Yunani-Romawi Kuno untuk Mental Tangguh Masa Kini"))
    assert hits and hits[0].title.startswith("Filosofi Teras")
