"""Sync safety: idempotence, one bad record, failures roll back, deletions, migrations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.db import alembic_config, make_engine, upgrade
from knowledge.models import Copy, CopyStatus, Record
from knowledge.sources.records import Change, RecordData
from knowledge.sources.report import SyncReport
from knowledge.sources.sync import SyncFailed, import_file, run_sync, sync_state


def _book(i: int, **extra: object) -> RecordData:
    copies = extra.pop("copies", [])
    return RecordData(str(i), {"title": f"Buku nomor {i}", "authors": [f"Penulis {i}"], **extra}, copies)  # type: ignore[arg-type]


def _count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count(Record.id))) or 0)


def test_one_bad_record_is_skipped_with_its_reason(sessions: sessionmaker[Session]) -> None:
    changes = [Change(str(i), _book(i)) for i in range(1, 6)]
    changes.insert(2, Change("99", RecordData("99", {"title": None})))  # NOT NULL: the database refuses
    report = run_sync(sessions, "t", changes, SyncReport("t"))
    assert report.added == 5
    [(where, reason)] = report.skipped
    assert where == "99" and "ditolak basis data" in reason
    assert _count(sessions) == 5


def test_a_failing_source_rolls_back_everything(sessions: sessionmaker[Session]) -> None:
    run_sync(sessions, "t", [Change("1", _book(1))], SyncReport("t"))

    def broken() -> Iterator[Change]:
        yield Change("1", _book(1, publisher="Diubah"))
        yield Change("2", _book(2))
        raise ConnectionError("server pergi")

    with pytest.raises(SyncFailed):
        run_sync(sessions, "t", broken(), SyncReport("t"), batch_size=1)
    with sessions() as session:
        assert [r.publisher for r in session.scalars(select(Record))] == [None]
    [state] = sync_state(sessions)
    assert state["ok"] is False and "server pergi" in str(state["summary"])


def test_replace_deletes_records_missing_from_the_new_export(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    header = "record_id,title,authors,barcode,location,status,due_date\n"
    path = tmp_path / "ekspor.csv"
    path.write_text(header + "A,Satu,X,b1,Rak 1,available,\nB,Dua,Y,b2,Rak 1,on_loan,2026-12-01\n")
    assert import_file(sessions, path).added == 2
    path.write_text(header + "A,Satu,X,b1,Rak 1,on_loan,2026-12-02\n")
    kept = import_file(sessions, path)
    assert (kept.updated, kept.deleted) == (1, 0) and _count(sessions) == 2
    replaced = import_file(sessions, path, delete_missing=True)
    assert (replaced.unchanged, replaced.deleted) == (1, 1) and _count(sessions) == 1
    with sessions() as session:
        copy = session.scalars(select(Copy)).one()
        assert copy.status is CopyStatus.ON_LOAN and str(copy.due_date) == "2026-12-02"


def test_progress_is_reported_in_batches(sessions: sessionmaker[Session]) -> None:
    seen: list[int] = []
    run_sync(sessions, "t", (Change(str(i), _book(i)) for i in range(1200)), SyncReport("t"), progress=seen.append)
    assert seen == [500, 500, 200]


def test_migration_0002_goes_up_and_down(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    engine = make_engine(url)
    assert {"catalog_index", "catalog_fts", "catalog_sync_state"} <= set(inspect(engine).get_table_names())
    command.downgrade(alembic_config(url), "0001")
    names = set(inspect(engine).get_table_names())
    assert "catalog_index" not in names and "catalog_fts" not in names and "records" in names
    upgrade(url)
    engine.dispose()


@pytest.mark.postgres
def test_migration_0002_goes_up_and_down_on_postgresql(pg_database: str) -> None:
    upgrade(pg_database)
    command.downgrade(alembic_config(pg_database), "0001")
    engine = make_engine(pg_database)
    assert "catalog_index" not in set(inspect(engine).get_table_names())
    engine.dispose()
    upgrade(pg_database)


@pytest.mark.postgres
def test_bulk_copy_on_postgresql_skips_a_bad_record_and_keeps_odd_text(pg_sessions: sessionmaker[Session]) -> None:
    odd = "Tab\there, back\\slash\nnew line"
    changes = [Change(str(i), _book(i, copies=[{"barcode": f"b{i}", "status": CopyStatus.ON_LOAN}])) for i in range(1, 6)]
    changes.insert(1, Change("odd", RecordData("odd", {"title": odd, "authors": ["Ganjil, Judul"]})))
    changes.insert(3, Change("99", RecordData("99", {"title": None})))  # NOT NULL: the database refuses
    report = run_sync(pg_sessions, "t", changes, SyncReport("t"))
    assert report.added == 6
    [(where, reason)] = report.skipped
    assert where == "99" and "ditolak basis data" in reason
    with pg_sessions() as session:
        assert session.scalar(select(Record.title).where(Record.source_id == "odd")) == odd
        assert session.scalar(select(func.count(Copy.id)).where(Copy.status == CopyStatus.ON_LOAN)) == 5
    again = run_sync(pg_sessions, "t", [c for c in changes if c.source_id != "99"], SyncReport("t"))
    assert (again.added, again.updated, again.unchanged) == (0, 0, 6)


def test_indonesian_spreadsheet_headers_import_without_renaming(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    path = tmp_path / "ekspor-inlislite.tsv"
    path.write_text(
        "ID Katalog\tJudul\tPengarang\tPenerbit\tTahun Terbit\tNo. Panggil\tSubjek\tNo. Barcode\tLokasi\t"
        "Status\tTgl Kembali\n"
        "INL-7\tLaskar Pelangi\tHirata, Andrea\tBentang\t2005\t899.221 3 HIR l\tNovel Indonesia\tB0001\t"
        "Rak Fiksi Lantai 2\tdipinjam\t2026-12-03\n",
        encoding="utf-8",
    )
    report = import_file(sessions, path)
    assert report.added == 1 and not report.skipped
    with sessions() as session:
        record = session.scalars(select(Record)).one()
        assert (record.source_id, record.title, record.year) == ("INL-7", "Laskar Pelangi", "2005")
        assert record.authors == ["Hirata, Andrea"] and record.subjects == ["Novel Indonesia"]
        copy = session.scalars(select(Copy)).one()
        assert (copy.barcode, copy.call_number, copy.location) == ("B0001", "899.221 3 HIR l", "Rak Fiksi Lantai 2")
        assert copy.status is CopyStatus.ON_LOAN and str(copy.due_date) == "2026-12-03"
