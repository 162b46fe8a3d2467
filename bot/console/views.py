"""Console pages (server-rendered with jinja2, autoescaped) and the live-update websocket."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import yaml
from aiohttp import WSMsgType, web
from sqlalchemy import select

from bot.console import analytics, security
from bot.console.limiter import Reservation
from bot.handoff.base import HandoffError
from bot.handoff_models import AuditEntry, Staff
from bot.keys import console_hub_key, handoff_key, login_limiter_key, sessions_key, settings_key
from bot.models import Conversation
from bot.ratelimit import retry_after_header
from bot.sanitize import parse_id, scrub_text
from bot.staff import StaffUser, audit, authenticate, close_session, open_session, user_for_token

log = logging.getLogger(__name__)


def _user(request: web.Request) -> StaffUser:
    user = request[security.USER]
    assert user is not None  # the auth middleware lets no anonymous request through
    return user


def _conversation_id(request: web.Request) -> int:
    conversation_id = parse_id(request.match_info["conversation_id"])
    if conversation_id is None:  # "²", "-1", 20 digits: no such conversation, never a 500
        raise web.HTTPNotFound(text="Percakapan tidak ditemukan.")
    return conversation_id


def _form_text(form: Any, name: str, limit: int) -> str:
    """A form field as storable text (lone surrogates replaced), cut to ``limit`` characters."""
    value = form.get(name, "")
    return scrub_text(value if isinstance(value, str) else "")[:limit]


def _canned(path: Path) -> list[dict[str, str]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (OSError, yaml.YAMLError) as exc:
        log.warning("canned responses %s unusable: %s", path, exc)
        return []
    return [
        {"title": str(item.get("judul", "")), "text": str(item.get("teks", ""))}
        for item in data
        if isinstance(item, dict) and item.get("teks")
    ]


def _base(request: web.Request, **context: Any) -> dict[str, Any]:
    user = request.get(security.USER)
    return {"user": user, "csrf": user.csrf_token if user else "", **context}


# --- login / logout --------------------------------------------------------------------------


def _login_page(request: web.Request, *, error: str = "", username: str = "", status: int = 200) -> web.Response:
    token = security.new_csrf_token()
    response = aiohttp_jinja2.render_template(
        "login.html", request, {"user": None, "csrf": token, "error": error, "username": username}, status=status
    )
    security.set_cookie(response, request, security.LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


async def login_form(request: web.Request) -> web.StreamResponse:
    """The login page (already logged in: straight to the queue)."""
    if request.get(security.USER) is not None:
        raise web.HTTPSeeOther(request.app.router["queue_page"].url_for())
    return _login_page(request)


async def login(request: web.Request) -> web.StreamResponse:
    """Check username and password, rate-limited per address and per username (see limiter.py)."""
    form = await request.post()
    username = _form_text(form, "username", 64).strip().lower()
    password = _form_text(form, "password", 1024)
    limiter = request.config_dict[login_limiter_key]
    reservation = await limiter.reserve(str(request.remote), username)  # counted before hashing
    if not isinstance(reservation, Reservation):
        minutes = max(1, int(reservation // 60) + 1)
        response = _login_page(
            request, username=username, status=429,
            error=f"Terlalu banyak percobaan masuk. Coba lagi dalam {minutes} menit.",
        )
        response.headers["Retry-After"] = retry_after_header(reservation)
        return response
    settings = request.config_dict[settings_key]
    async with request.config_dict[sessions_key].begin() as session:
        staff = await authenticate(session, username, password)
        if staff is None:
            await audit(session, "login_failed", detail={"username": username, "remote": request.remote})
        else:
            token = await open_session(session, staff, ttl=timedelta(hours=settings.console_session_hours))
            await audit(session, "login", staff_id=staff.id, detail={"remote": request.remote})
    if staff is None:
        return _login_page(request, username=username, status=401, error="Nama pengguna atau kata sandi salah.")
    await reservation.succeeded()
    response = web.HTTPSeeOther(request.app.router["queue_page"].url_for())
    security.set_cookie(
        response, request, security.SESSION_COOKIE, token, max_age=int(settings.console_session_hours * 3600)
    )
    response.del_cookie(security.LOGIN_CSRF_COOKIE, path=security.COOKIE_PATH)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    """End the session."""
    token = request.cookies.get(security.SESSION_COOKIE, "")
    async with request.config_dict[sessions_key].begin() as session:
        await close_session(session, token)
        await audit(session, "logout", staff_id=_user(request).id)
    await request.config_dict[console_hub_key].close_session(token)
    response = web.HTTPSeeOther(request.app.router["login"].url_for())
    response.del_cookie(security.SESSION_COOKIE, path=security.COOKIE_PATH)
    raise response


# --- queue and conversation pages ------------------------------------------------------------


async def _queue_context(request: web.Request) -> dict[str, Any]:
    active, recent = await request.config_dict[handoff_key].queue()
    waiting = [item for item in active if item.state == "waiting"]
    return {"active": active, "recent": recent, "waiting_count": len(waiting)}


async def queue_page(request: web.Request) -> web.StreamResponse:
    """Who is waiting, who is with whom, and recent bot conversations to take over."""
    return aiohttp_jinja2.render_template(
        "queue.html", request, _base(request, current=None, **await _queue_context(request))
    )


async def queue_fragment(request: web.Request) -> web.StreamResponse:
    """The queue alone (refreshed live by the page's script)."""
    return aiohttp_jinja2.render_template(
        "_queue.html", request,
        _base(request, current=parse_id(request.query.get("current")), **await _queue_context(request)),
    )


async def _conversation_context(request: web.Request, conversation_id: int) -> dict[str, Any]:
    try:
        view = await request.config_dict[handoff_key].view(conversation_id)
    except HandoffError as exc:
        raise web.HTTPNotFound(text=exc.message) from exc
    user = _user(request)
    return {
        "view": view,
        "mine": view.agent_id == user.id,
        "can_act": view.agent_id == user.id or (view.agent_id is not None and user.is_admin),
    }


async def conversation_page(request: web.Request, *, error: str = "", status: int = 200) -> web.StreamResponse:
    """The transcript, the reply box with canned replies, notes, claim and resolve."""
    conversation_id = _conversation_id(request)
    settings = request.config_dict[settings_key]
    context = _base(
        request,
        current=conversation_id,
        error=error,
        canned=_canned(settings.canned_responses_file),
        **await _conversation_context(request, conversation_id),
        **await _queue_context(request),
    )
    return aiohttp_jinja2.render_template("conversation.html", request, context, status=status)


async def transcript_fragment(request: web.Request) -> web.StreamResponse:
    """The transcript alone (refreshed live)."""
    conversation_id = _conversation_id(request)
    return aiohttp_jinja2.render_template(
        "_transcript.html", request, _base(request, **await _conversation_context(request, conversation_id))
    )


def _back(request: web.Request, conversation_id: int, anchor: str = "") -> web.HTTPSeeOther:
    url = request.app.router["conversation"].url_for(conversation_id=str(conversation_id))
    return web.HTTPSeeOther(f"{url}{anchor}")


async def _act(request: web.Request, action: str) -> web.StreamResponse:
    conversation_id = _conversation_id(request)
    service = request.config_dict[handoff_key]
    user = _user(request)
    form = await request.post()
    try:
        if action == "claim":
            await service.claim(conversation_id, user)
        elif action == "reply":
            await service.reply(conversation_id, user, _form_text(form, "text", 4000))
        elif action == "note":
            await service.note(conversation_id, user, _form_text(form, "text", 4000))
        elif action == "resolve":
            await service.resolve(conversation_id, user)
            raise web.HTTPSeeOther(request.app.router["queue_page"].url_for())
    except HandoffError as exc:
        return await conversation_page(request, error=exc.message, status=409)
    raise _back(request, conversation_id, "#balas" if action in ("reply", "note") else "")


async def claim(request: web.Request) -> web.StreamResponse:
    """Take the conversation (waiting, or from the bot)."""
    return await _act(request, "claim")


async def reply(request: web.Request) -> web.StreamResponse:
    """Send a reply to the patron."""
    return await _act(request, "reply")


async def note(request: web.Request) -> web.StreamResponse:
    """Add an internal note."""
    return await _act(request, "note")


async def resolve(request: web.Request) -> web.StreamResponse:
    """Finish and hand back to the bot."""
    return await _act(request, "resolve")


async def audit_page(request: web.Request) -> web.StreamResponse:
    """The last 300 audit entries (admins only)."""
    if not _user(request).is_admin:
        raise web.HTTPForbidden(text="Hanya admin yang bisa melihat log audit.")
    async with request.config_dict[sessions_key]() as session:
        rows = (
            await session.execute(
                select(AuditEntry, Staff, Conversation)
                .outerjoin(Staff, Staff.id == AuditEntry.staff_id)
                .outerjoin(Conversation, Conversation.id == AuditEntry.conversation_id)
                .order_by(AuditEntry.id.desc())
                .limit(300)
            )
        ).all()
    return aiohttp_jinja2.render_template("audit.html", request, _base(request, current=None, rows=rows))


# --- websocket -------------------------------------------------------------------------------


async def websocket(request: web.Request) -> web.StreamResponse:
    """Live hints to refresh the queue or a transcript; same-origin only.

    Closed (code 4401) on logout, and within ``CONSOLE_SESSION_CHECK_SECONDS`` once the session
    is no longer valid (expired, or the account disabled).
    """
    if not security.origin_ok(request, required=True):
        raise web.HTTPForbidden(text="Asal halaman tidak dikenal.")
    hub = request.config_dict[console_hub_key]
    token = request.cookies.get(security.SESSION_COOKIE, "")
    check = max(0.05, request.config_dict[settings_key].console_session_check_seconds)
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    hub.add(ws, token)
    try:
        await ws.send_json({"type": "hello"})
        while not ws.closed:
            try:
                msg = await ws.receive(timeout=check)
            except TimeoutError:
                async with request.config_dict[sessions_key]() as session:
                    still = await user_for_token(session, token)
                if still is None:
                    await ws.close(code=hub.SESSION_ENDED, message=b"session ended")
                    break
                continue
            if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                break
    finally:
        hub.discard(ws)
    return ws


def setup_routes(app: web.Application, static: Path) -> None:
    """Register the console's routes on its sub-application."""
    router = app.router
    router.add_get("/", queue_page, name="queue_page")
    router.add_get("/login", login_form, name="login")
    router.add_post("/login", login, name="login_post")
    router.add_post("/logout", logout, name="logout")
    router.add_get("/queue", queue_fragment, name="queue_fragment")
    router.add_get("/c/{conversation_id}", conversation_page, name="conversation")
    router.add_get("/c/{conversation_id}/transcript", transcript_fragment, name="transcript")
    router.add_post("/c/{conversation_id}/claim", claim, name="claim")
    router.add_post("/c/{conversation_id}/reply", reply, name="reply")
    router.add_post("/c/{conversation_id}/note", note, name="note")
    router.add_post("/c/{conversation_id}/resolve", resolve, name="resolve")
    router.add_get("/audit", audit_page, name="audit")
    router.add_get("/ws", websocket, name="ws")
    analytics.setup_routes(router)
    router.add_static("/static/", static, name="static")
    from bot.console import announcements

    announcements.setup_routes(app)
