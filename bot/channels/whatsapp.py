"""WhatsApp (WhatsApp Business Cloud API): webhook ``/webhooks/whatsapp`` and the messages endpoint.

- ``GET`` answers the subscription check (``hub.mode=subscribe``, ``hub.verify_token``,
  ``hub.challenge`` echoed as text), 403 on a wrong token.
- ``POST`` checks ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the app secret,
  constant-time, the Meta helper), then reads ``entry[].changes[].value``: ``messages`` (with the
  patron's name from ``contacts``) are persisted in the inbox (deduplicated by ``wamid``),
  ``statuses`` update the outbox rows they belong to (:mod:`bot.receipts`), and only then the
  webhook is acknowledged. A signed body that is not the expected shape is acknowledged with 200
  and the skip logged: WhatsApp keeps retrying anything else for hours, and a retry cannot fix it.

Handled: text, reply-button and list replies (their id is the button payload), template
quick-reply buttons. Images, stickers, audio and voice notes, video, documents, locations,
contacts, orders and unsupported messages become an :class:`~bot.messages.Incoming` with
``attachment`` set to the gateway's kind ("photo", "sticker", "voice"…), as on every channel:
without a caption the gateway answers with a short text-only reply (:mod:`bot.events`), a caption
is answered as text. Reactions and system notices are logged and dropped.

Sending: ``POST {base}/{phone_number_id}/messages`` with ``messaging_product: whatsapp`` and a
Bearer token; rendering in :func:`bot.render.render_whatsapp`. Free-form messages only within
24 hours of the patron's last message; afterwards staff replies go out as the configured
staff-reply template (``tag=TEMPLATE``) and other messages only as templates
(:func:`template_message`, :meth:`WhatsAppChannel.send_template`).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channel_models import OutboxItem
from bot.channels.base import TEMPLATE_TAG, Before, Channel, DeliveryError, Pacer, Progress
from bot.channels.meta import signature_ok
from bot.messages import Incoming, Outgoing
from bot.render import link_lines, render_whatsapp, split_text
from bot.settings import Settings

log = logging.getLogger(__name__)

NAME = "whatsapp"
PATH = "/webhooks/whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_BODY = 4 * 1024 * 1024
TEMPLATE_KEY = "whatsapp_template"
#: characters of a staff reply per template message (the template's own text shares the 1024-character body)
TEMPLATE_PARAM_LIMIT = 700

#: the gateway's kind (bot.events.LABELS) of each message type the bot cannot read
ATTACHMENT_KINDS = {
    "image": "photo",
    "sticker": "sticker",
    "audio": "audio",
    "voice": "voice",
    "video": "video",
    "document": "file",
    "location": "location",
    "contacts": "contact",
    "order": "order",
}
IGNORED = {"reaction", "system", "request_welcome", "ephemeral"}

RATE_LIMIT_CODES = {4, 613, 80007, 130429, 131048, 131056}
TRANSIENT_CODES = {1, 2, 131000, 131016}
TOKEN_CODES = {0, 190}
PERMISSION_CODES = {3, 10} | set(range(200, 300))
TEMPLATE_CODES = {132000, 132001, 132005, 132007, 132012, 132015, 132016, 132068, 132069}

_SPACES = re.compile(r"\s+")


def error_reason(code: Any, title: str = "", *, template: str | None = None) -> tuple[str, bool]:
    """(Indonesian reason for staff, permanent?) for a Cloud API error code (API reply or status)."""
    title = title or "tanpa keterangan"
    if code in RATE_LIMIT_CODES:
        return f"WhatsApp membatasi kecepatan kirim (kode {code}).", False
    if code in TRANSIENT_CODES:
        return f"Gangguan sementara di server WhatsApp (kode {code}: {title}).", False
    if code == 131047:
        return (
            "Pesan tidak bisa dikirim: sudah lebih dari 24 jam sejak pesan terakhir pemustaka di WhatsApp; "
            "hanya template yang disetujui yang boleh dikirim.",
            True,
        )
    if code == 131026:
        return (
            "Pesan tidak sampai: nomor ini tidak bisa menerima pesan WhatsApp (tidak terdaftar, memblokir "
            "nomor perpustakaan, atau aplikasinya perlu diperbarui).",
            True,
        )
    if code == 131030:
        return "Nomor pemustaka belum masuk daftar penerima nomor uji WhatsApp.", True
    if code == 131049:
        return "WhatsApp memilih tidak mengantar pesan ini (batas pesan per pengguna).", True
    if code == 131050:
        return "Pemustaka memilih berhenti menerima pesan promosi dari perpustakaan.", True
    if code in TOKEN_CODES:
        return "Token akses WhatsApp tidak valid atau kedaluwarsa (PUSTAKABOT_WHATSAPP_TOKEN).", True
    if code in PERMISSION_CODES:
        return f"Token WhatsApp tidak punya izin yang diperlukan (kode {code}).", True
    if code in TEMPLATE_CODES:
        name = f" {template}" if template else ""
        return f"Template WhatsApp{name} ditolak (kode {code}: {title}); periksa nama, bahasa dan parameternya.", True
    if code in {368, 131031}:
        return f"Akun WhatsApp Business perpustakaan sedang dibatasi oleh Meta (kode {code}).", True
    if code == 133010:
        return "Nomor WhatsApp perpustakaan belum terdaftar di Cloud API.", True
    return f"WhatsApp menolak pesan (kode {code}: {title}).", True


def _ts(seconds: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(seconds), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


@dataclass(frozen=True)
class Status:
    """One ``statuses[]`` report on a message we sent."""

    wamid: str
    status: str  # sent | delivered | read | failed (others are ignored)
    recipient: str
    reason: str | None = None  # Indonesian, for failed


@dataclass
class Parsed:
    """What one webhook body holds for our phone number."""

    messages: list[Incoming]
    statuses: list[Status]


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def parse_webhook(payload: dict[str, Any], phone_number_id: str = "") -> Parsed:
    """Patron messages (oldest first) and status reports in one webhook body.

    Changes for another phone number than ``phone_number_id`` (when given) are skipped.
    Anything of an unexpected shape is skipped and logged, never raised.
    """
    out = Parsed(messages=[], statuses=[])
    if payload.get("object") != "whatsapp_business_account":
        log.info("ignoring WhatsApp webhook for object %r", payload.get("object"))
        return out
    found: list[tuple[int, Incoming]] = []
    for entry in _dicts(payload.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field") not in (None, "messages") or not isinstance(value, dict):
                log.info("ignoring WhatsApp webhook field %r", change.get("field"))
                continue
            number = str((value.get("metadata") or {}).get("phone_number_id") or "") if isinstance(
                value.get("metadata"), dict
            ) else ""
            if phone_number_id and number and number != phone_number_id:
                log.info("ignoring WhatsApp change for another phone number id %s", number)
                continue
            for error in _dicts(value.get("errors")):
                log.warning("WhatsApp reported error %s: %s", error.get("code"), error.get("title"))
            contacts = [c for c in _dicts(value.get("contacts")) if isinstance(c.get("profile") or {}, dict)]
            names: dict[str, str] = {}
            for c in contacts:
                name = str((c.get("profile") or {}).get("name") or "")
                for key in ("wa_id", "user_id"):
                    if c.get(key):
                        names[str(c[key])] = name
            only_user = str(contacts[0].get("user_id") or "") if len(contacts) == 1 else ""
            for message in _dicts(value.get("messages")):
                item = _parse_message(message, names, only_user)
                if item is not None:
                    found.append((int(item.timestamp.timestamp()) if item.timestamp else 0, item))
            for status in _dicts(value.get("statuses")):
                parsed = _parse_status(status)
                if parsed is not None:
                    out.statuses.append(parsed)
    found.sort(key=lambda pair: pair[0])  # stable: same-second messages keep delivery order
    out.messages = [item for _, item in found]
    return out


def is_bsuid(external_id: str) -> bool:
    """True for a business-scoped user id (``ID.1234…``, ``US.ENT.1234…``), False for a phone number."""
    return not external_id.isdigit() and "." in external_id


def _parse_message(message: dict[str, Any], names: dict[str, str], only_user: str = "") -> Incoming | None:
    # A patron who adopted a WhatsApp username may come without a phone number: then the
    # business-scoped user id (BSUID) is the conversation (and the send recipient).
    sender = str(message.get("from") or message.get("from_user_id") or only_user or "")
    wamid = str(message.get("id") or "")
    kind = str(message.get("type") or "")
    if not sender or not wamid:
        log.info("ignoring WhatsApp message without sender or id")
        return None
    base: dict[str, Any] = {
        "channel": NAME,
        "conversation_id": sender,
        "patron_id": sender,
        "patron_name": names.get(sender) or None,
        "platform_message_id": wamid,
        "timestamp": _ts(message.get("timestamp")),
    }
    if kind == "text":
        body = message.get("text")
        text = str(body.get("body") or "").strip() if isinstance(body, dict) else ""
        if not text:
            log.info("ignoring empty WhatsApp text %s", wamid)
            return None
        return Incoming(text=text, **base)
    if kind == "interactive":
        interactive = message.get("interactive")
        if isinstance(interactive, dict):
            reply = interactive.get(str(interactive.get("type") or ""))
            if interactive.get("type") in ("button_reply", "list_reply") and isinstance(reply, dict) and reply.get("id"):
                payload = str(reply["id"])
                return Incoming(text=str(reply.get("title") or payload), payload=payload, **base)
        kind = "unsupported"
    if kind == "button":  # a quick-reply button of a template message
        button = message.get("button")
        if isinstance(button, dict) and (button.get("payload") or button.get("text")):
            payload = str(button.get("payload") or button.get("text"))
            return Incoming(text=str(button.get("text") or payload), payload=payload, **base)
        kind = "unsupported"
    if kind in IGNORED:
        log.debug("ignoring WhatsApp %s %s", kind, wamid)
        return None
    if kind == "audio" and isinstance(message.get("audio"), dict) and message["audio"].get("voice"):
        kind = "voice"
    detail = message.get(kind) if isinstance(message.get(kind), dict) else {}
    attachment: dict[str, Any] = {"type": kind or "unknown"}
    for key in ("id", "mime_type"):
        if isinstance(detail, dict) and detail.get(key):
            attachment[key] = str(detail[key])
    caption = str(detail.get("caption") or "").strip() if isinstance(detail, dict) else ""
    return Incoming(
        text=caption, attachments=(attachment,), attachment=ATTACHMENT_KINDS.get(kind, "other"), **base
    )


def _parse_status(status: dict[str, Any]) -> Status | None:
    wamid = str(status.get("id") or "")
    state = str(status.get("status") or "")
    if not wamid or not state:
        return None
    reason = None
    if state == "failed":
        errors = _dicts(status.get("errors"))
        first = errors[0] if errors else {}
        details = first.get("error_data", {}).get("details") if isinstance(first.get("error_data"), dict) else None
        reason, _ = error_reason(first.get("code"), str(first.get("title") or first.get("message") or details or ""))
    return Status(wamid=wamid, status=state, recipient=str(status.get("recipient_id") or ""), reason=reason)


def _address(external_id: str) -> dict[str, str]:
    """``to`` for a phone number, ``recipient`` for a business-scoped user id."""
    return {"recipient": external_id} if is_bsuid(external_id) else {"to": external_id}


def template_message(
    name: str, parameters: list[str] | tuple[str, ...] = (), *, language: str | None = None, text: str = ""
) -> Outgoing:
    """An outbox message that goes out as the approved template ``name`` with body ``parameters``.

    Template messages may be sent outside the 24-hour window (reminders, announcements);
    ``text`` is what the transcript shows. ``language`` defaults to WHATSAPP_TEMPLATE_LANGUAGE.
    """
    return Outgoing(
        text=text or " ".join(parameters),
        custom={TEMPLATE_KEY: {"name": name, "language": language, "parameters": list(parameters)}},
    )


def template_body(name: str, language: str, parameters: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """The Cloud API ``template`` message object (body parameters as text)."""
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if parameters:
        template["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": clean_parameter(p)} for p in parameters]}
        ]
    return {"type": "template", "template": template}


def clean_parameter(text: str) -> str:
    """A template text parameter: no newlines or tabs, no runs of spaces (the Cloud API refuses them)."""
    return _SPACES.sub(" ", text).strip() or "-"


class WhatsAppChannel(Channel):
    """The library's WhatsApp number: parse webhooks, send through the Cloud API messages endpoint."""

    name = NAME
    has_window = True
    uses_templates = True
    has_receipts = True

    def __init__(
        self,
        *,
        http: aiohttp.ClientSession,
        base_url: str,
        token: str,
        phone_number_id: str,
        staff_template: str = "",
        language: str = "id",
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.phone_number_id = phone_number_id
        self.staff_template = staff_template
        self.language = language
        self.pacer = Pacer(interval=0.0, rate=70.0)  # Cloud API default throughput: 80 messages/s per number

    def parse(self, payload: dict[str, Any]) -> list[Incoming]:
        """The patron messages in ``payload`` for this phone number."""
        return parse_webhook(payload, self.phone_number_id).messages

    def template_problem(self) -> str | None:
        """Indonesian reason when no staff-reply template is configured."""
        if self.staff_template:
            return None
        return (
            "template balasan pustakawan belum diatur (PUSTAKABOT_WHATSAPP_TEMPLATE_STAFF_REPLY); "
            "tunggu pemustaka menulis lagi."
        )

    def is_template(self, message: Outgoing) -> bool:
        """True for messages made with :func:`template_message`."""
        return bool(message.custom and TEMPLATE_KEY in message.custom)

    async def _post(self, body: dict[str, Any], *, template: str | None = None) -> str:
        """POST one message; returns its ``wamid``."""
        try:
            async with self.http.post(
                f"{self.base_url}/{self.phone_number_id}/messages",
                headers={"Authorization": f"Bearer {self.token}"},
                json={"messaging_product": "whatsapp", **body},
                timeout=aiohttp.ClientTimeout(total=self.send_timeout),
            ) as response:
                try:
                    data = await response.json(content_type=None)
                except ValueError:
                    data = {}
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise DeliveryError(f"Gangguan jaringan ke WhatsApp ({type(exc).__name__}).") from exc
        data = data if isinstance(data, dict) else {}
        if status < 300:
            messages = _dicts(data.get("messages"))
            return str(messages[0].get("id") or "") if messages else ""
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        code = error.get("code")
        if status == 429 and code not in RATE_LIMIT_CODES:
            code = 130429  # throttled whatever the body says
        if status >= 500 and code is None:
            code = 2
        reason, permanent = error_reason(code, str(error.get("message") or f"HTTP {status}"), template=template)
        log.info("WhatsApp refused a message: code %s (HTTP %s)", code, status)
        raise DeliveryError(reason, permanent=permanent)

    async def send_template(
        self, to: str, name: str, parameters: list[str] | tuple[str, ...] = (), *, language: str | None = None
    ) -> str:
        """Send the approved template ``name`` to ``to`` now (no outbox); returns its ``wamid``.

        For reminders and announcements that need their own retry policy; prefer queueing
        :func:`template_message` through the outbox, which retries and records the status.

        Raises:
            DeliveryError: the Cloud API refused (see ``permanent``).
        """
        await self.pacer.wait(to)
        body = {"recipient_type": "individual", **_address(to), **template_body(name, language or self.language, parameters)}
        return await self._post(body, template=name)

    def _parts(self, message: Outgoing, tag: str | None) -> tuple[list[dict[str, Any]], str | None]:
        custom = (message.custom or {}).get(TEMPLATE_KEY)
        if isinstance(custom, dict) and custom.get("name"):
            name = str(custom["name"])
            language = str(custom.get("language") or self.language)
            return [template_body(name, language, [str(p) for p in custom.get("parameters") or []])], name
        if tag == TEMPLATE_TAG:
            if not self.staff_template:
                raise DeliveryError(self.template_problem() or "", permanent=True)
            text = "\n".join([message.text.strip(), *link_lines(message)]).strip() or "-"
            chunks = split_text(clean_parameter(text), TEMPLATE_PARAM_LIMIT)
            return [template_body(self.staff_template, self.language, [c]) for c in chunks], self.staff_template
        return render_whatsapp(message), None

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
        """Send each part (or the template); returns the ``wamid`` of each part sent now."""
        parts, template = self._parts(message, tag)
        ids: list[str] = []
        for i, part in enumerate(parts):
            if i < skip:
                continue
            await self.pacer.wait(external_id)
            if before is not None:
                await before(i)
            wamid = await self._post({"recipient_type": "individual", **_address(external_id), **part}, template=template)
            if wamid:
                ids.append(wamid)
            if progress is not None and i + 1 < len(parts):
                await progress(i + 1, list(ids))
        return ids


async def verify(request: web.Request) -> web.StreamResponse:
    """``GET /webhooks/whatsapp``: the subscription check."""
    from bot.keys import settings_key

    settings = request.app[settings_key]
    expected = (settings.whatsapp_verify_token.get_secret_value() or settings.meta_verify_token.get_secret_value())
    mode = request.query.get("hub.mode", "")
    token = request.query.get("hub.verify_token", "")
    challenge = request.query.get("hub.challenge", "")
    if mode == "subscribe" and expected and hmac.compare_digest(token.encode(), expected.encode()):
        return web.Response(text=challenge, content_type="text/plain")
    log.warning("WhatsApp webhook verification refused (mode %r) from %s", mode, request.remote)
    return web.Response(status=403)


async def receive(request: web.Request) -> web.StreamResponse:
    """``POST /webhooks/whatsapp``: verify the signature, persist messages and statuses, acknowledge."""
    from bot import receipts
    from bot.keys import handoff_key, inbox_key, outbox_key, settings_key

    settings = request.app[settings_key]
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return web.Response(status=413)
    secret = settings.whatsapp_app_secret.get_secret_value() or settings.meta_app_secret.get_secret_value()
    if not signature_ok(raw, request.headers.get(SIGNATURE_HEADER, ""), [secret]):
        log.warning("WhatsApp webhook with a missing or wrong X-Hub-Signature-256 from %s", request.remote)
        return web.Response(status=403)
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        parsed = parse_webhook(data, settings.whatsapp_phone_number_id)
    except Exception as exc:  # noqa: BLE001 - signed but not the documented shape: a retry cannot help
        log.warning("skipping a signed WhatsApp webhook body that cannot be read (%s: %s)", type(exc).__name__, exc)
        return web.Response(text="OK")
    await request.app[inbox_key].accept(parsed.messages)  # raises → 500 → WhatsApp retries
    if parsed.statuses:
        outbox = request.app[outbox_key]

        async def apply(session: AsyncSession) -> set[int]:
            failed: set[int] = set()
            for s in parsed.statuses:
                outbox_id = await receipts.apply_status(session, NAME, s.wamid, s.status, s.reason)
                if outbox_id is not None and s.status == "failed":
                    failed.add(outbox_id)
            if not failed:
                return set()
            rows = await session.scalars(select(OutboxItem.conversation_id).where(OutboxItem.id.in_(failed)))
            return set(rows)

        conversations = await outbox.writer.run(apply)
        for s in parsed.statuses:
            if s.status == "failed":
                log.warning("WhatsApp could not deliver %s: %s", s.wamid, s.reason)
        if handoff_key in request.app:
            for conversation_id in sorted(conversations):  # the console shows "gagal" at once
                await request.app[handoff_key].notify({"type": "message", "conversation_id": conversation_id, "author": "delivery"})
    return web.Response(text="OK")


def setup(app: web.Application) -> None:
    """Register ``/webhooks/whatsapp`` (GET verification, POST events)."""
    app.router.add_get(PATH, verify)
    app.router.add_post(PATH, receive)


def channel(settings: Settings, http: aiohttp.ClientSession) -> WhatsAppChannel:
    """The WhatsApp channel for ``settings`` (call only when ``settings.whatsapp_configured``)."""
    return WhatsAppChannel(
        http=http,
        base_url=settings.whatsapp_api_base_url or settings.graph_api_base_url,
        token=settings.whatsapp_token.get_secret_value(),
        phone_number_id=settings.whatsapp_phone_number_id,
        staff_template=settings.whatsapp_template_staff_reply,
        language=settings.whatsapp_template_language,
    )
