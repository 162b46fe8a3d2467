"""Delivery receipts: a platform's later reports (sent, delivered, read, failed) on outbox rows.

WhatsApp accepts a message with an id (``wamid``) and reports what became of it afterwards in
``statuses`` webhooks, in no guaranteed order and possibly before our send call has returned.
Both sides therefore write the same :class:`~bot.channel_models.Receipt` row, keyed by
(channel, platform id): :func:`record_sent` after the platform accepted a part, and
:func:`apply_status` for every report. Whichever comes second sees the other, so a ``failed``
report always ends with the outbox row ``failed`` and its reason, shown in the console as
*gagal*. Reports only move forward (sent < delivered < read); ``failed`` wins over all.

Both functions run inside a :class:`~bot.group_commit.GroupCommit` job and are idempotent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channel_models import FAILED, OutboxItem, Receipt
from bot.models import utcnow

RANK = {"sent": 1, "delivered": 2, "read": 3, "failed": 9}


async def _fail_outbox(session: AsyncSession, outbox_id: int, reason: str | None) -> None:
    await session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == outbox_id)
        .values(status=FAILED, reason=reason or "Pesan tidak sampai ke pemustaka.")
    )


async def record_sent(session: AsyncSession, channel: str, outbox_id: int, platform_ids: list[str]) -> None:
    """Link the parts ``platform_ids`` of outbox row ``outbox_id``; apply an earlier ``failed`` report."""
    if not platform_ids:
        return
    existing = {
        r.platform_id: r
        for r in await session.scalars(
            select(Receipt).where(Receipt.channel == channel, Receipt.platform_id.in_(platform_ids))
        )
    }
    for platform_id in platform_ids:
        row = existing.get(platform_id)
        if row is None:
            session.add(Receipt(channel=channel, platform_id=platform_id, outbox_id=outbox_id, status="sent"))
            continue
        row.outbox_id = outbox_id
        if row.status == FAILED:
            await _fail_outbox(session, outbox_id, row.reason)
    await session.flush()


async def apply_status(
    session: AsyncSession, channel: str, platform_id: str, status: str, reason: str | None = None
) -> int | None:
    """Record one report on part ``platform_id``; returns the outbox row it belongs to, if known.

    Unknown statuses are ignored (returns None). A ``failed`` report marks the outbox row failed.
    """
    if status not in RANK:
        return None
    row = await session.scalar(select(Receipt).where(Receipt.channel == channel, Receipt.platform_id == platform_id))
    if row is None:
        row = Receipt(channel=channel, platform_id=platform_id, status=status, reason=reason)
        session.add(row)
        await session.flush()
        return None
    if RANK[status] > RANK.get(row.status, 0):
        row.status = status
        row.reason = reason if status == FAILED else row.reason
        row.updated_at = utcnow()
    if status == FAILED and row.outbox_id is not None:
        await _fail_outbox(session, row.outbox_id, reason)
    await session.flush()
    return row.outbox_id


async def expire(session: AsyncSession, before: datetime) -> int:
    """Delete receipts last updated before ``before`` (reports come within days); returns how many."""
    result = await session.execute(delete(Receipt).where(Receipt.updated_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
