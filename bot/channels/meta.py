"""Messenger and Instagram DMs through one Meta webhook (``/webhooks/meta``) and the Send API.

One Meta app subscribes both products, so one endpoint serves both: ``object: page`` events
become channel ``messenger``, ``object: instagram`` events channel ``instagram``.

- ``GET`` answers the subscription check (``hub.mode=subscribe``, ``hub.verify_token``,
  ``hub.challenge`` echoed as text), 403 on a wrong token.
- ``POST`` checks ``X-Hub-Signature-256`` (HMAC-SHA256 of the *raw* body with the app secret,
  constant-time compare, 403 otherwise), persists the patron messages in the inbox
  (deduplicated by ``mid``) and only then answers 200.

Deliberately not answered (logged at debug/info, never handed to the bot): echoes (our own or
staff messages sent from the Page inbox), delivery and read receipts, reactions, edits,
deletions, unsupported messages, attachments without text, and Instagram story replies and
story mentions (the bot cannot see the story, so an answer would be a guess; staff see them in
the Instagram inbox). Text, quick-reply taps and postbacks are handled.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from datetime import datetime, timezone
from typing import Any

import aiohttp
from aiohttp import web

from bot.channels.base import Channel, DeliveryError, Pacer, Progress
from bot.messages import Incoming, Outgoing
from bot.render import render_meta
from bot.settings import Settings

log = logging.getLogger(__name__)

PATH = "/webhooks/meta"
SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_BODY = 4 * 1024 * 1024
OBJECTS = {"page": "messenger", "instagram": "instagram"}

RATE_LIMIT_CODES = {4, 17, 32, 613, 80006}
SERVER_CODES = {1, 2}
WINDOW_SUBCODES = {2018278, 2534022}
UNAVAILABLE_CODES = {551, 1545041}


def signature_ok(raw: bytes, header: str, secrets: list[str]) -> bool:
    """True when ``header`` (``sha256=<hex>``) is the HMAC-SHA256 of ``raw`` under one of ``secrets``."""
    if not header.startswith("sha256="):
        return False
    given = header.removeprefix("sha256=").strip().lower().encode("ascii", "replace")
    ok = False
    for secret in secrets:
        if secret:
            expected = hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).hexdigest().encode("ascii")
            ok |= hmac.compare_digest(expected, given)
    return ok


def _ts(ms: Any) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc) if isinstance(ms, int | float) else None


def parse_meta(payload: dict[str, Any]) -> list[Incoming]:
    """The patron messages in one Meta webhook payload, oldest first; other events dropped."""
    channel = OBJECTS.get(str(payload.get("object")))
    if channel is None:
        log.info("ignoring Meta webhook for object %r", payload.get("object"))
        return []
    found: list[tuple[int, Incoming]] = []
    for entry in payload.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        if entry.get("standby"):
            log.debug("ignoring %d standby events (another app owns the thread)", len(entry["standby"]))
        for event in entry.get("messaging") or []:
            item = _parse_event(channel, event) if isinstance(event, dict) else None
            if item is not None:
                found.append((int(event.get("timestamp") or 0), item))
    found.sort(key=lambda pair: pair[0])  # stable: same-timestamp events keep delivery order
    return [item for _, item in found]


def _parse_event(channel: str, event: dict[str, Any]) -> Incoming | None:
    sender = str((event.get("sender") or {}).get("id") or "")
    when = _ts(event.get("timestamp"))
    if not sender:
        return None
    message = event.get("message")
    if isinstance(message, dict):
        mid = str(message.get("mid") or "")
        if message.get("is_echo"):
            log.debug("ignoring echo %s (app %s)", mid, message.get("app_id"))
            return None
        if message.get("is_deleted") or message.get("is_unsupported"):
            log.info("ignoring deleted/unsupported %s message %s", channel, mid)
            return None
        reply_to = message.get("reply_to") or {}
        if isinstance(reply_to, dict) and reply_to.get("story"):
            log.info("story reply %s on %s left for staff (the bot cannot see the story)", mid, channel)
            return None
        attachments = tuple(a for a in message.get("attachments") or [] if isinstance(a, dict))
        if any(a.get("type") in {"story_mention", "ig_story", "story"} for a in attachments):
            log.info("story mention %s on %s left for staff", mid, channel)
            return None
        text = str(message.get("text") or "").strip()
        quick = message.get("quick_reply") or {}
        payload = str(quick.get("payload")) if isinstance(quick, dict) and quick.get("payload") else None
        if not text and not payload:
            log.info("ignoring %s message %s without text (%d attachments)", channel, mid, len(attachments))
            return None
        return Incoming(
            channel=channel,
            conversation_id=sender,
            text=text or payload or "",
            patron_id=sender,
            payload=payload,
            attachments=attachments,
            platform_message_id=mid or f"{sender}:{event.get('timestamp')}",
            timestamp=when,
        )
    postback = event.get("postback")
    if isinstance(postback, dict):
        payload = str(postback.get("payload") or "")
        if not payload:
            return None
        mid = str(postback.get("mid") or f"pb:{sender}:{event.get('timestamp')}")
        return Incoming(
            channel=channel,
            conversation_id=sender,
            text=str(postback.get("title") or payload),
            patron_id=sender,
            payload=payload,
            platform_message_id=mid,
            timestamp=when,
        )
    kinds = [k for k in ("read", "delivery", "reaction", "message_edit", "referral", "optin") if k in event]
    log.debug("ignoring %s event %s", channel, ",".join(kinds) or "of unknown kind")
    return None


class MetaChannel(Channel):
    """Messenger or Instagram: parse events, send through the Graph Send API."""

    has_window = True

    def __init__(self, name: str, *, http: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self.name = name
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.pacer = Pacer(interval=0.0, rate=250.0)  # Meta allows 300 calls/s per Page or IG account

    def parse(self, payload: dict[str, Any]) -> list[Incoming]:
        """This channel's patron messages in ``payload``."""
        return [item for item in parse_meta(payload) if item.channel == self.name]

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            async with self.http.post(
                f"{self.base_url}/me/messages",
                params={"access_token": self.token},
                json=body,
                timeout=aiohttp.ClientTimeout(total=20),
            ) as response:
                try:
                    data = await response.json(content_type=None)
                except ValueError:
                    data = {}
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise DeliveryError(f"Gangguan jaringan ke Meta ({type(exc).__name__}).") from exc
        if status < 300:
            return data if isinstance(data, dict) else {}
        error = (data or {}).get("error") or {} if isinstance(data, dict) else {}
        code = error.get("code")
        subcode = error.get("error_subcode")
        text = str(error.get("message") or f"HTTP {status}")
        if code in RATE_LIMIT_CODES:
            raise DeliveryError(f"Meta membatasi kecepatan (kode {code}).")
        if code in SERVER_CODES or status >= 500:
            raise DeliveryError(f"Gangguan server Meta ({text}).")
        if code == 10 and subcode in WINDOW_SUBCODES or code == 1545041:
            raise DeliveryError(
                "Pesan tidak bisa dikirim: di luar jendela 24 jam; pemustaka harus menulis lebih dulu.", permanent=True
            )
        if code in UNAVAILABLE_CODES:
            raise DeliveryError("Pemustaka tidak bisa dihubungi (memblokir atau menonaktifkan akun).", permanent=True)
        if code == 190:
            raise DeliveryError("Token akses Meta tidak valid atau kedaluwarsa.", permanent=True)
        raise DeliveryError(f"Meta menolak pesan (kode {code}: {text}).", permanent=True)

    async def send(
        self,
        external_id: str,
        message: Outgoing,
        *,
        skip: int = 0,
        tag: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Send each rendered part; ``tag`` (HUMAN_AGENT) sends as ``MESSAGE_TAG``."""
        parts = render_meta(message, channel=self.name)
        for i, part in enumerate(parts):
            if i < skip:
                continue
            body: dict[str, Any] = {"recipient": {"id": external_id}, "message": part}
            if tag:
                body["messaging_type"] = "MESSAGE_TAG"
                body["tag"] = tag
            else:
                body["messaging_type"] = "RESPONSE"
            await self.pacer.wait(external_id)
            await self._post(body)
            if progress is not None and i + 1 < len(parts):  # the last part is recorded with 'sent'
                await progress(i + 1)

    async def typing(self, external_id: str) -> None:
        """``sender_action: typing_on``, best effort."""
        try:
            await self._post({"recipient": {"id": external_id}, "sender_action": "typing_on"})
        except DeliveryError as exc:
            log.debug("typing indicator failed: %s", exc)


async def verify(request: web.Request) -> web.StreamResponse:
    """``GET /webhooks/meta``: the subscription check."""
    from bot.keys import settings_key

    expected = request.app[settings_key].meta_verify_token.get_secret_value()
    mode = request.query.get("hub.mode", "")
    token = request.query.get("hub.verify_token", "")
    challenge = request.query.get("hub.challenge", "")
    if mode == "subscribe" and expected and hmac.compare_digest(token.encode(), expected.encode()):
        return web.Response(text=challenge, content_type="text/plain")
    return web.Response(status=403)


async def receive(request: web.Request) -> web.StreamResponse:
    """``POST /webhooks/meta``: verify the signature on the raw body, persist, acknowledge."""
    from bot.keys import inbox_key, settings_key

    settings = request.app[settings_key]
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return web.Response(status=413)
    secrets = [settings.meta_app_secret.get_secret_value(), settings.instagram_app_secret.get_secret_value()]
    if not signature_ok(raw, request.headers.get(SIGNATURE_HEADER, ""), secrets):
        log.warning("Meta webhook with a missing or wrong X-Hub-Signature-256 from %s", request.remote)
        return web.Response(status=403)
    try:
        data = json.loads(raw)
    except ValueError:
        return web.Response(status=400)
    if not isinstance(data, dict):
        return web.Response(status=400)
    items = parse_meta(data)
    await request.app[inbox_key].accept(items)  # raises → 500 → Meta retries
    return web.Response(text="EVENT_RECEIVED")


def setup(app: web.Application) -> None:
    """Register ``/webhooks/meta`` (GET verification, POST events)."""
    app.router.add_get(PATH, verify)
    app.router.add_post(PATH, receive)


def channels(settings: Settings, http: aiohttp.ClientSession) -> dict[str, MetaChannel]:
    """The configured Meta channels: Messenger with the Page token, Instagram with its token."""
    out: dict[str, MetaChannel] = {}
    page = settings.meta_page_token.get_secret_value()
    insta = settings.instagram_token.get_secret_value() or page
    if page:
        out["messenger"] = MetaChannel("messenger", http=http, base_url=settings.graph_api_base_url, token=page)
    if insta:
        out["instagram"] = MetaChannel(
            "instagram", http=http, base_url=settings.instagram_api_base_url or settings.graph_api_base_url, token=insta
        )
    return out
