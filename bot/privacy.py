"""Patrons' data rights (UU PDP 27/2022): the privacy notice, deletion, export and retention.

Everything the gateway keeps about one patron hangs off their conversations (one per channel
and platform id). :data:`PATRON_TABLES` lists, in one place, the tables holding a patron's rows:
deleting or exporting a patron walks that list, so a new per-patron table (e.g. ``subscriptions``)
is one more line there. A table that does not exist (yet) in this database is skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channel_models import DONE, FAILED, SENT, InboxItem, OutboxItem
from bot.feedback_models import Feedback
from bot.handoff_models import AuditEntry, Note
from bot.messages import Outgoing
from bot.models import Conversation, Message, utcnow
from bot.staff import audit
from knowledge.models import PurchaseSuggestion

log = logging.getLogger(__name__)

ANONYMISED = "[dianonimkan]"


@dataclass(frozen=True)
class PatronTable:
    """A table with a patron's rows, found by ``conversation_id`` (or by ``channel`` +
    ``external_id`` columns when ``by_sender``)."""

    name: str
    by_sender: bool = False


#: Every table with a patron's rows, children before parents (the order of deletion).
PATRON_TABLES: tuple[PatronTable, ...] = (
    PatronTable("subscriptions"),  # added by the subscriptions feature (issue 16 items 1-3)
    PatronTable("reminders"),
    PatronTable("deliveries"),  # one row per announcement, reminder or digest sent to the patron
    PatronTable("feedback"),
    PatronTable("turns"),
    PatronTable("handoff_notes"),
    PatronTable("handoff_claims"),
    PatronTable("webchat_cursors"),
    PatronTable("outbox"),
    PatronTable("handoffs"),
    PatronTable("messages"),
    PatronTable("inbox", by_sender=True),
)


@dataclass(frozen=True)
class PrivacyNotice:
    """The short notice a patron gets once, on first contact (``PUSTAKABOT_PRIVACY_NOTICE``)."""

    text_id: str = ""
    text_en: str = ""
    days: int = 180
    url: str = ""

    @classmethod
    def from_settings(cls, settings: Any) -> PrivacyNotice:
        """The notice configured in ``settings``."""
        return cls(settings.privacy_notice, settings.privacy_notice_en, settings.retention_days,
                   settings.privacy_policy_url)

    def message(self, language: str) -> Outgoing | None:
        """The notice in ``language`` (None when its text is empty)."""
        template = self.text_en if language == "en" and self.text_en.strip() else self.text_id
        if not template.strip():
            return None
        body = template.replace("{days}", str(self.days)).replace("{url}", self.url)
        if self.url and self.url not in body:
            body = f"{body} {self.url}"
        return Outgoing(text=body)


async def _columns(session: AsyncSession, name: str) -> set[str] | None:
    """The column names of table ``name``, None when it does not exist."""
    def inspect(connection: sa.Connection) -> set[str] | None:
        inspector = sa.inspect(connection)
        if not inspector.has_table(name):
            return None
        return {c["name"] for c in inspector.get_columns(name)}

    connection = await session.connection()
    return await connection.run_sync(inspect)


def _where(table: sa.TableClause, spec: PatronTable, columns: set[str], ids: list[int], channel: str,
           external_id: str) -> sa.ColumnElement[bool] | None:
    if spec.by_sender or "conversation_id" not in columns:
        if {"channel", "external_id"} <= columns:
            return sa.and_(table.c.channel == channel, table.c.external_id == external_id)
        return None
    return table.c.conversation_id.in_(ids)


async def _patron_rows(
    session: AsyncSession, channel: str, external_id: str
) -> tuple[list[int], list[tuple[PatronTable, sa.TableClause, sa.ColumnElement[bool]]]]:
    ids = list(await session.scalars(
        select(Conversation.id).where(Conversation.channel == channel, Conversation.external_id == external_id)
    ))
    found = []
    for spec in PATRON_TABLES:
        columns = await _columns(session, spec.name)
        if columns is None:
            continue
        table = sa.table(spec.name, *(sa.column(c) for c in sorted(columns)))
        where = _where(table, spec, columns, ids, channel, external_id)
        if where is not None:
            found.append((spec, table, where))
    return ids, found


async def erase_patron(
    session: AsyncSession, channel: str, external_id: str, *, staff_id: int | None = None
) -> dict[str, int]:
    """Delete everything kept about one patron of ``channel``; returns rows deleted per table.

    The audit trail keeps one anonymised line (channel and counts, no identity), and the
    patron's earlier audit lines lose their conversation; purchase suggestions keep the title
    (what the library should buy) without the patron.
    """
    ids, tables = await _patron_rows(session, channel, external_id)
    counts: dict[str, int] = {}
    for spec, table, where in tables:
        result = await session.execute(sa.delete(table).where(where))
        counts[spec.name] = int(result.rowcount or 0)
    if ids:
        await session.execute(update(AuditEntry).where(AuditEntry.conversation_id.in_(ids)).values(conversation_id=None))
        result = await session.execute(delete(Conversation).where(Conversation.id.in_(ids)))
        counts["conversations"] = int(result.rowcount or 0)
    suggestions = await session.execute(
        update(PurchaseSuggestion).where(PurchaseSuggestion.patron == f"{channel}:{external_id}").values(patron=None)
    )
    counts["purchase_suggestions"] = int(suggestions.rowcount or 0)
    await audit(session, "patron_data_erased", staff_id=staff_id,
                detail={"channel": channel, "by": "admin" if staff_id else "patron",
                        "rows": {k: v for k, v in counts.items() if v}})
    return counts


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return value


async def export_patron(session: AsyncSession, channel: str, external_id: str) -> dict[str, Any] | None:
    """Everything kept about one patron, as JSON-ready data (None: no such patron)."""
    ids, tables = await _patron_rows(session, channel, external_id)
    if not ids:
        return None
    conversations = [
        {c.key: _jsonable(getattr(row, c.key)) for c in Conversation.__table__.columns}
        for row in await session.scalars(select(Conversation).where(Conversation.id.in_(ids)))
    ]
    data: dict[str, Any] = {"channel": channel, "external_id": external_id,
                            "exported_at": _jsonable(utcnow()), "conversations": conversations}
    for spec, table, where in reversed(tables):
        order = [table.c.id] if "id" in table.c else list(table.c)
        rows = (await session.execute(sa.select(table).where(where).order_by(*order))).mappings().all()
        data[spec.name] = [{k: _jsonable(v) for k, v in row.items()} for row in rows]
    suggestions = await session.scalars(
        select(PurchaseSuggestion).where(PurchaseSuggestion.patron == f"{channel}:{external_id}")
    )
    data["purchase_suggestions"] = [{"title": s.title, "created_at": _jsonable(s.created_at)} for s in suggestions]
    return data


async def anonymise_before(session: AsyncSession, cutoff: datetime, *, now: datetime) -> dict[str, int]:
    """Anonymise what is older than ``cutoff``: message texts and platform ids, feedback comments,
    internal notes, purchase suggestions' patrons; delete old inbox rows and delivered outbox rows;
    a conversation silent since ``cutoff`` loses its name, platform id and context.

    Aggregates (how many messages, which kinds of turns, which FAQ entries) stay countable.
    """
    counts: dict[str, int] = {}

    async def run(name: str, statement: Any) -> None:
        counts[name] = int((await session.execute(statement)).rowcount or 0)

    await run("messages", update(Message).where(Message.created_at < cutoff, Message.text != ANONYMISED)
              .values(text=ANONYMISED, payload=None, platform_message_id=None))
    await run("feedback", update(Feedback).where(Feedback.created_at < cutoff, Feedback.comment.is_not(None))
              .values(comment=None))
    await run("notes", update(Note).where(Note.created_at < cutoff, Note.text != ANONYMISED).values(text=ANONYMISED))
    await run("inbox", delete(InboxItem).where(InboxItem.received_at < cutoff, InboxItem.status.in_((DONE, FAILED))))
    await run("outbox", delete(OutboxItem).where(OutboxItem.created_at < cutoff, OutboxItem.status.in_((SENT, FAILED))))
    await run("purchase_suggestions", update(PurchaseSuggestion).where(
        PurchaseSuggestion.created_at < cutoff, PurchaseSuggestion.patron.is_not(None)).values(patron=None))
    recent = select(Message.conversation_id).where(Message.created_at >= cutoff)
    silent = list(await session.scalars(
        select(Conversation.id).where(
            Conversation.anonymised_at.is_(None), Conversation.created_at < cutoff,
            sa.or_(Conversation.last_inbound_at.is_(None), Conversation.last_inbound_at < cutoff),
            Conversation.id.not_in(recent),
        )
    ))
    for conv_id in silent:
        await session.execute(
            update(Conversation).where(Conversation.id == conv_id).values(
                external_id=f"anon-{conv_id}", patron_name=None, context=None, anonymised_at=now
            )
        )
    counts["conversations"] = len(silent)
    return counts


Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current time (UTC)."""
    return datetime.now(UTC)


class RetentionJob:
    """Anonymises transcripts older than ``days`` days, every ``interval`` seconds."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, days: int, interval: float, clock: Clock = system_clock
    ) -> None:
        self.sessions = sessions
        self.days = days
        self.interval = interval
        self.clock = clock

    async def run_once(self) -> dict[str, int]:
        """One pass; returns what was anonymised (nothing when retention is off)."""
        if self.days <= 0:
            return {}
        now = self.clock()
        async with self.sessions.begin() as session:
            counts = await anonymise_before(session, now - timedelta(days=self.days), now=now)
            if any(counts.values()):
                await audit(session, "retention_anonymised",
                            detail={"days": self.days, "rows": {k: v for k, v in counts.items() if v}})
        if any(counts.values()):
            log.info("retention: anonymised %s (older than %d days)", counts, self.days)
        return counts

    async def run_forever(self, *, first_delay: float = 0.0) -> None:
        """Run after ``first_delay`` seconds, then every ``interval`` seconds (errors are logged,
        the job keeps going)."""
        await asyncio.sleep(first_delay)
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a failed pass is retried on the next tick
                log.exception("retention job failed")
            await asyncio.sleep(self.interval)
