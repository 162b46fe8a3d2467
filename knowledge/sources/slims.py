"""SLiMS (Senayan) database, read-only SQL over its MariaDB/MySQL schema.

The primary path for SLiMS libraries: SLiMS's OAI-PMH stamps records with ``input_date`` and
misses edits and deletions. Tables read: ``biblio`` (+ ``mst_publisher``), ``biblio_author`` →
``mst_author``, ``biblio_topic`` → ``mst_topic``, ``item`` (+ ``mst_location``,
``mst_item_status``), ``loan`` (``is_lent = 1 AND is_return = 0``: on loan now, with its due
date) and ``biblio_attachment`` → ``files`` (e-books). Nothing is ever written to SLiMS: the
session is set read-only.

Sync: records whose biblio, items or loans changed since the watermark (the SLiMS server's own
clock at the start of the previous run), a reconciliation of ids (deleted or hidden biblios are
removed here), and a refresh of every copy's status from the live loans.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pymysql
import pymysql.cursors
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from knowledge.catalog import normalize_isbn
from knowledge.models import Copy, CopyStatus, Record
from knowledge.sources.records import Change, RecordData
from knowledge.sources.report import SyncReport

log = logging.getLogger(__name__)

SOURCE = "slims"
_LOST_WORDS = ("missing", "lost", "hilang")
_LANGUAGES = {"id": "ind", "en": "eng"}


@dataclass(frozen=True)
class SlimsOptions:
    """How to read one SLiMS installation."""

    dsn: str
    base_url: str = ""  # the OPAC's address, for links to attached e-books without a URL


def connect(dsn: str) -> pymysql.connections.Connection:
    """A read-only connection to the SLiMS database ``mysql://user:pass@host:port/db``."""
    url = make_url(dsn)
    conn = pymysql.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 3306,
        user=url.username or "root",
        password=url.password or "",
        database=url.database,
        charset="utf8mb4",
        cursorclass=pymysql.cursors.DictCursor,
        connect_timeout=10,
        read_timeout=120,
        autocommit=True,
    )
    with conn.cursor() as cur:
        cur.execute("SET SESSION TRANSACTION READ ONLY")
    return conn


def _rows(conn: pymysql.connections.Connection, query: str, args: Iterable[Any] = ()) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(query, tuple(args))
        return list(cur.fetchall())


def _in(ids: list[int]) -> str:
    return ", ".join(["%s"] * len(ids))


def server_now(conn: pymysql.connections.Connection) -> str:
    """The SLiMS server's clock (the next run's watermark: no clock skew with ours)."""
    return str(_rows(conn, "SELECT NOW() AS now")[0]["now"])


def visible_ids(conn: pymysql.connections.Connection) -> set[int]:
    """Ids of every biblio shown in the OPAC."""
    return {
        r["biblio_id"]
        for r in _rows(conn, "SELECT biblio_id FROM biblio WHERE opac_hide IS NULL OR opac_hide = 0")
    }


def changed_ids(conn: pymysql.connections.Connection, since: str) -> set[int]:
    """Biblios whose record, items or loans changed at or after ``since``."""
    query = """
        SELECT biblio_id FROM biblio WHERE last_update >= %s OR input_date >= %s
        UNION SELECT biblio_id FROM item
            WHERE biblio_id IS NOT NULL AND (last_update >= %s OR input_date >= %s)
        UNION SELECT i.biblio_id FROM loan l JOIN item i ON i.item_code = l.item_code
            WHERE l.last_update >= %s OR l.input_date >= %s OR l.return_date >= DATE(%s)
    """
    return {r["biblio_id"] for r in _rows(conn, query, [since] * 7) if r["biblio_id"] is not None}


def _copy_status(item: dict[str, Any]) -> tuple[CopyStatus, date | None]:
    if item.get("due_date"):
        return CopyStatus.ON_LOAN, item["due_date"]
    name = (item.get("item_status_name") or "").lower()
    status_id = (item.get("item_status_id") or "").upper()
    if status_id == "MIS" or any(w in name for w in _LOST_WORDS):
        return CopyStatus.LOST, None
    if item.get("no_loan"):
        return CopyStatus.REFERENCE, None
    return CopyStatus.AVAILABLE, None


_ITEMS = """
    SELECT i.biblio_id, i.item_id, i.item_code, i.call_number, i.item_status_id,
           loc.location_name, st.item_status_name, st.no_loan,
           (SELECT MIN(l.due_date) FROM loan l
             WHERE l.item_code = i.item_code AND l.is_lent = 1 AND l.is_return = 0) AS due_date
    FROM item i
    LEFT JOIN mst_location loc ON loc.location_id = i.location_id
    LEFT JOIN mst_item_status st ON st.item_status_id = i.item_status_id
"""


def _copies(items: list[dict[str, Any]], default_call: str | None) -> list[dict[str, Any]]:
    copies = []
    for item in sorted(items, key=lambda i: i["item_id"]):
        status, due = _copy_status(item)
        copies.append(
            {
                "barcode": item.get("item_code") or None,
                "call_number": item.get("call_number") or default_call,
                "location": item.get("location_name") or None,
                "status": status,
                "due_date": due,
            }
        )
    return copies


def read_biblios(
    conn: pymysql.connections.Connection, ids: Iterable[int], options: SlimsOptions, report: SyncReport
) -> Iterator[RecordData]:
    """Full records (authors, topics, items with live loans, e-books) of ``ids``."""
    id_list = sorted(ids)
    for start in range(0, len(id_list), 500):
        chunk = id_list[start : start + 500]
        marks = _in(chunk)
        biblios = _rows(
            conn,
            f"""SELECT b.biblio_id, b.title, b.edition, b.isbn_issn, p.publisher_name,
                       b.publish_year, b.call_number, b.language_id, b.classification
                FROM biblio b LEFT JOIN mst_publisher p ON p.publisher_id = b.publisher_id
                WHERE b.biblio_id IN ({marks})""",
            chunk,
        )
        authors: dict[int, list[str]] = defaultdict(list)
        for r in _rows(
            conn,
            f"""SELECT ba.biblio_id, a.author_name FROM biblio_author ba
                JOIN mst_author a ON a.author_id = ba.author_id
                WHERE ba.biblio_id IN ({marks}) ORDER BY ba.biblio_id, ba.level, a.author_id""",
            chunk,
        ):
            authors[r["biblio_id"]].append(r["author_name"].strip())
        topics: dict[int, list[str]] = defaultdict(list)
        for r in _rows(
            conn,
            f"""SELECT bt.biblio_id, t.topic FROM biblio_topic bt
                JOIN mst_topic t ON t.topic_id = bt.topic_id
                WHERE bt.biblio_id IN ({marks}) ORDER BY bt.biblio_id, bt.level, t.topic_id""",
            chunk,
        ):
            topics[r["biblio_id"]].append(r["topic"].strip())
        items: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for r in _rows(conn, f"{_ITEMS} WHERE i.biblio_id IN ({marks})", chunk):
            items[r["biblio_id"]].append(r)
        files: dict[int, str] = {}
        for r in _rows(
            conn,
            f"""SELECT ba.biblio_id, f.file_id, f.file_url, f.mime_type FROM biblio_attachment ba
                JOIN files f ON f.file_id = ba.file_id
                WHERE ba.biblio_id IN ({marks}) AND ba.access_type = 'public'
                ORDER BY ba.biblio_id, f.file_id""",
            chunk,
        ):
            url = (r.get("file_url") or "").strip()
            if not url.startswith(("http://", "https://")) and options.base_url:
                url = (
                    f"{options.base_url.rstrip('/')}/index.php?p=fstream"
                    f"&fid={r['file_id']}&bid={r['biblio_id']}"
                )
            if url.startswith(("http://", "https://")):
                files.setdefault(r["biblio_id"], url)
        for b in biblios:
            bid = b["biblio_id"]
            raw_title = (b.get("title") or "").strip()
            if not raw_title:
                report.skip(f"biblio_id={bid}", "judul kosong")
                continue
            main, sep, subtitle = raw_title.partition(" : ")
            language = (b.get("language_id") or "").strip()
            yield RecordData(
                source_id=str(bid),
                fields={
                    "title": main.strip(),
                    "subtitle": subtitle.strip() if sep else None,
                    "authors": authors.get(bid, []),
                    "publisher": b.get("publisher_name") or None,
                    "year": str(b["publish_year"]).strip() if b.get("publish_year") else None,
                    "isbn": normalize_isbn(b.get("isbn_issn")) or (b.get("isbn_issn") or None),
                    "classification": b.get("classification") or None,
                    "call_number": b.get("call_number") or None,
                    "subjects": topics.get(bid, []),
                    "language": _LANGUAGES.get(language, language or None),
                    "ebook_url": files.get(bid),
                },
                copies=_copies(items.get(bid, []), b.get("call_number") or None),
            )


def changes(
    conn: pymysql.connections.Connection,
    options: SlimsOptions,
    report: SyncReport,
    *,
    since: str | None,
    known_ids: set[str],
) -> Iterator[Change]:
    """Upserts of new and changed biblios, deletions of removed or hidden ones.

    Args:
        conn: the read-only SLiMS connection.
        options: how to read it.
        report: skipped records.
        since: the previous run's watermark; None reads everything.
        known_ids: the SLiMS ids we hold now (for the deletion reconciliation).
    """
    visible = visible_ids(conn)
    known = {int(i) for i in known_ids if i.isdigit()}
    # New here (first run, or un-hidden in the OPAC) plus what changed since the watermark.
    wanted = visible - known
    if since is None:
        wanted = visible
    else:
        wanted |= changed_ids(conn, since) & visible
    for data in read_biblios(conn, wanted, options, report):
        yield Change(data.source_id, data)
    for gone in sorted(known_ids - {str(i) for i in visible}):
        yield Change(gone)


def refresh_availability(
    session: Session, conn: pymysql.connections.Connection, report: SyncReport
) -> int:
    """Update every SLiMS copy's status and due date from the live ``item``/``loan`` tables.

    Returns:
        The number of copies whose status changed.
    """
    live: dict[str, tuple[CopyStatus, date | None, str | None]] = {}
    for item in _rows(conn, f"{_ITEMS} WHERE i.item_code IS NOT NULL"):
        status, due = _copy_status(item)
        live[item["item_code"]] = (status, due, item.get("location_name"))
    changed = 0
    for copy in session.scalars(
        select(Copy).join(Record).where(Record.source == SOURCE, Copy.barcode.is_not(None))
    ):
        now = live.get(copy.barcode or "")
        if now is None:
            continue
        status, due, _location = now
        if copy.status is not status or copy.due_date != due:
            copy.status, copy.due_date = status, due
            changed += 1
    return changed


def local_ids(session: Session) -> set[str]:
    """The SLiMS biblio ids we hold."""
    return set(session.scalars(select(Record.source_id).where(Record.source == SOURCE)))

