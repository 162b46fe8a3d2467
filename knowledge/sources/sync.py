"""Safe, idempotent catalog sync: one transaction per run, batches, deletions, state.

Every run writes inside one database transaction: the records, their deletions and the search
index commit together, or (on any failure) not at all, so the previous knowledge keeps serving.
Within the run each batch is flushed in a savepoint; a batch the database refuses is retried
record by record, so one bad record is skipped (with its reason) instead of aborting the run.
``catalog_sync_state`` remembers each source's watermark (OAI-PMH datestamp, SLiMS time) and
how its last run went.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from enum import Enum
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Boolean, Column, DateTime, MetaData, String, Table, Text, insert, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from knowledge.catalog import CATALOG_INDEX, index_row, reindex
from knowledge.models import Copy, Record, utcnow
from knowledge.sources import oai_pmh, slims
from knowledge.sources.csv_catalog import read_csv
from knowledge.sources.formats import detect_format
from knowledge.sources.ical import import_ics
from knowledge.sources.marc import read_marc
from knowledge.sources.records import Change, RecordData, upsert_one
from knowledge.sources.report import SyncReport

log = logging.getLogger(__name__)

T = TypeVar("T")

STATE_METADATA = MetaData()
SYNC_STATE = Table(
    "catalog_sync_state",
    STATE_METADATA,
    Column("source", String(100), primary_key=True),
    Column("watermark", String(64)),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("ok", Boolean),
    Column("summary", Text),
)

Progress = Callable[[int], None]

# Records per batch for file imports: fewer round trips; a refused batch is retried one by one.
FILE_BATCH = 2000


class SyncFailed(RuntimeError):
    """A sync run failed and was rolled back; the previous knowledge keeps serving."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


# --- state ------------------------------------------------------------------------------------


def get_watermark(sessions: sessionmaker[Session], source: str) -> str | None:
    """The watermark stored by the last successful run of ``source``."""
    with sessions() as session:
        return session.execute(
            select(SYNC_STATE.c.watermark).where(SYNC_STATE.c.source == source)
        ).scalar_one_or_none()


def sync_state(sessions: sessionmaker[Session]) -> list[dict[str, object]]:
    """Every source's state (for ``pustakabot catalog status`` and health checks)."""
    with sessions() as session:
        return [dict(r._mapping) for r in session.execute(select(SYNC_STATE))]


def _save_state(session: Session, source: str, **values: object) -> None:
    exists = session.execute(
        select(SYNC_STATE.c.source).where(SYNC_STATE.c.source == source)
    ).first()
    if exists:
        session.execute(SYNC_STATE.update().where(SYNC_STATE.c.source == source).values(**values))
    else:
        session.execute(SYNC_STATE.insert().values(source=source, **values))


# --- applying changes -------------------------------------------------------------------------


# Record columns a source may set (``RecordData.fields``), with the ORM's defaults.
_FIELD_DEFAULTS: dict[str, object] = {
    "title": None, "subtitle": None, "authors": [], "publisher": None, "year": None,
    "isbn": None, "classification": None, "call_number": None, "subjects": [],
    "language": None, "ebook_url": None, "series": None, "series_number": None,
}
_COPY_KEYS = ("barcode", "call_number", "location", "status", "due_date")
_RECORDS = Record.__table__
_COPIES = Copy.__table__


@dataclass
class _Stored:
    """A stored record as plain values, to compare with an incoming one without the ORM."""

    id: int
    fields: dict[str, object]
    copies: list[tuple[object, ...]]


def _stored_versions(session: Session, source: str, source_ids: list[str]) -> dict[str, _Stored]:
    """The stored versions of these records (two Core queries, no ORM objects)."""
    columns = [_RECORDS.c[name] for name in _FIELD_DEFAULTS]
    stored: dict[str, _Stored] = {}
    for row in session.execute(
        select(_RECORDS.c.id, _RECORDS.c.source_id, *columns).where(
            _RECORDS.c.source == source, _RECORDS.c.source_id.in_(source_ids)
        )
    ):
        values = row._mapping
        stored[values["source_id"]] = _Stored(
            id=values["id"], fields={name: values[name] for name in _FIELD_DEFAULTS}, copies=[]
        )
    if stored:
        by_id = {s.id: s for s in stored.values()}
        for row in session.execute(
            select(_COPIES.c.record_id, *(_COPIES.c[k] for k in _COPY_KEYS))
            .where(_COPIES.c.record_id.in_(list(by_id)))
            .order_by(_COPIES.c.id)
        ):
            by_id[row[0]].copies.append(tuple(row[1:]))
    return stored


def _unchanged(data: RecordData, stored: _Stored) -> bool:
    """``data`` would change nothing (the same test as :func:`upsert_one`)."""
    for key, value in data.fields.items():
        if key not in stored.fields or stored.fields[key] != value:
            return False
    return stored.copies == [tuple(c.get(k) for k in _COPY_KEYS) for c in data.copies]


def _apply_batch(
    session: Session, source: str, batch: list[Change], report: SyncReport, seen: set[str]
) -> None:
    upserts = [c for c in batch if c.record is not None]
    deletes = [c.source_id for c in batch if c.record is None]
    if upserts:
        stored = _stored_versions(session, source, [c.source_id for c in upserts])
        fresh = [c.record for c in upserts if c.source_id not in stored and c.record]
        changed = [
            c for c in upserts
            if c.source_id in stored and c.record and not _unchanged(c.record, stored[c.source_id])
        ]
        scratch = SyncReport(source=report.source)
        scratch.unchanged = len(upserts) - len(fresh) - len(changed)
        try:
            with session.begin_nested():
                _insert_new(session, source, fresh)
                scratch.added += len(fresh)
                if changed:
                    # Only records that really differ pay for the ORM's unit of work.
                    existing = {
                        r.source_id: r
                        for r in session.scalars(
                            select(Record)
                            .where(Record.id.in_([stored[c.source_id].id for c in changed]))
                            .options(selectinload(Record.copies))
                        )
                    }
                    for change in changed:
                        assert change.record is not None
                        upsert_one(session, source, change.record, existing[change.source_id], scratch)
        except SQLAlchemyError:
            # Find the record(s) the database refuses; keep the others.
            session.expunge_all()
            _apply_one_by_one(session, source, upserts, report)
        else:
            _merge(report, scratch)
    if deletes:
        report.deleted += delete_records(session, source, deletes)
        seen.difference_update(deletes)
    session.flush()
    session.expunge_all()  # keep memory flat over long imports


def _copy_text(value: object) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, Enum):
        value = value.value
    elif isinstance(value, (list, dict)):
        value = json.dumps(value)
    elif isinstance(value, (date, datetime)):
        value = value.isoformat()
    elif isinstance(value, bool):
        value = "t" if value else "f"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (same keys each): executemany, or COPY on PostgreSQL with psycopg2.

    COPY is several times faster than multi-row INSERTs there; a refused row raises
    :class:`~sqlalchemy.exc.DBAPIError` like an INSERT would, so the batch is retried one by one.
    """
    if not rows:
        return
    conn = session.connection()
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg2":
        session.execute(insert(table), rows)
        return
    names = list(rows[0])
    statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(_copy_text(row[n]) for n in names))
        buffer.write("\n")
    buffer.seek(0)
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    try:
        with dbapi.cursor() as cursor:
            cursor.copy_expert(statement, buffer)
    except Exception as exc:  # psycopg2's own errors; wrapped so callers see SQLAlchemy's
        raise DBAPIError(statement, None, exc) from exc


def _insert_new(session: Session, source: str, records: list[RecordData]) -> None:
    """Insert records that are not stored yet, their copies and search index rows (Core).

    No RETURNING: with it SQLAlchemy sends SQLite one INSERT per row (to keep the ids in
    parameter order); the new ids are read back by the (source, source_id) unique key instead.
    The index rows are built from the data in hand, stamped like :func:`reindex` stamps them,
    so the final reindex finds these records up to date.
    """
    if not records:
        return
    now = utcnow()
    _bulk_insert(
        session,
        _RECORDS,
        [
            {
                "source": source,
                "source_id": r.source_id,
                "updated_at": now,
                **{k: r.fields.get(k, d) for k, d in _FIELD_DEFAULTS.items()},
            }
            for r in records
        ],
    )
    stored = {
        source_id: (record_id, str(stamp))
        for source_id, record_id, stamp in session.execute(
            select(_RECORDS.c.source_id, _RECORDS.c.id, _RECORDS.c.updated_at).where(
                _RECORDS.c.source == source,
                _RECORDS.c.source_id.in_([r.source_id for r in records]),
            )
        )
    }
    copies = [
        {"record_id": stored[r.source_id][0], **{k: c.get(k) for k in _COPY_KEYS}}
        for r in records
        for c in r.copies
    ]
    _bulk_insert(session, _COPIES, copies)
    _bulk_insert(
        session,
        CATALOG_INDEX,
        [
            index_row(
                *stored[r.source_id],
                title=r.fields.get("title") or "",
                subtitle=r.fields.get("subtitle"),
                authors=r.fields.get("authors"),
                subjects=r.fields.get("subjects"),
                isbn=r.fields.get("isbn"),
                series=r.fields.get("series"),
            )
            for r in records
        ],
    )


def _apply_one_by_one(
    session: Session, source: str, upserts: list[Change], report: SyncReport
) -> None:
    for change in upserts:
        assert change.record is not None
        scratch = SyncReport(source=report.source)
        try:
            with session.begin_nested():
                record = session.scalars(
                    select(Record)
                    .where(Record.source == source, Record.source_id == change.source_id)
                    .options(selectinload(Record.copies))
                ).first()
                upsert_one(session, source, change.record, record, scratch)
        except SQLAlchemyError as exc:
            session.expunge_all()
            reason = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
            report.skip(change.source_id, f"ditolak basis data: {reason}")
            continue
        _merge(report, scratch)


def _merge(report: SyncReport, part: SyncReport) -> None:
    report.added += part.added
    report.updated += part.updated
    report.unchanged += part.unchanged


def delete_records(session: Session, source: str, source_ids: Iterable[str]) -> int:
    """Delete the records of ``source`` with these ids (copies and index rows cascade)."""
    total = 0
    for chunk in _batched(source_ids, 500):
        for record in session.scalars(
            select(Record).where(Record.source == source, Record.source_id.in_(chunk))
        ):
            session.delete(record)
            total += 1
    session.flush()
    return total


def apply_changes(
    session: Session,
    source: str,
    changes: Iterable[Change],
    report: SyncReport,
    *,
    delete_missing: bool = False,
    batch_size: int = 500,
    progress: Progress | None = None,
    latest_wins: bool = False,
) -> None:
    """Write ``changes`` of ``source`` inside the caller's transaction, then reindex.

    Args:
        session: an open transaction.
        source: source name the records are keyed under.
        changes: upserts and deletions, in source order. An id seen twice is reported.
        report: what happened.
        delete_missing: also delete this source's records that were not in ``changes`` (a
            full export replaces the previous one).
        batch_size: records per flush.
        progress: called with the number of changes handled after each batch.
        latest_wins: a record seen twice is updated again (a harvest that saw a record change
            between pages); otherwise the second is skipped and reported (a file with a
            duplicated id).
    """
    seen: set[str] = set()
    for batch in _batched(changes, batch_size):
        unique: dict[str, Change] = {}
        for change in batch:
            if latest_wins:
                unique.pop(change.source_id, None)  # a later change of the same record wins
            elif change.record is not None and (change.source_id in seen or change.source_id in unique):
                report.skip(change.source_id, "nomor rekaman ganda dalam satu impor; yang pertama dipakai")
                continue
            unique[change.source_id] = change
        seen.update(unique)
        _apply_batch(session, source, list(unique.values()), report, seen)
        if progress:
            progress(len(batch))
    if delete_missing:
        stored = set(session.scalars(select(Record.source_id).where(Record.source == source)))
        missing = stored - seen
        if missing:
            report.deleted += delete_records(session, source, missing)
    reindex(session)


def run_sync(
    sessions: sessionmaker[Session],
    source: str,
    changes: Iterable[Change],
    report: SyncReport,
    *,
    delete_missing: bool = False,
    watermark: str | Callable[[], str | None] | None = None,
    progress: Progress | None = None,
    batch_size: int = 500,
    extra: Callable[[Session], None] | None = None,
    latest_wins: bool = False,
) -> SyncReport:
    """Apply ``changes`` in one transaction and record the run in ``catalog_sync_state``.

    Args:
        sessions: the knowledge database.
        source: source name the records are keyed under (and the state row's key).
        changes: upserts and deletions (may be a lazy stream from a file or a server).
        report: what happened.
        delete_missing: delete this source's records absent from ``changes``.
        watermark: stored as the source's watermark on success (a callable is asked after
            ``changes`` is consumed; None keeps the previous one).
        progress: called with the number of changes handled after each batch.
        batch_size: records per flush.
        extra: more work for the same transaction (e.g. a live availability refresh).
        latest_wins: see :func:`apply_changes`.

    Raises:
        SyncFailed: anything went wrong; nothing was written, the previous knowledge serves.
    """
    started = datetime.now(timezone.utc)
    try:
        with sessions.begin() as session:
            # Write first: pysqlite only opens its transaction before DML, and a SAVEPOINT
            # issued outside one would commit on RELEASE (then a failure could not roll back).
            _save_state(session, source, started_at=started)
            apply_changes(
                session, source, changes, report,
                delete_missing=delete_missing, progress=progress, batch_size=batch_size,
                latest_wins=latest_wins,
            )
            if extra is not None:
                extra(session)
            values: dict[str, object] = {
                "started_at": started,
                "finished_at": datetime.now(timezone.utc),
                "ok": True,
                "summary": report.summary(),
            }
            mark = watermark() if callable(watermark) else watermark
            if mark is not None:
                values["watermark"] = mark
            _save_state(session, source, **values)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        log.warning("sync of %s failed and was rolled back: %s", source, reason)
        try:
            with sessions.begin() as session:
                _save_state(
                    session, source, started_at=started, finished_at=datetime.now(timezone.utc),
                    ok=False, summary=f"gagal: {reason}",
                )
        except SQLAlchemyError:
            log.exception("could not record the failed sync of %s", source)
        raise SyncFailed(source, reason) from exc
    return report


# --- files ------------------------------------------------------------------------------------


def file_changes(path: Path, fmt: str, report: SyncReport) -> Iterator[Change]:
    """The records of a catalog file as upserts."""
    if fmt == "csv":
        records: Iterable[RecordData] = read_csv(path, report)
    elif fmt in ("marc", "marcxml"):
        records = read_marc(path, report, xml=fmt == "marcxml")
    else:
        raise ValueError(f"unknown format {fmt!r}")
    for data in records:
        yield Change(data.source_id, data)


def import_file(
    sessions: sessionmaker[Session],
    path: Path,
    *,
    fmt: str | None = None,
    source: str | None = None,
    delete_missing: bool = False,
    progress: Progress | None = None,
) -> SyncReport:
    """Import a MARC, MARCXML or CSV/TSV catalog file (format detected when ``fmt`` is None).

    A second import of the same file changes nothing. Records are keyed by ``source`` (default:
    ``marc`` for MARC and MARCXML, ``csv`` for CSV) and their id (001, or ``record_id``).
    """
    fmt = fmt or detect_format(path)
    source = source or ("csv" if fmt == "csv" else "marc")
    report = SyncReport(source=f"{source}:{path.name}")
    return run_sync(
        sessions, source, file_changes(path, fmt, report), report,
        delete_missing=delete_missing, progress=progress, batch_size=FILE_BATCH,
    )


# --- configured sources -----------------------------------------------------------------------


def sync_oai(
    sessions: sessionmaker[Session],
    url: str,
    *,
    metadata_prefix: str = "oai_dc",
    set_spec: str | None = None,
    full: bool = False,
    source: str = "oai",
    progress: Progress | None = None,
) -> SyncReport:
    """Harvest an OAI-PMH endpoint: everything the first time, then ``from`` the last datestamp."""
    since = None if full else get_watermark(sessions, source)
    state = oai_pmh.HarvestState()
    report = SyncReport(source=f"{source}:{url}")
    changes = oai_pmh.harvest(
        url, report, state, metadata_prefix=metadata_prefix, from_=since, set_spec=set_spec
    )
    return run_sync(
        sessions, source, changes, report,
        watermark=lambda: state.latest, progress=progress, latest_wins=True,
    )


def sync_slims(
    sessions: sessionmaker[Session],
    options: slims.SlimsOptions,
    *,
    full: bool = False,
    progress: Progress | None = None,
) -> SyncReport:
    """Sync a SLiMS database: changed biblios, deletions, and every copy's live status."""
    report = SyncReport(source=slims.SOURCE)
    since = None if full else get_watermark(sessions, slims.SOURCE)
    try:
        conn = slims.connect(options.dsn)
    except Exception as exc:  # pymysql raises its own hierarchy; report it in one shape
        raise SyncFailed(slims.SOURCE, f"basis data SLiMS tidak bisa dihubungi: {exc}") from exc
    try:
        watermark = slims.server_now(conn)
        with sessions() as session:
            known = slims.local_ids(session)
        changes = slims.changes(conn, options, report, since=since, known_ids=known)

        def refresh(session: Session) -> None:
            report.copies_refreshed += slims.refresh_availability(session, conn, report)

        return run_sync(
            sessions, slims.SOURCE, changes, report,
            watermark=watermark, progress=progress, extra=refresh, latest_wins=True,
        )
    finally:
        conn.close()


@dataclass(frozen=True)
class SyncPlan:
    """The sources a library configured (plain values; ``knowledge`` never sees Settings)."""

    oai_url: str = ""
    oai_metadata_prefix: str = "oai_dc"
    oai_set: str = ""
    slims_dsn: str = ""
    slims_base_url: str = ""
    events_url: str = ""
    timezone: str = "Asia/Jakarta"

    @property
    def empty(self) -> bool:
        """No source configured."""
        return not (self.oai_url or self.slims_dsn or self.events_url)


def sync_configured(
    sessions: sessionmaker[Session],
    plan: SyncPlan,
    *,
    full: bool = False,
    progress: Progress | None = None,
) -> tuple[list[SyncReport], list[SyncFailed]]:
    """Sync every configured source; one failing source does not stop the others.

    Returns:
        The reports of the sources that synced, and the failures (each rolled back).
    """
    reports: list[SyncReport] = []
    failures: list[SyncFailed] = []
    jobs: list[tuple[str, Callable[[], SyncReport]]] = []
    if plan.slims_dsn:
        options = slims.SlimsOptions(dsn=plan.slims_dsn, base_url=plan.slims_base_url)
        jobs.append((slims.SOURCE, lambda: sync_slims(sessions, options, full=full, progress=progress)))
    if plan.oai_url:
        jobs.append(
            (
                "oai",
                lambda: sync_oai(
                    sessions, plan.oai_url, metadata_prefix=plan.oai_metadata_prefix,
                    set_spec=plan.oai_set or None, full=full, progress=progress,
                ),
            )
        )
    if plan.events_url:
        jobs.append(("ical", lambda: import_ics(sessions, plan.events_url, tz=plan.timezone)))
    for name, job in jobs:
        try:
            reports.append(job())
        except SyncFailed as exc:
            failures.append(exc)
        except Exception as exc:  # an events feed that is down must not stop the catalog
            log.warning("sync of %s failed: %s", name, exc)
            failures.append(SyncFailed(name, f"{type(exc).__name__}: {exc}"))
    return reports, failures
