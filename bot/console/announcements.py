"""Console pages of announcements: compose, preview per channel, schedule, delivery report.

Every logged-in staff member (librarian ``agent`` or ``admin``) may announce; forms carry the
session's CSRF token like every console form (``security.csrf_middleware``). Times are typed
and shown in the library's time zone (``PUSTAKABOT_TIMEZONE``, Asia/Jakarta).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import func, select, update

from actions.subscriptions import TOPICS, topic_label, valid_topic
from bot import announcements
from bot.console import security
from bot.keys import scheduler_key, sessions_key, settings_key
from bot.models import utcnow
from bot.sanitize import parse_id, scrub_text
from bot.staff import StaffUser, audit
from bot.subscription_models import DRAFT, SCHEDULED, Announcement, Subscription

MAX_TEXT = 2000
MAX_URL = 1000


def _user(request: web.Request) -> StaffUser:
    user = request[security.USER]
    assert user is not None
    return user


def _zone(request: web.Request) -> ZoneInfo:
    return ZoneInfo(request.config_dict[settings_key].timezone)


def _field(form: Any, name: str, limit: int) -> str:
    value = form.get(name, "")
    return scrub_text(value if isinstance(value, str) else "").strip()[:limit]


@dataclass
class Draft:
    """What the composer form holds (also re-shown after an error)."""

    topic: str = "acara"
    text: str = ""
    image_url: str = ""
    link_title: str = ""
    link_url: str = ""
    when: str = "now"  # now | later
    send_at: str = ""  # "YYYY-MM-DDTHH:MM", library time


def _url_ok(value: str) -> bool:
    """A complete http(s) address (a host, no spaces): the only links a patron is sent."""
    if len(value) > MAX_URL or any(c.isspace() or ord(c) < 32 for c in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _read(form: Any) -> Draft:
    return Draft(
        topic=_field(form, "topic", 160), text=_field(form, "text", MAX_TEXT + 1),
        image_url=_field(form, "image_url", MAX_URL + 1), link_title=_field(form, "link_title", 81),
        link_url=_field(form, "link_url", MAX_URL + 1), when="later" if form.get("when") == "later" else "now",
        send_at=_field(form, "send_at", 20),
    )


def _check(draft: Draft, zone: ZoneInfo, now: datetime) -> tuple[list[str], datetime | None]:
    """Problems (Indonesian) and the send time in UTC."""
    problems = []
    if not valid_topic(draft.topic):
        problems.append("Pilih topik langganan.")
    if not draft.text:
        problems.append("Teks pengumuman wajib diisi.")
    elif len(draft.text) > MAX_TEXT:
        problems.append(f"Teks pengumuman paling banyak {MAX_TEXT} karakter.")
    if draft.image_url and not _url_ok(draft.image_url):
        problems.append("Alamat gambar harus berupa tautan https:// (atau http://) yang lengkap.")
    if draft.link_url and not _url_ok(draft.link_url):
        problems.append("Alamat tombol tautan harus berupa tautan https:// (atau http://) yang lengkap.")
    if draft.link_title and not draft.link_url:
        problems.append("Isi alamat tautan untuk tombol tautan, atau kosongkan judul tombolnya.")
    if len(draft.link_title) > 80:
        problems.append("Judul tombol tautan paling banyak 80 karakter.")
    send_at: datetime | None = now
    if draft.when == "later":
        try:
            local = datetime.strptime(draft.send_at, "%Y-%m-%dT%H:%M").replace(tzinfo=zone)
        except ValueError:
            problems.append("Isi tanggal dan jam kirim (contoh: 2026-12-05 09:00).")
            send_at = None
        else:
            send_at = local.astimezone(UTC)
            if send_at < now:
                problems.append("Waktu kirim sudah lewat. Pilih waktu yang akan datang, atau pilih \u201cKirim sekarang\u201d.")
    return problems, send_at


async def _topic_counts(request: web.Request) -> list[tuple[str, str, int]]:
    """(topic, label, active subscribers) for the fixed topics and the custom ones in use."""
    async with request.config_dict[sessions_key]() as session:
        rows = (await session.execute(
            select(Subscription.topic, func.count()).where(Subscription.ended_at.is_(None)).group_by(Subscription.topic)
        )).all()
    counts = Counter({topic: int(n) for topic, n in rows})
    topics = list(TOPICS) + sorted(t for t in counts if t not in TOPICS)
    return [(t, topic_label(t), counts[t]) for t in topics]


def _local_default(zone: ZoneInfo) -> str:
    return datetime.now(zone).replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M")


async def _page(
    request: web.Request, draft: Draft, *, problems: list[str] | None = None, preview: bool = False, status: int = 200
) -> web.StreamResponse:
    user = _user(request)
    zone = _zone(request)
    async with request.config_dict[sessions_key]() as session:
        recent = list(await session.scalars(select(Announcement).order_by(Announcement.id.desc()).limit(50)))
    message = announcements.announcement_message(draft.text, draft.image_url, draft.link_title, draft.link_url)
    context = {
        "user": user, "csrf": user.csrf_token, "current": None, "draft": draft, "problems": problems or [],
        "topics": await _topic_counts(request), "recent": recent, "label": topic_label,
        "previews": announcements.previews(message) if preview and draft.text else None,
        "default_time": draft.send_at or _local_default(zone), "zone": str(zone),
    }
    return aiohttp_jinja2.render_template("announcements.html", request, context, status=status)


async def list_page(request: web.Request) -> web.StreamResponse:
    """The composer and the recent announcements."""
    return await _page(request, Draft())


async def preview(request: web.Request) -> web.StreamResponse:
    """The composer again, with the message as each channel will show it."""
    draft = _read(await request.post())
    problems, _ = _check(draft, _zone(request), utcnow())
    return await _page(request, draft, problems=problems, preview=True, status=400 if problems else 200)


async def create(request: web.Request) -> web.StreamResponse:
    """Save and schedule (now or at the time given); the scheduler sends it."""
    draft = _read(await request.post())
    problems, send_at = _check(draft, _zone(request), utcnow())
    if problems or send_at is None:
        return await _page(request, draft, problems=problems, preview=bool(draft.text), status=400)
    user = _user(request)
    async with request.config_dict[sessions_key].begin() as session:
        row = Announcement(
            topic=draft.topic, text=draft.text, image_url=draft.image_url or None,
            link_title=draft.link_title or None, link_url=draft.link_url or None,
            status=SCHEDULED, send_at=send_at, created_by=user.id,
        )
        session.add(row)
        await session.flush()
        announcement_id = row.id
        await audit(session, "announcement_scheduled", staff_id=user.id,
                    detail={"announcement": announcement_id, "topic": draft.topic, "send_at": send_at.isoformat()})
    scheduler = request.config_dict.get(scheduler_key)
    if scheduler is not None and draft.when == "now":
        scheduler.kick()
    raise web.HTTPSeeOther(request.app.router["announcement"].url_for(announcement_id=str(announcement_id)))


async def _announcement(request: web.Request) -> Announcement:
    announcement_id = parse_id(request.match_info["announcement_id"])
    row = None
    if announcement_id is not None:
        async with request.config_dict[sessions_key]() as session:
            row = await session.get(Announcement, announcement_id)
    if row is None:
        raise web.HTTPNotFound(text="Pengumuman tidak ditemukan.")
    return row


async def detail(request: web.Request) -> web.StreamResponse:
    """One announcement: the previews, its schedule, and the delivery report."""
    row = await _announcement(request)
    user = _user(request)
    result = await announcements.report(request.config_dict[sessions_key], row.id)
    context = {
        "user": user, "csrf": user.csrf_token, "current": None, "a": row, "label": topic_label,
        "previews": announcements.previews(announcements.message_of(row)), "report": result,
        "columns": announcements.REPORT_LABELS,
    }
    return aiohttp_jinja2.render_template("announcement.html", request, context)


async def cancel(request: web.Request) -> web.StreamResponse:
    """Take a scheduled announcement off the schedule (before it is sent)."""
    row = await _announcement(request)
    user = _user(request)
    async with request.config_dict[sessions_key].begin() as session:
        done = await session.execute(
            update(Announcement).where(Announcement.id == row.id, Announcement.status == SCHEDULED)
            .values(status=DRAFT)
        )
        if done.rowcount:
            await audit(session, "announcement_cancelled", staff_id=user.id, detail={"announcement": row.id})
    if not done.rowcount:
        raise web.HTTPConflict(text="Pengumuman ini sudah dikirim atau sedang dikirim; jadwalnya tidak bisa dibatalkan.")
    raise web.HTTPSeeOther(request.app.router["announcement"].url_for(announcement_id=str(row.id)))


def setup_routes(app: web.Application) -> None:
    """Register the announcement pages on the console's sub-application."""
    router = app.router
    router.add_get("/pengumuman", list_page, name="announcements")
    router.add_post("/pengumuman", create, name="announcement_create")
    router.add_post("/pengumuman/pratinjau", preview, name="announcement_preview")
    router.add_get("/pengumuman/{announcement_id}", detail, name="announcement")
    router.add_post("/pengumuman/{announcement_id}/batal", cancel, name="announcement_cancel")
