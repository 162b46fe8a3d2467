"""A local fake of the WhatsApp Business Cloud API, in the real wire format, and a webhook sender.

``async with FakeWhatsApp() as fake:`` serves ``POST /v25.0/<phone_number_id>/messages`` on
127.0.0.1 (free port); ``fake.base_url`` ends with the version. Requests carry
``Authorization: Bearer <token>`` and JSON ``{"messaging_product": "whatsapp", "to": ...,
"type": "text" | "interactive" | "image" | "template", ...}``; success answers
``{"messaging_product": "whatsapp", "contacts": [{"input", "wa_id"}], "messages": [{"id":
"wamid..."}]}``, errors ``{"error": {"message", "type": "OAuthException", "code",
"error_subcode", "fbtrace_id"}}`` (with ``error_data.details`` as the Cloud API sends).

The helpers build webhook bodies shaped as Meta documents them (``object:
whatsapp_business_account``, ``entry[].changes[].value`` with ``metadata``, ``contacts``,
``messages`` or ``statuses``) and :func:`post_signed` sends them with ``X-Hub-Signature-256``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.server import LocalServer

PHONE_NUMBER_ID = "106540352242922"
DISPLAY_NUMBER = "6285212345678"
WABA_ID = "102290129340398"

RATE_LIMIT = 130429
RE_ENGAGEMENT = 131047
UNDELIVERABLE = 131026
TEMPLATE_MISSING = 132001

_ERRORS = {
    RATE_LIMIT: ("(#130429) Rate limit hit", "Cloud API message throughput has been reached.", 400),
    RE_ENGAGEMENT: (
        "(#131047) Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
        400,
    ),
    UNDELIVERABLE: ("(#131026) Message Undeliverable", "Unable to deliver message.", 400),
    TEMPLATE_MISSING: ("(#132001) Template name does not exist in the translation", "template name does not exist", 404),
    190: ("Error validating access token: Session has expired.", "", 401),
    131000: ("(#131000) Something went wrong", "Something went wrong", 500),
}


@dataclass
class _Failure:
    code: int
    status: int | None


class FakeWhatsApp:
    """Cloud API messages endpoint fake: records accepted messages, can fail on demand.

    Attributes:
        sent: every accepted message body, with ``token`` and ``phone_number_id`` added and its
            ``wamid``.
        calls: every request body, failed ones included.
    """

    def __init__(self, version: str = "v25.0", *, token: str = "WA-TOKEN", phone_number_id: str = PHONE_NUMBER_ID) -> None:
        self.version = version
        self.token = token
        self.phone_number_id = phone_number_id
        self.sent: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self._failures: deque[_Failure] = deque()
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._server = LocalServer()

    @property
    def base_url(self) -> str:
        """Value for ``whatsapp_api_base_url`` (includes the API version)."""
        return f"http://127.0.0.1:{self._server.port}/{self.version}"

    def fail_next(self, code: int = RATE_LIMIT, *, status: int | None = None) -> None:
        """Make the next message fail with Cloud API error ``code`` (queue several by calling again)."""
        self._failures.append(_Failure(code, status))

    async def wait_for_sent(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until at least ``n`` messages were accepted, then return them all.

        Raises:
            TimeoutError: fewer than ``n`` arrived in time.
        """
        return await self.wait_for(lambda: len(self.sent) >= n, timeout, f"{n} messages")

    async def wait_for_calls(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until at least ``n`` requests (accepted or refused) arrived."""
        await self.wait_for(lambda: len(self.calls) >= n, timeout, f"{n} calls")
        return list(self.calls)

    async def wait_for(self, predicate: Any, timeout: float, what: str) -> list[dict[str, Any]]:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
            except asyncio.TimeoutError:
                raise TimeoutError(f"not {what} after {timeout}s ({len(self.sent)} sent, {len(self.calls)} calls)") from None
        return list(self.sent)

    async def __aenter__(self) -> FakeWhatsApp:
        app = web.Application()
        app.router.add_post(f"/{self.version}/{{phone_number_id}}/messages", self._messages)
        await self._server.start(app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") != self.token:
            return self._error(190)
        try:
            body = await request.json()
        except ValueError:
            return self._error(100, message="(#100) Invalid parameter", status=400)
        async with self._changed:
            self.calls.append(body)
            self._changed.notify_all()
        if request.match_info["phone_number_id"] != self.phone_number_id:
            return self._error(100, message="(#100) Unsupported post request. Object does not exist", status=400)
        if body.get("messaging_product") != "whatsapp" or not (body.get("to") or body.get("recipient")) or not body.get("type"):
            return self._error(100, message="(#100) The parameter messaging_product is required.", status=400)
        problem = _invalid(body)
        if problem:
            return self._error(131009, message=f"(#131009) Parameter value is not valid: {problem}", status=400)
        if self._failures:
            f = self._failures.popleft()
            return self._error(f.code, status=f.status)
        to = body.get("to") or body["recipient"]
        wamid = "wamid." + base64.b64encode(f"HBgN{to}FQIAERgS{next(self._ids):020d}".encode()).decode()
        async with self._changed:
            self.sent.append({**body, "token": auth.removeprefix("Bearer "), "phone_number_id": self.phone_number_id, "wamid": wamid})
            self._changed.notify_all()
        response: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, **({"user_id": to} if "recipient" in body else {"wa_id": to})}],
            "messages": [{"id": wamid}],
        }
        if body["type"] == "template":
            response["messages"][0]["message_status"] = "accepted"
        return web.json_response(response)

    def _error(self, code: int, *, message: str | None = None, status: int | None = None) -> web.Response:
        title, details, default_status = _ERRORS.get(code, (f"(#{code}) Error", "", 400))
        error: dict[str, Any] = {
            "message": message or title,
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details or title},
            "error_subcode": 2494010,
            "fbtrace_id": "AbCdEfGhIjKlMnOp",
        }
        return web.json_response({"error": error}, status=status or default_status)


def _invalid(body: dict[str, Any]) -> str | None:
    """The Cloud API's documented limits the fake enforces (so rendering bugs show up)."""
    kind = body["type"]
    if kind == "text" and not 0 < len(body.get("text", {}).get("body", "")) <= 4096:
        return "text.body must be 1-4096 characters"
    if kind == "interactive":
        interactive = body.get("interactive") or {}
        text = (interactive.get("body") or {}).get("text", "")
        action = interactive.get("action") or {}
        if interactive.get("type") == "button":
            buttons = action.get("buttons") or []
            if not 0 < len(buttons) <= 3 or not 0 < len(text) <= 1024:
                return "1-3 buttons and a body of at most 1024 characters"
            ids = [b["reply"]["id"] for b in buttons]
            if len(set(ids)) != len(ids) or any(not 0 < len(b["reply"]["title"]) <= 20 for b in buttons):
                return "button ids unique, titles 1-20 characters"
        elif interactive.get("type") == "list":
            rows = [r for s in action.get("sections") or [] for r in s.get("rows") or []]
            if not 0 < len(rows) <= 10 or not 0 < len(action.get("button", "")) <= 20 or not 0 < len(text) <= 4096:
                return "1-10 rows, button label 1-20 characters"
            if any(not 0 < len(r["title"]) <= 24 or len(r.get("description", "")) > 72 or len(r["id"]) > 200 for r in rows):
                return "row titles 1-24, descriptions 72, ids 200 characters"
        elif interactive.get("type") == "cta_url":
            return _cta_url_problem(interactive, text)
        else:
            return "interactive.type"
    if kind == "template":
        template = body.get("template") or {}
        if not template.get("name") or not (template.get("language") or {}).get("code"):
            return "template.name and template.language.code are required"
        for component in template.get("components") or []:
            for p in component.get("parameters") or []:
                if p.get("type") == "text" and ("\n" in p["text"] or "\t" in p["text"] or "     " in p["text"]):
                    return "Param text cannot have new-line/tab characters or more than 4 consecutive spaces"
    return None


def _cta_url_problem(interactive: dict[str, Any], body: str) -> str | None:
    """A call-to-action URL message: a body of 1-1024 characters, one button (``display_text``
    1-20 characters, an http(s) ``url``), an optional text/image/video/document header."""
    action = interactive.get("action") or {}
    parameters = action.get("parameters") or {}
    if action.get("name") != "cta_url" or not 0 < len(body) <= 1024:
        return "action.name cta_url and a body of 1-1024 characters"
    if not 0 < len(str(parameters.get("display_text") or "")) <= 20:
        return "action.parameters.display_text must be 1-20 characters"
    url = parameters.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or any(c.isspace() for c in url):
        return "action.parameters.url must be a valid URL"
    header = interactive.get("header")
    if header is None:
        return None
    kind = header.get("type")
    if kind == "text":
        return None if 0 < len(header.get("text", "")) <= 60 else "header.text must be 1-60 characters"
    if kind in ("image", "video", "document"):
        media = header.get(kind) or {}
        return None if media.get("link") or media.get("id") else f"header.{kind} needs a link or an id"
    return "header.type"


# --- webhook bodies, as the Cloud API sends them ----------------------------------------------------


def _envelope(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{
            "id": WABA_ID,
            "changes": [{
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": PHONE_NUMBER_ID},
                    **value,
                },
                "field": "messages",
            }],
        }],
    }


def inbound(wa_id: str, message: dict[str, Any], *, name: str = "Siti Aminah", wamid: str | None = None, at: int | None = None) -> dict[str, Any]:
    """A ``messages`` webhook with one patron message (``message`` holds ``type`` and its object)."""
    msg = {
        "from": wa_id,
        "id": wamid or f"wamid.HBgN{wa_id}FQIAEhgg{abs(hash(json.dumps(message, sort_keys=True))) % 10**12:012d}",
        "timestamp": str(at if at is not None else int(time.time())),
        **message,
    }
    return _envelope({"contacts": [{"profile": {"name": name}, "wa_id": wa_id}], "messages": [msg]})


def text_message(wa_id: str, body: str, **kwargs: Any) -> dict[str, Any]:
    """A patron's text message webhook."""
    return inbound(wa_id, {"type": "text", "text": {"body": body}}, **kwargs)


def button_reply(wa_id: str, reply_id: str, title: str, **kwargs: Any) -> dict[str, Any]:
    """A tap on a reply button we sent."""
    message = {
        "context": {"from": DISPLAY_NUMBER, "id": "wamid.HBgNcontext"},
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}},
    }
    return inbound(wa_id, message, **kwargs)


def list_reply(wa_id: str, row_id: str, title: str, description: str = "", **kwargs: Any) -> dict[str, Any]:
    """A choice from an interactive list we sent."""
    reply = {"id": row_id, "title": title, **({"description": description} if description else {})}
    message = {
        "context": {"from": DISPLAY_NUMBER, "id": "wamid.HBgNcontext2"},
        "type": "interactive",
        "interactive": {"type": "list_reply", "list_reply": reply},
    }
    return inbound(wa_id, message, **kwargs)


MEDIA = {
    "image": {"type": "image", "image": {"caption": "ini sampulnya", "mime_type": "image/jpeg", "sha256": "aGFzaA==", "id": "1479537139650973"}},
    "sticker": {"type": "sticker", "sticker": {"mime_type": "image/webp", "sha256": "aGFzaA==", "id": "1203371670613291", "animated": False}},
    "voice": {"type": "audio", "audio": {"mime_type": "audio/ogg; codecs=opus", "sha256": "aGFzaA==", "id": "1003383421387256", "voice": True}},
    "video": {"type": "video", "video": {"mime_type": "video/mp4", "sha256": "aGFzaA==", "id": "1160795998661718"}},
    "document": {"type": "document", "document": {"filename": "ktp.pdf", "mime_type": "application/pdf", "sha256": "aGFzaA==", "id": "1230461258223498"}},
    "location": {"type": "location", "location": {"latitude": -3.4324, "longitude": 104.2311, "name": "Prabumulih", "address": "Jl. Jend. Sudirman"}},
    "contacts": {"type": "contacts", "contacts": [{"name": {"formatted_name": "Budi", "first_name": "Budi"}, "phones": [{"phone": "+62 812 0000 0000", "type": "CELL"}]}]},
}


def status(wamid: str, state: str, recipient: str, *, error: int | None = None, at: int | None = None) -> dict[str, Any]:
    """A ``statuses`` webhook: ``sent``, ``delivered``, ``read`` or ``failed`` (with ``error``)."""
    report: dict[str, Any] = {
        "id": wamid,
        "status": state,
        "timestamp": str(at if at is not None else int(time.time())),
        "recipient_id": recipient,
    }
    if state in ("sent", "delivered"):
        report["conversation"] = {"id": "a75d17ad06104c51166f948319b03c6a", "origin": {"type": "service"}}
        report["pricing"] = {"billable": False, "pricing_model": "PMP", "category": "service", "type": "free_customer_service"}
    if state == "failed":
        title, details, _ = _ERRORS.get(error or UNDELIVERABLE, ("Error", "", 400))
        code = error or UNDELIVERABLE
        clean = title.split(") ", 1)[-1]
        report["errors"] = [{
            "code": code,
            "title": clean,
            "message": clean,
            "error_data": {"details": details or clean},
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
        }]
    return _envelope({"statuses": [report]})


def sign(body: dict[str, Any] | bytes, secret: str) -> tuple[bytes, dict[str, str]]:
    """Body bytes as Meta sends them and the ``X-Hub-Signature-256`` headers."""
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"Content-Type": "application/json", "X-Hub-Signature-256": signature}


async def post_signed(client: Any, body: dict[str, Any] | bytes, secret: str, path: str = "/webhooks/whatsapp") -> int:
    """POST ``body`` signed with ``secret`` to the gateway ``client``; returns the HTTP status."""
    raw, headers = sign(body, secret)
    response = await client.post(path, data=raw, headers=headers)
    await response.read()
    return response.status
