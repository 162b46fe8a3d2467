"""The web chat channel: ``POST /api/chat`` (a stable JSON contract) and the chat page at ``/``.

**Identity is issued by the server.** On first contact ``POST /api/chat`` sets the cookie
``pustakabot_chat`` (HttpOnly, SameSite=Strict, path ``/api/chat``, Secure unless plain http on
localhost): a random conversation id signed with HMAC-SHA256 under ``SECRET_KEY``. Both
``/api/chat`` and ``/api/chat/updates`` take the conversation from that cookie only; a
browser-chosen ``sender_id`` is refused (401), so knowing or guessing an id gives access to
nothing. A server-side integration (tests, benchmarks, another site) sends
``Authorization: Bearer KEY`` with a key from ``CHAT_API_KEYS`` and may then name the
conversation with ``sender_id`` itself.

Request ``{"text": "...", "payload": "..."?}``; answer
``{"messages": [{"text": "...", "buttons": [{"title": "...", "payload": "..."}]}], "handoff": false,
"cursor": 0}``. Bad input gets a 4xx with ``{"error": {"code": ..., "message": ...}}``; never a
500. Browser clients are rate-limited per address and per conversation (429 with
``Retry-After``), and may start only ``CHAT_HANDOFFS_PER_ADDRESS`` librarian handoffs per hour.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.console.security import cookie_secure
from bot.keys import chat_identity_key, chat_limits_key, handoff_key, metrics_key, replicas_key, router_key, settings_key
from bot.messages import Incoming, Reply
from bot.models import ConversationState
from bot.ratelimit import retry_after_header
from bot.sanitize import has_lone_surrogate, parse_id
from bot.webchat_identity import SENDER_ID as _SENDER
from bot.webchat_identity import ChatIdentity, ChatLimits, signing_key

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent.parent / "static"
CHANNEL = "web"
MAX_BODY = 64 * 1024
COOKIE = "pustakabot_chat"
COOKIE_PATH = "/api/chat"
COOKIE_MAX_AGE = 30 * 24 * 3600


def error(status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON error response."""
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


# --- identity ------------------------------------------------------------------------------


@dataclass
class _Caller:
    """Who is calling: a conversation id, whether it is new (cookie to set) or an integration."""

    conversation_id: str | None
    cookie: str | None = None
    trusted: bool = False


def _caller(request: web.Request, sender_id: Any) -> _Caller | web.Response:
    identity = request.app[chat_identity_key]
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        if not identity.api_key_ok(authorization):
            return error(401, "invalid_api_key", "API key tidak dikenal.")
        if not isinstance(sender_id, str) or not _SENDER.match(sender_id):
            return error(422, "invalid_sender_id", "sender_id wajib diisi (1–128 huruf, angka, atau _.:@-).")
        return _Caller(sender_id, trusted=True)
    if sender_id is not None:
        return error(
            401, "api_key_required",
            "sender_id hanya untuk integrasi server (Authorization: Bearer API key); "
            "browser memakai cookie percakapan dari server.",
        )
    return _Caller(identity.verify(request.cookies.get(COOKIE)))


def _set_cookie(response: web.StreamResponse, request: web.Request, value: str) -> None:
    response.set_cookie(
        COOKIE, value, max_age=COOKIE_MAX_AGE, path=COOKIE_PATH, httponly=True, samesite="Strict",
        secure=cookie_secure(request),
    )


def _limited(seconds: float) -> web.Response:
    return error(
        429, "rate_limited", "Terlalu banyak pesan dalam waktu singkat. Tunggu sebentar lalu coba lagi ya, Kak.",
        headers={"Retry-After": retry_after_header(seconds)},
    )


# --- handlers ------------------------------------------------------------------------------


async def chat(request: web.Request) -> web.StreamResponse:
    """Answer one web chat message."""
    settings = request.app[settings_key]
    if request.content_length is not None and request.content_length > MAX_BODY:
        return error(413, "too_large", "Pesan terlalu panjang.")
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return error(413, "too_large", "Pesan terlalu panjang.")
    try:
        data: Any = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return error(400, "invalid_json", "Body harus berupa JSON: {\"text\": \"...\"}.")
    if not isinstance(data, dict):
        return error(400, "invalid_json", "Body harus berupa objek JSON.")
    caller = _caller(request, data.get("sender_id"))
    if isinstance(caller, web.Response):
        return caller
    text = data.get("text")
    payload = data.get("payload")
    if payload is not None and (not isinstance(payload, str) or len(payload) > 1000 or has_lone_surrogate(payload)):
        return error(422, "invalid_payload", "payload harus berupa teks.")
    if not isinstance(text, str) or (not text.strip() and not payload):
        return error(422, "empty_text", "text wajib diisi dan tidak boleh kosong.")
    if has_lone_surrogate(text):
        return error(422, "invalid_text", "text berisi karakter yang tidak valid (surrogate UTF-16 tunggal).")
    if len(text) > settings.max_message_chars:
        return error(
            413, "too_long", f"Pesan terlalu panjang (maksimal {settings.max_message_chars} karakter)."
        )
    limits = request.app[chat_limits_key]
    address = str(request.remote)
    if caller.conversation_id is None:
        caller.conversation_id, caller.cookie = request.app[chat_identity_key].issue()
    sender = caller.conversation_id
    if not caller.trusted:
        wait = await limits.per_address.hit(address) or await limits.per_conversation.hit(sender)
        if wait:
            log.info("web chat rate limit reached for an address (%.0f s)", wait)
            return _limited(wait)
    handoff = request.app[handoff_key]
    before = await handoff.web_conversation(sender) if not caller.trusted else None
    reply = await request.app[router_key].handle(
        Incoming(channel=CHANNEL, conversation_id=sender, patron_id=sender, text=text.strip(), payload=payload)
    )
    if not caller.trusted and reply.handoff and (before is None or before[1] is ConversationState.BOT):
        reply = await _cap_handoff(request, sender, address, reply)
    request.app[metrics_key].messages_out.labels(CHANNEL).inc(len(reply.messages))
    _, _, cursor = await handoff.web_updates(sender, None)
    body = {"messages": [m.as_json() for m in reply.messages], "handoff": reply.handoff, "cursor": cursor}
    if reply.debug is not None:
        body["debug"] = reply.debug
    response = web.json_response(body)
    if caller.cookie is not None:
        _set_cookie(response, request, caller.cookie)
    return response


async def _cap_handoff(request: web.Request, sender: str, address: str, reply: Reply) -> Reply:
    """A handoff just started from ``address``: keep it, or decline it when over the hourly cap."""
    if await request.app[chat_limits_key].handoffs_per_address.hit(address) == 0:
        return reply
    handoff = request.app[handoff_key]
    found = await handoff.web_conversation(sender)
    if found is None:
        return reply
    log.warning("handoff declined: too many new handoffs from one address this hour")
    return Reply(messages=await handoff.decline(found[0], why="handoffs_per_address"), handoff=False)


async def updates(request: web.Request) -> web.StreamResponse:
    """Librarian replies for a web chat in handoff: ``GET /api/chat/updates?after=..``.

    Answers ``{"messages": [{"id", "text", "author"}], "handoff": bool, "cursor": int}``; the page
    polls with ``after=cursor`` while ``handoff`` is true. Without ``after`` only the cursor is
    returned; without a conversation cookie there is nothing yet (cursor 0).
    """
    caller = _caller(request, request.query.get("sender_id"))
    if isinstance(caller, web.Response):
        return caller
    raw_after = request.query.get("after")
    after = parse_id(raw_after)
    if raw_after is not None and after is None:
        return error(422, "invalid_after", "after harus berupa angka (0–999999999999999999).")
    if caller.conversation_id is None:
        return web.json_response({"messages": [], "handoff": False, "cursor": 0})
    messages, handoff, cursor = await request.app[handoff_key].web_updates(caller.conversation_id, after)
    return web.json_response({"messages": messages, "handoff": handoff, "cursor": cursor})


async def index(request: web.Request) -> web.StreamResponse:
    """The chat page."""
    return web.FileResponse(STATIC / "index.html")


async def openapi(request: web.Request) -> web.StreamResponse:
    """The OpenAPI description of the public HTTP API."""
    return web.FileResponse(STATIC / "openapi.yaml", headers={"Content-Type": "application/yaml"})


def setup(app: web.Application) -> None:
    """Register the web chat routes, its identity issuer and its rate limits."""
    settings = app[settings_key]
    app[chat_identity_key] = ChatIdentity(signing_key(settings), settings.chat_api_key_list)
    app[chat_limits_key] = ChatLimits.from_settings(settings, app[replicas_key])
    app.router.add_post("/api/chat", chat)
    app.router.add_get("/api/chat/updates", updates)
    app.router.add_get("/api/openapi.yaml", openapi)
    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC)
