"""Messenger and Instagram DMs through one Meta webhook (``/webhooks/meta``) and the Send API.

One Meta app subscribes both products, so one endpoint serves both: ``object: page`` events
become channel ``messenger``, ``object: instagram`` events channel ``instagram``.

- ``GET`` answers the subscription check (``hub.mode=subscribe``, ``hub.verify_token``,
  ``hub.challenge`` echoed as text), 403 on a wrong token.
- ``POST`` checks ``X-Hub-Signature-256`` (HMAC-SHA256 of the *raw* body with the app secret,
  constant-time compare, 403 otherwise), persists the patron messages in the inbox
  (deduplicated by ``mid``) and only then answers 200.

Deliberately not answered by the bot (logged, never handed to it): our own echoes, delivery
and read receipts, reactions, edits, deletions, unsupported messages and standby events
(another app owns the thread). Handed to the gateway as events (``Incoming.kind``, decided in
``bot/events.py``): an echo from another app than ours (``META_APP_ID``), i.e. a person
answering in the Page's inbox, pauses the bot; Instagram story replies and mentions go to the
console queue; ``take_thread_control``/``pass_thread_control`` pause and resume the bot.
Attachments without text get a short text-only reply. Text, quick-reply taps and postbacks are
handled.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from bot.channels.base import Before, Channel, DeliveryError, Pacer, Progress
from bot.messages import Incoming, Outgoing
from bot.render import render_meta
from bot.sanitize import scrub
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
    millis = _millis(ms)
    return datetime.fromtimestamp(millis / 1000, tz=UTC) if millis else None


def _millis(value: Any) -> int:
    """An event timestamp in ms; Meta sends an integer, recorded fixtures also a digit string or ISO 8601."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int | float):
        return int(value) if 0 <= value < 2**53 else 0
    if isinstance(value, str):
        if value.isascii() and value.isdigit() and len(value) <= 16:
            number = int(value)
            return number if number > 10**11 else number * 1000  # seconds → ms
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return 0
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    return 0


def _sid(party: Any) -> str:
    """The id of a ``sender``/``recipient`` object (anything else counts as absent)."""
    if not isinstance(party, dict):
        return ""
    value = party.get("id")
    return str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


ATTACHMENT_KINDS = {
    "image": "photo", "video": "video", "audio": "voice", "file": "file", "location": "location",
    "sticker": "sticker", "share": "share", "ig_reel": "share", "reel": "share", "ig_post": "share",
    "fallback": "share", "template": "share",
}
STORY_ATTACHMENTS = {"story_mention", "ig_story", "story"}


def parse_meta(payload: dict[str, Any], *, app_id: str = "") -> list[Incoming]:
    """The patron messages and conversation events in one Meta webhook payload, oldest first.

    Lenient on types (a string timestamp, a ``sender`` that is not an object, ``entry`` that
    is not a list count as absent, never as an error). ``app_id`` is our Meta app's id: an
    echo from any other app (or none) is a person answering in the Page's inbox.
    """
    payload = scrub(payload)
    channel = OBJECTS.get(str(payload.get("object")))
    if channel is None:
        log.info("ignoring Meta webhook for object %r", payload.get("object"))
        return []
    entries = payload.get("entry")
    if not isinstance(entries, list):
        log.info("ignoring Meta webhook whose entry is not a list (%s)", type(entries).__name__)
        return []
    found: list[tuple[int, Incoming]] = []
    for entry in entries:
        if not isinstance(entry, dict):
            log.info("ignoring a Meta entry that is not an object")
            continue
        standby = _list(entry.get("standby"))
        if standby:
            log.info("ignoring %d standby events: another app owns these threads", len(standby))
        if "changes" in entry and "messaging" not in entry:
            log.info("ignoring Meta 'changes' entry (dashboard test or feed event)")
        elif "messaging" not in entry and not standby:
            log.info("ignoring Meta entry without messaging events")
        for event in _list(entry.get("messaging")):
            item = _parse_event(channel, event, app_id) if isinstance(event, dict) else None
            if item is not None:
                found.append((_millis(event.get("timestamp")), item))
    found.sort(key=lambda pair: pair[0])  # stable: same-timestamp events keep delivery order
    return [item for _, item in found]


def _parse_event(channel: str, event: dict[str, Any], app_id: str) -> Incoming | None:
    sender = _sid(event.get("sender"))
    when = _ts(event.get("timestamp"))
    stamp = _millis(event.get("timestamp"))
    if not sender:
        kinds = ",".join(k for k in event if k not in ("recipient", "timestamp")) or "unknown"
        log.info("ignoring %s event without a sender (%s)", channel, kinds)
        return None
    message = event.get("message")
    if isinstance(message, dict):
        mid = message.get("mid") if isinstance(message.get("mid"), str) else ""
        text = message.get("text").strip() if isinstance(message.get("text"), str) else ""
        attachments = tuple(a for a in _list(message.get("attachments")) if isinstance(a, dict))
        if message.get("is_echo"):
            echo_app = str(message.get("app_id") or "")
            recipient = _sid(event.get("recipient"))
            if (app_id and echo_app == app_id) or not app_id or not recipient:
                log.debug("ignoring echo %s of our own message (app %s)", mid, echo_app)
                return None
            log.info("echo %s from the %s inbox (app %s): a person answered", mid, channel, echo_app or "none")
            return Incoming(
                channel=channel, conversation_id=recipient, text=text, patron_id=recipient,
                platform_message_id=f"echo:{mid or stamp}", timestamp=when, kind="echo",
                attachment=_attachment(attachments),
            )
        if message.get("is_deleted") or message.get("is_unsupported"):
            log.info("ignoring deleted/unsupported %s message %s", channel, mid)
            return None
        reply_to = message.get("reply_to")
        if isinstance(reply_to, dict) and reply_to.get("story"):
            log.info("story reply %s on %s goes to the console (the bot cannot see the story)", mid, channel)
            return Incoming(
                channel=channel, conversation_id=sender, text=text, patron_id=sender,
                platform_message_id=mid or f"{sender}:{stamp}", timestamp=when, kind="story_reply",
                attachments=attachments,
            )
        if any(a.get("type") in STORY_ATTACHMENTS for a in attachments):
            log.info("story mention %s on %s goes to the console", mid, channel)
            return Incoming(
                channel=channel, conversation_id=sender, text=text, patron_id=sender,
                platform_message_id=mid or f"{sender}:{stamp}", timestamp=when, kind="story_mention",
                attachments=attachments,
            )
        quick = message.get("quick_reply")
        raw_payload = quick.get("payload") if isinstance(quick, dict) else None
        payload = raw_payload if isinstance(raw_payload, str) and raw_payload else None
        attachment = _attachment(attachments)
        if not text and not payload and attachment is None:
            log.info("ignoring %s message %s without text or content", channel, mid)
            return None
        return Incoming(
            channel=channel,
            conversation_id=sender,
            text=text or payload or "",
            patron_id=sender,
            payload=payload,
            attachments=attachments,
            platform_message_id=mid or f"{sender}:{stamp}",
            timestamp=when,
            attachment=None if text or payload else attachment,
        )
    postback = event.get("postback")
    if isinstance(postback, dict):
        payload = postback.get("payload") if isinstance(postback.get("payload"), str) else ""
        if not payload:
            log.info("ignoring %s postback without a payload", channel)
            return None
        mid = postback.get("mid") if isinstance(postback.get("mid"), str) and postback.get("mid") else ""
        title = postback.get("title") if isinstance(postback.get("title"), str) and postback.get("title") else ""
        return Incoming(
            channel=channel,
            conversation_id=sender,
            text=title or payload,
            patron_id=sender,
            payload=payload,
            platform_message_id=mid or f"pb:{sender}:{event.get('timestamp')}",
            timestamp=when,
        )
    for key, kind in (("take_thread_control", "thread_taken"), ("pass_thread_control", "thread_passed")):
        control = event.get(key)
        if isinstance(control, dict):
            # Handover protocol: another app took the thread (bot pauses), or it was passed to us.
            owner = str(control.get("new_owner_app_id") or "")
            if kind == "thread_passed" and app_id and owner and owner != app_id:
                log.info("ignoring %s thread passed to another app (%s)", channel, owner)
                return None
            return Incoming(  # the sender of a handover event is the patron (PSID/IGSID)
                channel=channel, conversation_id=sender, text="", patron_id=sender,
                platform_message_id=f"{key}:{sender}:{stamp}", timestamp=when, kind=kind,
            )
    kinds = [k for k in ("read", "delivery", "reaction", "message_edit", "referral", "optin",
                         "account_linking", "request_thread_control", "app_roles", "policy_enforcement",
                         "message_request") if k in event]
    log.info("ignoring %s event %s", channel, ",".join(kinds) or "of unknown kind")
    return None


def _attachment(attachments: tuple[dict[str, Any], ...]) -> str | None:
    for item in attachments:
        kind = item.get("type")
        if isinstance(kind, str):
            return ATTACHMENT_KINDS.get(kind, "file")
    return None


class MetaChannel(Channel):
    """Messenger or Instagram: parse events, send through the Graph Send API."""

    has_window = True

    def __init__(
        self, name: str, *, http: aiohttp.ClientSession, base_url: str, token: str, app_id: str = ""
    ) -> None:
        self.name = name
        self.app_id = app_id
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.pacer = Pacer(interval=0.0, rate=250.0)  # Meta allows 300 calls/s per Page or IG account

    def parse(self, payload: dict[str, Any]) -> list[Incoming]:
        """This channel's patron messages in ``payload``."""
        return [item for item in parse_meta(payload, app_id=self.app_id) if item.channel == self.name]

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            async with self.http.post(
                f"{self.base_url}/me/messages",
                params={"access_token": self.token},
                json=body,
                timeout=aiohttp.ClientTimeout(total=self.send_timeout),
            ) as response:
                try:
                    data = await response.json(content_type=None)
                except ValueError:
                    data = {}
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
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
        before: Before | None = None,
    ) -> list[str]:
        """Send each rendered part; ``tag`` (HUMAN_AGENT) sends as ``MESSAGE_TAG``; returns the mids."""
        parts = render_meta(message, channel=self.name)
        ids: list[str] = []
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
            if before is not None:
                await before(i)
            data = await self._post(body)
            if isinstance(data.get("message_id"), str) and data["message_id"]:
                ids.append(data["message_id"])
            if progress is not None and i + 1 < len(parts):  # the last part is recorded with 'sent'
                await progress(i + 1, list(ids))
        return ids

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
        log.warning("ignoring a signed Meta webhook body that is not a JSON object")
        return web.Response(text="EVENT_RECEIVED")
    try:
        items = parse_meta(data, app_id=settings.meta_app_id)
    except Exception:  # noqa: BLE001 - a signed body is acknowledged, never retried for hours
        log.warning("unparseable Meta webhook dropped", exc_info=True)
        return web.Response(text="EVENT_RECEIVED")
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
        out["messenger"] = MetaChannel(
            "messenger", http=http, base_url=settings.graph_api_base_url, token=page, app_id=settings.meta_app_id
        )
    if insta:
        out["instagram"] = MetaChannel(
            "instagram", http=http, base_url=settings.instagram_api_base_url or settings.graph_api_base_url,
            token=insta, app_id=settings.meta_app_id,
        )
    return out
