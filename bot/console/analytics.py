"""Console pages of issue 16: analytics (librarians and admins), FAQ drafts from unanswered
questions, and an admin's export of one patron's data (UU PDP)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web

from bot.analytics import Period, csv_rows, report
from bot.console import security
from bot.console.charts import bars, share_bar, stacked_days
from bot.faq_drafts import DraftError, draft_file_name, draft_yaml, save_draft
from bot.keys import knowledge_key, sessions_key, settings_key
from bot.models import Conversation
from bot.privacy import export_patron
from bot.sanitize import parse_id, scrub_text
from bot.staff import StaffUser, audit

log = logging.getLogger(__name__)

DEFAULT_DAYS = 7
MAX_DAYS = 366
CHANNELS = ("web", "telegram", "messenger", "instagram", "whatsapp")


def _user(request: web.Request) -> StaffUser:
    user = request[security.USER]
    assert user is not None
    return user


def _base(request: web.Request, **context: Any) -> dict[str, Any]:
    user = _user(request)
    return {"user": user, "csrf": user.csrf_token, "current": None, **context}


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise web.HTTPBadRequest(text=f"Tanggal {name} tidak valid: gunakan format TTTT-BB-HH.") from None


def period_of(request: web.Request) -> Period:
    """The period filter (``dari``/``sampai``, local dates), by default the last 7 days."""
    zone = ZoneInfo(request.config_dict[settings_key].timezone)
    today = datetime.now(zone).date()
    last = _date(request.query["sampai"], "akhir") if request.query.get("sampai") else today
    first = _date(request.query["dari"], "awal") if request.query.get("dari") else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise web.HTTPBadRequest(text="Tanggal awal harus sebelum tanggal akhir.")
    if (last - first).days >= MAX_DAYS:
        raise web.HTTPBadRequest(text=f"Periode paling panjang {MAX_DAYS} hari.")
    return Period(first, last, zone)


async def analytics_page(request: web.Request) -> web.StreamResponse:
    """Messages, shares of answers, top FAQ entries and titles, unanswered questions, handoffs, ratings."""
    period = period_of(request)
    async with request.config_dict[sessions_key]() as session:
        data = await report(session, period)
    charts = {
        "days": stacked_days(data.per_day, data.channels),
        "kinds": share_bar(data.kinds),
        "ratings": bars([(f"nilai {k}", v) for k, v in data.ratings.items()]),
    }
    return aiohttp_jinja2.render_template(
        "analytics.html", request,
        _base(request, data=data, charts=charts, saved=request.query.get("tersimpan", "")),
    )


async def analytics_csv(request: web.Request) -> web.StreamResponse:
    """The same figures as one CSV table (``bagian, label, saluran, nilai``)."""
    period = period_of(request)
    async with request.config_dict[sessions_key]() as session:
        data = await report(session, period)
    out = io.StringIO()
    csv.writer(out).writerows(csv_rows(data))
    name = f"analitik-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return web.Response(
        body=("\ufeff" + out.getvalue()).encode("utf-8"),  # BOM: spreadsheet apps read UTF-8
        content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _questions(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        text = " ".join(scrub_text(value).split())[:300]
        if text and text not in out:
            out.append(text)
    return out[:12]


async def draft_page(request: web.Request) -> web.StreamResponse:
    """A YAML draft of a new FAQ entry from a group of questions (``?q=...&q=...``)."""
    kb = request.config_dict[knowledge_key]
    questions = _questions(request.query.getall("q", []))
    if not questions:
        raise web.HTTPBadRequest(text="Pilih dulu kelompok pertanyaan di halaman analitik.")
    ids = {item.id for item in await asyncio.to_thread(kb.faq_store.entries)}
    return _draft_form(request, draft_file_name(questions), draft_yaml(questions, ids))


def _draft_form(request: web.Request, file_name: str, text: str, *, problems: list[str] | None = None,
                status: int = 200) -> web.StreamResponse:
    return aiohttp_jinja2.render_template(
        "faq_draft.html", request, _base(request, file_name=file_name, text=text, problems=problems or []),
        status=status,
    )


async def draft_save(request: web.Request) -> web.StreamResponse:
    """Check the edited draft like `pustakabot faq check` and save it into the FAQ folder (live)."""
    form = await request.post()
    file_name = scrub_text(str(form.get("berkas", "")))[:80]
    text = scrub_text(str(form.get("isi", "")))[:50_000].replace("\r\n", "\n")
    settings = request.config_dict[settings_key]
    kb = request.config_dict[knowledge_key]
    try:
        saved = await asyncio.to_thread(save_draft, settings.faq_dir, file_name, text)
    except DraftError as exc:
        return _draft_form(request, file_name, text, problems=exc.problems, status=422)
    ids = [item.id for item in saved.items]
    async with request.config_dict[sessions_key].begin() as session:
        await audit(session, "faq_draft_saved", staff_id=_user(request).id,
                    detail={"file": saved.path.name, "ids": ids})
    await asyncio.to_thread(kb.faq_store.refresh, force=True)  # live now, not in a second
    await asyncio.to_thread(kb.faq_index)
    log.info("FAQ draft saved: %s (%s)", saved.path.name, ", ".join(ids))
    raise web.HTTPSeeOther(f"{request.app.router['analytics'].url_for()}?tersimpan={saved.path.name}")


# --- patrons' data (admins) -------------------------------------------------------------------


def _admin(request: web.Request) -> StaffUser:
    user = _user(request)
    if not user.is_admin:
        raise web.HTTPForbidden(text="Hanya admin yang bisa mengelola data pemustaka.")
    return user


async def privacy_page(request: web.Request, *, error: str = "", status: int = 200) -> web.StreamResponse:
    """The form to export one patron's data."""
    _admin(request)
    return aiohttp_jinja2.render_template(
        "privacy.html", request, _base(request, error=error, channels=CHANNELS), status=status
    )


async def privacy_export(request: web.Request) -> web.StreamResponse:
    """One patron's data as a JSON download (by conversation number, or channel + platform id); audited."""
    user = _admin(request)
    form = await request.post()
    number = parse_id(str(form.get("percakapan", "")).strip()) if form.get("percakapan") else None
    channel = str(form.get("saluran", "")).strip()
    external_id = scrub_text(str(form.get("id_platform", ""))).strip()[:128]
    async with request.config_dict[sessions_key].begin() as session:
        if number is not None:
            conv = await session.get(Conversation, number)
            if conv is not None:
                channel, external_id = conv.channel, conv.external_id
        if channel not in CHANNELS or not external_id:
            return await privacy_page(request, status=400,
                                      error="Isi nomor percakapan, atau saluran dan ID pemustaka di platform.")
        data = await export_patron(session, channel, external_id)
        if data is None:
            return await privacy_page(request, status=404, error="Data pemustaka itu tidak ditemukan.")
        first = data["conversations"][0]["id"]
        await audit(session, "patron_data_exported", staff_id=user.id, conversation_id=first,
                    detail={"channel": channel})
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    return web.Response(
        text=body, content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="data-pemustaka-{channel}-{first}.json"'},
    )


def setup_routes(router: web.UrlDispatcher) -> None:
    """Register the pages on the console's router."""
    router.add_get("/analytics", analytics_page, name="analytics")
    router.add_get("/analytics.csv", analytics_csv, name="analytics_csv")
    router.add_get("/analytics/draft", draft_page, name="faq_draft")
    router.add_post("/analytics/draft", draft_save, name="faq_draft_save")
    router.add_get("/privacy", privacy_page, name="privacy")
    router.add_post("/privacy/export", privacy_export, name="privacy_export")
