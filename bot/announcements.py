"""Announcements to subscribers: the message, its preview per channel, sending, the report.

Sending (:func:`send_announcement`, run by the scheduler at ``send_at``) freezes the recipient
list: every conversation with a subscription to the topic (or the broader topic it belongs to).
Each recipient gets one :class:`~bot.subscription_models.Delivery` with the idempotency key
``announcement:<id>:<conversation>``, written in the same transaction as its outbox row, so a
scheduler that runs twice or restarts halfway queues nobody twice. Recipients are recorded as
``skipped`` when the platform does not allow the message now (Messenger, Instagram and WhatsApp:
more than 24 hours since the patron's last message; the web chat cannot receive one), as
``opted_out`` when they ended the subscription, as ``blocked`` when they blocked the bot. The
outbox paces Telegram (``TELEGRAM_RATE`` per second for the bot, ``TELEGRAM_CHAT_INTERVAL`` per
chat) and a Telegram 403 ends the patron's subscriptions (``bot/subscriptions.py``).
"""

from __future__ import annotations

import html
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actions.subscriptions import audience, say
from bot.channel_models import FAILED, SENT, OutboxItem
from bot.channels.base import BOT_WINDOW_HOURS
from bot.messages import DEFAULT_LINK_TITLE, LinkButton, Outgoing
from bot.models import Conversation, Message, utcnow
from bot.outbox import CHANNEL_NAMES, OPEN, WEB, Outbox, aware
from bot.render import render_meta, render_telegram, render_whatsapp
from bot.subscription_models import (
    BLOCKED,
    DONE,
    ENDED_BLOCKED,
    OPTED_OUT,
    QUEUED,
    SCHEDULED,
    SENDING,
    SKIPPED,
    Announcement,
    Delivery,
    Subscription,
)

log = logging.getLogger(__name__)

#: Report columns, in order, with their Indonesian labels (the console shows these)
REPORT_LABELS = {
    "sent": "Terkirim",
    "pending": "Menunggu kirim",
    "failed": "Gagal",
    "skipped": "Dilewati (di luar 24 jam)",
    "opted_out": "Sudah berhenti langganan",
    "blocked": "Memblokir bot",
}


def announcement_message(text: str, image_url: str | None, link_title: str | None, link_url: str | None) -> Outgoing:
    """The channel-neutral message of an announcement (the opt-out hint is added); the link is
    a link button (titled "Buka tautan" when the librarian gave no title)."""
    body = text.strip() + "\n\n" + say("announcement.footer", "id")
    links: tuple[LinkButton, ...] = ()
    if link_url and link_url.strip():
        links = (LinkButton(title=(link_title or "").strip() or DEFAULT_LINK_TITLE, url=link_url.strip()),)
    return Outgoing(text=body, image=image_url or None, link_buttons=links)


def message_of(row: Announcement) -> Outgoing:
    """The message of a stored announcement."""
    return announcement_message(row.text, row.image_url, row.link_title, row.link_url)


def _web_urls(buttons: list[dict[str, Any]]) -> list[dict[str, str]]:
    """``{"title", "url"}`` of the ``web_url`` buttons of a Meta template."""
    return [{"title": str(b["title"]), "url": str(b["url"])} for b in buttons if b.get("type") == "web_url"]


def _telegram_preview(message: Outgoing) -> list[dict[str, Any]]:
    out = []
    for p in render_telegram(message).parts:
        buttons = [b for row in p.keyboard for b in row]
        out.append({
            "text": html.unescape(p.text), "image": p.photo,
            "buttons": [b.text for b in buttons if b.url is None],
            "links": [{"title": b.text, "url": b.url} for b in buttons if b.url is not None],
        })
    return out


def _meta_preview(message: Outgoing, channel: str) -> list[dict[str, Any]]:
    out = []
    for p in render_meta(message, channel=channel):
        attachment = p.get("attachment") or {}
        payload = attachment.get("payload") or {}
        template = attachment.get("type") == "template"
        out.append({
            "text": payload.get("text") if template else p.get("text"),
            "image": None if template else payload.get("url"),
            "buttons": [q["title"] for q in p.get("quick_replies") or []],
            "links": _web_urls(payload.get("buttons") or []) if template else [],
        })
    return out


def _whatsapp_preview(message: Outgoing) -> list[dict[str, Any]]:
    out = []
    for p in render_whatsapp(message):
        interactive = p.get("interactive") or {}
        header = interactive.get("header") or {}
        action = interactive.get("action") or {}
        cta = action.get("parameters") if interactive.get("type") == "cta_url" else None
        out.append({
            "text": (p.get("text") or {}).get("body") or (interactive.get("body") or {}).get("text"),
            "image": (p.get("image") or header.get("image") or {}).get("link"),
            "buttons": [b["reply"]["title"] for b in action.get("buttons") or []],
            "links": [{"title": cta["display_text"], "url": cta["url"]}] if cta else [],
        })
    return out


def previews(message: Outgoing) -> dict[str, list[dict[str, Any]]]:
    """How each channel shows ``message``: per channel the parts its real renderer produces,
    each ``{"text", "image", "buttons", "links"}`` (the console draws them as chat bubbles;
    ``links`` are the URL buttons, ``{"title", "url"}`` as the platform shows them)."""
    return {
        "telegram": _telegram_preview(message),
        "messenger": _meta_preview(message, "messenger"),
        "instagram": _meta_preview(message, "instagram"),
        "whatsapp": _whatsapp_preview(message),
    }


@dataclass
class Report:
    """Counts per report column and the recipients' lines (no message text)."""

    counts: Counter[str] = field(default_factory=Counter)
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Recipients recorded."""
        return sum(self.counts.values())


def window_reason(conv: Conversation, channels: set[str], now: datetime) -> str | None:
    """Why an automatic message cannot reach ``conv`` now (Indonesian), or None."""
    name = CHANNEL_NAMES.get(conv.channel, conv.channel)
    if conv.channel == WEB:
        return "Web chat tidak bisa menerima pesan saat pemustaka tidak membuka halaman chat."
    if conv.channel not in channels:
        return f"Kanal {name} belum dikonfigurasi di gateway."
    if conv.channel in ("messenger", "instagram", "whatsapp"):
        if conv.last_inbound_at is None or now - aware(conv.last_inbound_at) > timedelta(hours=BOT_WINDOW_HOURS):
            return (
                f"Di luar jendela 24 jam {name}: pemustaka belum mengirim pesan dalam 24 jam terakhir, "
                "dan Meta tidak mengizinkan pesan otomatis di luar jendela itu."
            )
    return None


@dataclass(frozen=True)
class Planned:
    """One delivery to record: its idempotency key, recipient, message (None: not sent) and status."""

    key: str
    conversation: int
    message: Outgoing | None
    status: str = QUEUED
    reason: str | None = None


#: deliveries recorded per transaction when an announcement goes out
BATCH = 100


async def queue_deliveries(
    sessions: async_sessionmaker[AsyncSession],
    outbox: Outbox,
    planned: list[Planned],
    *,
    kind: str,
    announcement_id: int | None = None,
) -> int:
    """Record deliveries (and, for those with a message, the outbox row and transcript line) in
    one transaction; keys recorded before are left out (nothing is queued twice). Returns how
    many this call recorded. A key written by a concurrent run at the same moment makes the
    batch fall back to one transaction per delivery."""
    recorded: list[Planned] = []
    try:
        async with sessions.begin() as session:
            keys = [p.key for p in planned]
            existing = set(await session.scalars(select(Delivery.key).where(Delivery.key.in_(keys))))
            todo = [p for p in planned if p.key not in existing]
            wanted = [p.conversation for p in todo if p.message is not None]
            convs = {c.id: c for c in await session.scalars(select(Conversation).where(Conversation.id.in_(wanted)))}
            for p in todo:
                delivery = Delivery(key=p.key, kind=kind, conversation_id=p.conversation,
                                    announcement_id=announcement_id, status=p.status, reason=p.reason)
                if p.message is not None:
                    conv = convs.get(p.conversation)
                    if conv is None:
                        continue
                    line = Message(conversation_id=conv.id, direction="out", author="bot", text=p.message.text,
                                   payload=p.message.as_json() if p.message.rich else None)
                    session.add(line)
                    await session.flush()
                    (item,) = outbox.add(session, conv, [p.message], author="bot", transcript_ids=[line.id])
                    await session.flush()
                    delivery.outbox_id = item.id
                session.add(delivery)
                recorded.append(p)
    except IntegrityError:  # another scheduler recorded some of these keys at the same moment
        if len(planned) == 1:
            return 0
        total = 0
        for p in planned:
            total += await queue_deliveries(sessions, outbox, [p], kind=kind, announcement_id=announcement_id)
        return total
    for p in recorded:
        if p.message is not None:
            outbox.kick(p.conversation)
    return len(recorded)


async def queue_delivery(
    sessions: async_sessionmaker[AsyncSession],
    outbox: Outbox,
    *,
    key: str,
    kind: str,
    conversation: int,
    message: Outgoing | None,
    announcement_id: int | None = None,
    status: str = QUEUED,
    reason: str | None = None,
) -> bool:
    """One delivery (see :func:`queue_deliveries`); False when ``key`` was recorded before."""
    planned = [Planned(key, conversation, message, status, reason)]
    return await queue_deliveries(sessions, outbox, planned, kind=kind, announcement_id=announcement_id) == 1


async def send_announcement(
    sessions: async_sessionmaker[AsyncSession], outbox: Outbox, announcement_id: int, *, now: datetime
) -> int:
    """Queue announcement ``announcement_id`` to its topic's subscribers; returns how many
    deliveries this call recorded (0 when another run did them)."""
    async with sessions() as session:
        row = await session.get(Announcement, announcement_id)
        if row is None or row.status == DONE:
            return 0
        topics = audience(row.topic)
        subs = (await session.execute(
            select(Subscription, Conversation)
            .join(Conversation, Conversation.id == Subscription.conversation_id)
            .where(Subscription.topic.in_(topics))
            .order_by(Subscription.conversation_id)
        )).all()
        message = message_of(row)
    async with sessions.begin() as session:  # a restart finds it "sending" and resumes it
        await session.execute(
            update(Announcement).where(Announcement.id == announcement_id, Announcement.status != DONE)
            .values(status=SENDING)
        )
    per_conv: dict[int, tuple[Conversation, list[Subscription]]] = {}
    for sub, conv in subs:
        per_conv.setdefault(conv.id, (conv, []))[1].append(sub)
    channels = set(outbox.channels)
    planned: list[Planned] = []
    for conv_id, (conv, rows) in per_conv.items():
        key = f"announcement:{announcement_id}:{conv_id}"
        if not any(s.ended_at is None for s in rows):
            status = BLOCKED if any(s.ended_reason == ENDED_BLOCKED for s in rows) else OPTED_OUT
            planned.append(Planned(key, conv_id, None, status))
            continue
        reason = window_reason(conv, channels, now)
        if reason is not None:
            planned.append(Planned(key, conv_id, None, SKIPPED, reason))
        else:
            planned.append(Planned(key, conv_id, message))
    recorded = 0
    for start in range(0, len(planned), BATCH):
        recorded += await queue_deliveries(sessions, outbox, planned[start:start + BATCH], kind="announcement",
                                           announcement_id=announcement_id)
    async with sessions.begin() as session:
        row = await session.get(Announcement, announcement_id)
        if row is not None:
            row.status, row.sent_at = DONE, row.sent_at or utcnow()
    log.info("announcement %s: %d recipients recorded by this run", announcement_id, recorded)
    return recorded


async def report(sessions: async_sessionmaker[AsyncSession], announcement_id: int) -> Report:
    """Sent, pending, failed, skipped (window), opted out and blocked, with one line per recipient."""
    async with sessions() as session:
        rows = (await session.execute(
            select(Delivery, Conversation, OutboxItem)
            .join(Conversation, Conversation.id == Delivery.conversation_id)
            .outerjoin(OutboxItem, OutboxItem.id == Delivery.outbox_id)
            .where(Delivery.announcement_id == announcement_id)
            .order_by(Delivery.id)
        )).all()
    out = Report()
    for delivery, conv, item in rows:
        column = delivery_column(delivery, item)
        out.counts[column] += 1
        out.rows.append({
            "channel": conv.channel,
            "patron": conv.patron_name or conv.external_id[-4:].rjust(8, "\u2022"),
            "status": column,
            "reason": delivery.reason or (item.reason if item is not None and item.status == FAILED else None),
            "conversation_id": conv.id,
        })
    return out


def delivery_column(delivery: Delivery, item: OutboxItem | None) -> str:
    """The report column of one delivery."""
    if delivery.status != QUEUED:
        return delivery.status
    if item is None:
        return "failed"
    if item.status == SENT:
        return "sent"
    if item.status in OPEN:  # waiting, or "sending": the platform call is under way
        return "pending"
    return "failed"


async def due(sessions: async_sessionmaker[AsyncSession], now: datetime) -> list[int]:
    """Announcements whose time has come (scheduled, or interrupted while sending)."""
    async with sessions() as session:
        return list(await session.scalars(
            select(Announcement.id)
            .where(Announcement.status.in_((SCHEDULED, SENDING)), Announcement.send_at <= now)
            .order_by(Announcement.send_at, Announcement.id)
        ))
