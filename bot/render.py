"""Per-platform rendering of :class:`~bot.messages.Outgoing`: escaping, buttons, and splitting.

Pure functions, no I/O. Limits (see /work/shared/reference/channels.md):

- Telegram: 4096 characters of text after entity parsing (counted here in UTF-16 units, as
  Telegram does); inline keyboards whose ``callback_data`` is 1-64 bytes; HTML parse mode with
  ``<``, ``>`` and ``&`` escaped (MarkdownV2 escaping is available too).
- Messenger: 2000 characters of text; at most 13 quick replies, titles at most 20 characters,
  payloads at most 1000 characters.
- Instagram: 1000 UTF-8 *bytes* of text; quick replies as on Messenger.
- WhatsApp (Cloud API): 4096 characters of text body; interactive reply buttons at most 3
  (titles at most 20 characters, ids at most 256) with a body of at most 1024 characters;
  interactive lists at most 10 rows (titles 24, descriptions 72, ids 200 characters; the list
  button label 20). See docs/whatsapp.en.md for the sources.

Long texts are split on paragraph, line and sentence boundaries, then between words, and only
as a last resort inside a word.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.messages import Button, Incoming, Outgoing

TELEGRAM_TEXT_LIMIT = 4096
TELEGRAM_CALLBACK_LIMIT = 64
MESSENGER_TEXT_LIMIT = 2000
INSTAGRAM_TEXT_BYTES = 1000
QUICK_REPLY_MAX = 13
QUICK_REPLY_TITLE = 20
QUICK_REPLY_PAYLOAD = 1000
CALLBACK_PREFIX = "cb:"
WHATSAPP_TEXT_LIMIT = 4096
WHATSAPP_BUTTON_BODY = 1024
WHATSAPP_BUTTONS_MAX = 3
WHATSAPP_BUTTON_TITLE = 20
WHATSAPP_BUTTON_ID = 256
WHATSAPP_LIST_ROWS = 10
WHATSAPP_ROW_TITLE = 24
WHATSAPP_ROW_DESCRIPTION = 72
WHATSAPP_ROW_ID = 200
WHATSAPP_LIST_BUTTON = "Pilih"
WHATSAPP_MORE_CHOICES = "Pilihan lainnya:"

_MARKDOWN_V2_SPECIAL = re.compile(r"([_*\[\]()~`>#+\-=|{}.!\\])")
_BOUNDARY = re.compile(r"\n\s*|(?<=[.!?…])\s+")

Measure = Callable[[str], int]


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (how Telegram counts characters)."""
    return len(text.encode("utf-16-le")) // 2


def utf8_len(text: str) -> int:
    """Length in UTF-8 bytes (how Instagram counts its 1000-byte limit)."""
    return len(text.encode("utf-8"))


def _cut(text: str, limit: int, size: Measure) -> tuple[str, str]:
    """Split ``text`` into a head of at most ``limit`` (by ``size``) and the rest, between words if possible."""
    lo, hi = 1, len(text)
    while lo < hi:  # largest prefix length whose size fits
        mid = (lo + hi + 1) // 2
        if size(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    head = text[:lo]
    space = head.rfind(" ")
    if space > lo // 2:
        head = head[:space]
    return head.rstrip(), text[len(head):].lstrip()


def split_text(text: str, limit: int, *, size: Measure = len) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` (measured by ``size``).

    Chunks end at paragraph/line breaks or sentence ends (``.``, ``!``, ``?``, ``…`` followed by
    whitespace) where possible; a single sentence longer than ``limit`` is split between words.
    Joining the chunks with whitespace gives back the text (whitespace at cuts is dropped).
    """
    text = text.strip()
    if not text:
        return []
    if size(text) <= limit:
        return [text]
    pieces: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        pieces.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if size(current + piece.rstrip()) <= limit:
            current += piece
            continue
        if current.strip():
            chunks.append(current.rstrip())
        current = ""
        piece = piece.strip()
        while size(piece) > limit:
            head, piece = _cut(piece, limit, size)
            chunks.append(head)
        current = piece + " " if piece else ""
    if current.strip():
        chunks.append(current.rstrip())
    return chunks


def escape_markdown_v2(text: str) -> str:
    """Escape ``text`` for Telegram's MarkdownV2 (the 18 special characters and ``\\``)."""
    return _MARKDOWN_V2_SPECIAL.sub(r"\\\1", text)


def escape_html(text: str) -> str:
    """Escape ``text`` for Telegram's HTML parse mode (only ``<``, ``>``, ``&``)."""
    return html.escape(text, quote=False)


def callback_key(payload: str) -> str:
    """The short ``callback_data`` standing for a payload longer than 64 bytes."""
    return CALLBACK_PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def callback_data(payload: str) -> str:
    """``payload`` itself if it fits Telegram's 64-byte ``callback_data``, else its short key."""
    if 0 < utf8_len(payload) <= TELEGRAM_CALLBACK_LIMIT and not payload.startswith(CALLBACK_PREFIX):
        return payload
    return callback_key(payload)


def _text_with_links(message: Outgoing) -> str:
    lines = [message.text.strip()] if message.text.strip() else []
    lines += [link for link in message.links if link]
    return "\n".join(lines)


@dataclass(frozen=True)
class TelegramPart:
    """One ``sendMessage`` call: HTML text and an optional inline keyboard."""

    text: str
    keyboard: tuple[tuple[tuple[str, str], ...], ...] = ()  # rows of (title, callback_data)

    def reply_markup(self) -> dict[str, Any] | None:
        """The Bot API ``reply_markup`` object, or None."""
        if not self.keyboard:
            return None
        return {
            "inline_keyboard": [
                [{"text": title, "callback_data": data} for title, data in row] for row in self.keyboard
            ]
        }


@dataclass
class TelegramRendering:
    """The ``sendMessage`` calls of one message and the long payloads to remember."""

    parts: list[TelegramPart]
    long_payloads: dict[str, str] = field(default_factory=dict)  # callback key -> payload


def render_telegram(message: Outgoing) -> TelegramRendering:
    """Render ``message`` for Telegram: HTML-escaped chunks; buttons on the last chunk."""
    raw = _text_with_links(message)
    if message.image:
        raw = f"{raw}\n{message.image}" if raw else message.image
    chunks = split_text(raw, TELEGRAM_TEXT_LIMIT, size=utf16_len) or ([""] if message.buttons else [])
    long_payloads: dict[str, str] = {}
    rows: list[tuple[tuple[str, str], ...]] = []
    for button in message.buttons:
        data = callback_data(button.payload)
        if data != button.payload:
            long_payloads[data] = button.payload
        rows.append(((button.title[:64] or "…", data),))
    parts = []
    for i, chunk in enumerate(chunks):
        # Telegram rejects an empty text: a keyboard alone gets a neutral prompt.
        text = escape_html(chunk) if chunk else "Silakan pilih:"
        parts.append(TelegramPart(text=text, keyboard=tuple(rows) if i == len(chunks) - 1 else ()))
    return TelegramRendering(parts=parts, long_payloads=long_payloads)


def _title(title: str) -> str:
    title = title.strip() or "…"
    return title if len(title) <= QUICK_REPLY_TITLE else title[: QUICK_REPLY_TITLE - 1] + "…"


def quick_replies(buttons: tuple[Button, ...]) -> list[dict[str, Any]]:
    """Messenger/Instagram quick replies (at most 13; titles cut to 20 characters)."""
    return [
        {"content_type": "text", "title": _title(b.title), "payload": b.payload[:QUICK_REPLY_PAYLOAD]}
        for b in buttons[:QUICK_REPLY_MAX]
    ]


def render_meta(message: Outgoing, *, channel: str) -> list[dict[str, Any]]:
    """The Send API ``message`` objects for ``message`` on ``messenger`` or ``instagram``.

    Text chunks come first (2000 characters on Messenger, 1000 UTF-8 bytes on Instagram), then
    an image attachment; quick replies ride on the last message.
    """
    if channel == "instagram":
        chunks = split_text(_text_with_links(message), INSTAGRAM_TEXT_BYTES, size=utf8_len)
    else:
        chunks = split_text(_text_with_links(message), MESSENGER_TEXT_LIMIT)
    parts: list[dict[str, Any]] = [{"text": chunk} for chunk in chunks]
    if message.image:
        parts.append({"attachment": {"type": "image", "payload": {"url": message.image, "is_reusable": True}}})
    if message.buttons:
        if not parts:
            parts.append({"text": "Silakan pilih:"})
        parts[-1]["quick_replies"] = quick_replies(message.buttons)
    return parts


def _cut_title(title: str, limit: int) -> str:
    title = " ".join(title.split()) or "…"
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def _reply_id(button: Button, limit: int) -> str:
    """The button's payload as a WhatsApp reply id; a payload too long falls back to its title."""
    payload = button.payload.strip()
    return payload if 0 < len(payload) <= limit else _cut_title(button.title, limit)


def _whatsapp_buttons(body: str, buttons: tuple[Button, ...]) -> dict[str, Any]:
    return {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": body},
            "action": {
                "buttons": [
                    {
                        "type": "reply",
                        "reply": {"id": _reply_id(b, WHATSAPP_BUTTON_ID), "title": _cut_title(b.title, WHATSAPP_BUTTON_TITLE)},
                    }
                    for b in buttons
                ]
            },
        },
    }


def _whatsapp_list(body: str, buttons: tuple[Button, ...]) -> dict[str, Any]:
    rows = []
    for b in buttons:
        row: dict[str, Any] = {"id": _reply_id(b, WHATSAPP_ROW_ID), "title": _cut_title(b.title, WHATSAPP_ROW_TITLE)}
        full = " ".join(b.title.split())
        if len(full) > WHATSAPP_ROW_TITLE:  # the whole title stays readable in the description
            row["description"] = _cut_title(full, WHATSAPP_ROW_DESCRIPTION)
        rows.append(row)
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": body},
            "action": {"button": WHATSAPP_LIST_BUTTON, "sections": [{"title": _cut_title("Pilihan", WHATSAPP_ROW_TITLE), "rows": rows}]},
        },
    }


def _unique(buttons: tuple[Button, ...]) -> tuple[Button, ...]:
    seen: set[str] = set()
    out = []
    for b in buttons:
        key = _reply_id(b, WHATSAPP_ROW_ID)
        if key not in seen:
            seen.add(key)
            out.append(b)
    return tuple(out)


def render_whatsapp(message: Outgoing) -> list[dict[str, Any]]:
    """The Cloud API message objects for ``message`` (without ``messaging_product`` and ``to``).

    Text chunks (4096 characters, split on sentence boundaries) come first, then an image;
    choices ride on the last text: up to 3 short ones as reply buttons (body at most 1024
    characters, so a longer last chunk is split again), more as an interactive list of at most
    10 rows (further lists follow for more than 10 choices).
    """
    text = _text_with_links(message)
    chunks = split_text(text, WHATSAPP_TEXT_LIMIT)
    buttons = _unique(message.buttons)
    use_buttons = 0 < len(buttons) <= WHATSAPP_BUTTONS_MAX and all(
        len(" ".join(b.title.split())) <= WHATSAPP_BUTTON_TITLE for b in buttons
    )
    body = ""
    if buttons:
        last = chunks.pop() if chunks else ""
        if use_buttons and len(last) > WHATSAPP_BUTTON_BODY:
            pieces = split_text(last, WHATSAPP_BUTTON_BODY)
            chunks += pieces[:-1]
            last = pieces[-1]
        body = last or "Silakan pilih:"
    parts: list[dict[str, Any]] = [
        {"type": "text", "text": {"preview_url": bool(message.links), "body": chunk}} for chunk in chunks
    ]
    if message.image:
        parts.append({"type": "image", "image": {"link": message.image}})
    if use_buttons:
        parts.append(_whatsapp_buttons(body, buttons))
    elif buttons:
        for start in range(0, len(buttons), WHATSAPP_LIST_ROWS):
            group = buttons[start : start + WHATSAPP_LIST_ROWS]
            parts.append(_whatsapp_list(body if start == 0 else WHATSAPP_MORE_CHOICES, group))
    return parts


# --- (de)serialisation of the neutral model for the inbox/outbox tables ---


def outgoing_to_json(message: Outgoing) -> dict[str, Any]:
    """JSON-safe form of ``message`` (for the outbox table)."""
    return {
        "text": message.text,
        "buttons": [{"title": b.title, "payload": b.payload} for b in message.buttons],
        "image": message.image,
        "links": list(message.links),
        "custom": message.custom,
    }


def outgoing_from_json(data: dict[str, Any]) -> Outgoing:
    """Inverse of :func:`outgoing_to_json`."""
    return Outgoing(
        text=str(data.get("text") or ""),
        buttons=tuple(Button(title=str(b["title"]), payload=str(b["payload"])) for b in data.get("buttons") or []),
        image=data.get("image"),
        links=tuple(data.get("links") or ()),
        custom=data.get("custom"),
    )


def incoming_to_json(msg: Incoming) -> dict[str, Any]:
    """JSON-safe form of ``msg`` (for the inbox table)."""
    return {
        "channel": msg.channel,
        "conversation_id": msg.conversation_id,
        "text": msg.text,
        "patron_id": msg.patron_id,
        "patron_name": msg.patron_name,
        "payload": msg.payload,
        "attachments": list(msg.attachments),
        "platform_message_id": msg.platform_message_id,
        "timestamp": msg.timestamp.isoformat() if msg.timestamp else None,
        "attachment": msg.attachment,
        "kind": msg.kind,
    }


def incoming_from_json(data: dict[str, Any]) -> Incoming:
    """Inverse of :func:`incoming_to_json`."""
    ts = data.get("timestamp")
    return Incoming(
        channel=data["channel"],
        conversation_id=data["conversation_id"],
        text=data.get("text") or "",
        patron_id=data.get("patron_id") or "",
        patron_name=data.get("patron_name"),
        payload=data.get("payload"),
        attachments=tuple(data.get("attachments") or ()),
        platform_message_id=data.get("platform_message_id"),
        timestamp=datetime.fromisoformat(ts) if ts else None,
        attachment=data.get("attachment"),
        kind=data.get("kind") or "message",
    )
