"""SLiMS sync against SLiMS 9's own schema and sample data in a throw-away MariaDB database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pymysql
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from knowledge.availability import availability, describe
from knowledge.catalog import CatalogQuery, CatalogSearch
from knowledge.models import CopyStatus, Record
from knowledge.sources import slims
from knowledge.sources.sync import SyncFailed, get_watermark, sync_slims

pytestmark = pytest.mark.mariadb


def _record(sessions: sessionmaker[Session], biblio_id: int) -> Record | None:
    with sessions() as session:
        return session.scalars(
            select(Record)
            .where(Record.source == "slims", Record.source_id == str(biblio_id))
            .options(selectinload(Record.copies))
        ).first()


def test_first_sync_reads_the_whole_catalog(slims_dsn: str, sessions: sessionmaker[Session]) -> None:
    report = sync_slims(sessions, slims.SlimsOptions(dsn=slims_dsn))
    assert (report.added, report.skipped) == (15, [])
    pg = _record(sessions, 6)
    assert pg is not None
    assert pg.title == "PostgreSQL"
    assert pg.subtitle and pg.subtitle.startswith("a comprehensive guide")
    assert pg.authors == ["Douglas, Korry", "Douglas, Susan"]
    assert pg.subjects == ["Programming", "RDBMS"]
    assert (pg.publisher, pg.year, pg.isbn, pg.language) == ("Sams", "2003", "0735712573", "eng")
    assert pg.classification == "005.75/85 22" and pg.call_number == "005.75/85-22 Kor p"
    cathedral = _record(sessions, 4)
    assert cathedral is not None
    assert sorted(c.barcode or "" for c in cathedral.copies) == ["B00007", "B00008"]
    assert {c.location for c in cathedral.copies} == {"My Library"}
    assert all(c.status is CopyStatus.AVAILABLE for c in cathedral.copies)
    assert get_watermark(sessions, "slims") is not None
    # Nothing changed in SLiMS: the next sync changes nothing.
    again = sync_slims(sessions, slims.SlimsOptions(dsn=slims_dsn))
    assert (again.added, again.updated, again.deleted, again.copies_refreshed) == (0, 0, 0, 0)


def test_loans_edits_deletions_and_attachments_flow_in(
    slims_dsn: str, slims_sql: Callable[..., None], sessions: sessionmaker[Session]
) -> None:
    options = slims.SlimsOptions(dsn=slims_dsn, base_url="https://opac.example.id/")
    sync_slims(sessions, options)
    due = date.today() + timedelta(days=7)
    # A librarian lends B00007, fixes a title, hides one biblio, deletes another, attaches a PDF.
    slims_sql(
        "INSERT INTO loan (item_code, member_id, loan_date, due_date, is_lent, is_return, input_date, last_update) "
        "VALUES ('B00007', 'M1', CURDATE(), %s, 1, 0, NOW(), NOW())",
        due,
    )
    slims_sql("UPDATE biblio SET title = 'Linux in a Nutshell', last_update = NOW() WHERE biblio_id = 2")
    slims_sql("UPDATE biblio SET opac_hide = 1 WHERE biblio_id = 14")
    slims_sql("DELETE FROM biblio WHERE biblio_id = 15")
    slims_sql(
        "INSERT INTO files (file_id, file_title, file_name, file_url, mime_type, uploader_id, input_date, last_update) "
        "VALUES (1, 'PHP 5 PDF', 'php5.pdf', NULL, 'application/pdf', 1, NOW(), NOW())"
    )
    slims_sql("INSERT INTO biblio_attachment (biblio_id, file_id, access_type) VALUES (1, 1, 'public')")
    slims_sql("UPDATE biblio SET last_update = NOW() WHERE biblio_id = 1")
    report = sync_slims(sessions, options)
    assert report.deleted == 2 and report.updated == 2 + 1  # biblio 2 and 1, and biblio 4 (its loan)
    assert _record(sessions, 14) is None and _record(sessions, 15) is None
    linux = _record(sessions, 2)
    assert linux is not None and linux.title == "Linux in a Nutshell"
    php = _record(sessions, 1)
    assert php is not None and php.ebook_url == "https://opac.example.id/index.php?p=fstream&fid=1&bid=1"
    cathedral = _record(sessions, 4)
    assert cathedral is not None
    lent = {c.barcode: c for c in cathedral.copies}["B00007"]
    assert (lent.status, lent.due_date) == (CopyStatus.ON_LOAN, due)
    av = availability(cathedral.copies, cathedral.call_number)
    assert describe(av).startswith("1 dari 2 eksemplar tersedia di My Library")
    # The patron-facing search shows the same live state.
    [hit] = CatalogSearch(sessions).search(CatalogQuery(text="cathedral and the bazaar"))
    assert hit.availability.available == 1 and hit.availability.on_loan == 1


def test_returned_loan_is_seen_even_without_last_update(
    slims_dsn: str, slims_sql: Callable[..., None], sessions: sessionmaker[Session]
) -> None:
    options = slims.SlimsOptions(dsn=slims_dsn)
    # The sample data stamps two biblios with NOW() while loading; age them so that the
    # (inclusive) watermark cannot pick them up again within the same second.
    slims_sql("UPDATE biblio SET last_update = '2020-01-01' WHERE last_update > '2020-01-01'")
    slims_sql(
        "INSERT INTO loan (item_code, member_id, loan_date, due_date, is_lent, is_return, input_date, last_update) "
        "VALUES ('B00001', 'M1', '2026-01-01', '2026-01-08', 1, 0, '2026-01-01', '2026-01-01')"
    )
    sync_slims(sessions, options)
    [copy] = _record(sessions, 8).copies  # type: ignore[union-attr]
    assert copy.status is CopyStatus.ON_LOAN
    slims_sql("UPDATE loan SET is_return = 1 WHERE item_code = 'B00001'")  # no timestamps touched
    report = sync_slims(sessions, options)
    [copy] = _record(sessions, 8).copies  # type: ignore[union-attr]
    assert copy.status is CopyStatus.AVAILABLE and copy.due_date is None
    assert report.copies_refreshed == 1


def test_the_slims_connection_is_read_only(slims_dsn: str) -> None:
    conn = slims.connect(slims_dsn)
    try:
        with pytest.raises(pymysql.err.MySQLError), conn.cursor() as cur:
            cur.execute("UPDATE biblio SET title = 'x' WHERE biblio_id = 1")
    finally:
        conn.close()


def test_unreachable_slims_fails_cleanly(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(SyncFailed) as failure:
        sync_slims(sessions, slims.SlimsOptions(dsn="mysql://nobody@127.0.0.1:1/none"))
    assert "tidak bisa dihubungi" in failure.value.reason
