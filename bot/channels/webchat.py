"""The web chat channel: ``POST /api/chat`` (a stable JSON contract) and the chat page at ``/``.

Request ``{"sender_id": "...", "text": "..."}``; answer
``{"messages": [{"text": "...", "buttons": [{"title": "...", "payload": "..."}]}], "handoff": false}``.
Bad input gets a 4xx with ``{"error": {"code": ..., "message": ...}}``; never a 500.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.keys import handoff_key, router_key, settings_key
from bot.messages import Incoming

STATIC = Path(__file__).resolve().parent.parent / "static"
CHANNEL = "web"
_SENDER = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")
MAX_BODY = 64 * 1024


def error(status: int, code: str, message: str) -> web.Response:
    """A JSON error response."""
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


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
    except (UnicodeDecodeError, ValueError):
        return error(400, "invalid_json", "Body harus berupa JSON: {\"sender_id\": \"...\", \"text\": \"...\"}.")
    if not isinstance(data, dict):
        return error(400, "invalid_json", "Body harus berupa objek JSON.")
    sender = data.get("sender_id")
    text = data.get("text")
    payload = data.get("payload")
    if not isinstance(sender, str) or not _SENDER.match(sender):
        return error(422, "invalid_sender_id", "sender_id wajib diisi (1–128 huruf, angka, atau _.:@-).")
    if payload is not None and (not isinstance(payload, str) or len(payload) > 1000):
        return error(422, "invalid_payload", "payload harus berupa teks.")
    if not isinstance(text, str) or (not text.strip() and not payload):
        return error(422, "empty_text", "text wajib diisi dan tidak boleh kosong.")
    if len(text) > settings.max_message_chars:
        return error(
            413, "too_long", f"Pesan terlalu panjang (maksimal {settings.max_message_chars} karakter)."
        )
    reply = await request.app[router_key].handle(
        Incoming(channel=CHANNEL, conversation_id=sender, patron_id=sender, text=text.strip(), payload=payload)
    )
    _, _, cursor = await request.app[handoff_key].web_updates(sender, None)
    body = {"messages": [m.as_json() for m in reply.messages], "handoff": reply.handoff, "cursor": cursor}
    if reply.debug is not None:
        body["debug"] = reply.debug
    return web.json_response(body)


async def updates(request: web.Request) -> web.StreamResponse:
    """Librarian replies for a web chat in handoff: ``GET /api/chat/updates?sender_id=..&after=..``.

    Answers ``{"messages": [{"id", "text", "author"}], "handoff": bool, "cursor": int}``; the page
    polls with ``after=cursor`` while ``handoff`` is true. Without ``after`` only the cursor is
    returned.
    """
    sender = request.query.get("sender_id", "")
    if not _SENDER.match(sender):
        return error(422, "invalid_sender_id", "sender_id wajib diisi (1–128 huruf, angka, atau _.:@-).")
    raw_after = request.query.get("after")
    if raw_after is not None and not raw_after.isdigit():
        return error(422, "invalid_after", "after harus berupa angka.")
    messages, handoff, cursor = await request.app[handoff_key].web_updates(
        sender, int(raw_after) if raw_after is not None else None
    )
    return web.json_response({"messages": messages, "handoff": handoff, "cursor": cursor})


async def index(request: web.Request) -> web.StreamResponse:
    """The chat page."""
    return web.FileResponse(STATIC / "index.html")


def setup(app: web.Application) -> None:
    """Register the web chat routes."""
    app.router.add_post("/api/chat", chat)
    app.router.add_get("/api/chat/updates", updates)
    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC)
