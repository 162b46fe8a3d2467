"""Per-platform rendering of :class:`~bot.messages.Outgoing`: escaping, buttons, and splitting.

Pure functions, no I/O. Limits (see /work/shared/reference/channels.md):

- Telegram: 4096 characters of text after entity parsing (counted here in UTF-16 units, as
  Telegram does), photo captions 0-1024; inline keyboards whose ``callback_data`` is 1-64
  bytes, or URL buttons (``url``); HTML parse mode with ``<``, ``>`` and ``&`` escaped
  (MarkdownV2 escaping is available too).
- Messenger: 2000 characters of text; at most 13 quick replies, titles at most 20 characters,
  payloads at most 1000 characters; the button template has 640 characters of text and 1-3
  buttons (``web_url`` titles at most 20 characters).
- Instagram: 1000 UTF-8 *bytes* of text; quick replies and the button template as on
  Messenger (see docs/pengumuman.md for the source).
- WhatsApp (Cloud API): 4096 characters of text body; interactive reply buttons at most 3
  (titles at most 20 characters, ids at most 256) with a body of at most 1024 characters;
  interactive lists at most 10 rows (titles 24, descriptions 72, ids 200 characters; the list
  button label 20); a ``cta_url`` message has one URL button (``display_text`` at most 20
  characters), a body of at most 1024 characters and an optional image header. See
  docs/whatsapp.en.md for the sources.

Link buttons (:class:`~bot.messages.LinkButton`) are each platform's URL button; a title over
the platform's limit is shortened with "…" (:func:`shorten`).

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

from bot.messages import DEFAULT_LINK_TITLE, Button, Incoming, LinkButton, Outgoing

TELEGRAM_TEXT_LIMIT = 4096
TELEGRAM_CALLBACK_LIMIT = 64
TELEGRAM_CAPTION_LIMIT = 1024
#: Telegram documents no limit for a button's text (its apps truncate long ones); cut at 64 like the choices
TELEGRAM_BUTTON_TITLE = 64
META_TEMPLATE_TEXT = 640
META_TEMPLATE_BUTTONS = 3
META_BUTTON_TITLE = 20
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
#: the text above a link button when the message's own text went before it (or there is none)
LINK_PROMPT = "Silakan buka tautan berikut:"
LINK_MORE = "Tautan lainnya:"

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


def shorten(title: str, limit: int) -> str:
    """``title`` on one line in at most ``limit`` characters: cut between words where that keeps
    at least half of it, always ending with "…" when cut (a link button's label)."""
    title = " ".join(title.split()) or "…"
    if len(title) <= limit:
        return title
    head = title[: limit - 1]
    space = head.rfind(" ")
    if space >= limit // 2:
        head = head[:space]
    return head.rstrip(" ,.;:-\u2013\u2014") + "…"


def link_lines(message: Outgoing) -> list[str]:
    """The links as text lines ("judul: alamat"), where no button can carry them."""
    return [f"{link.label}: {link.url}" for link in message.link_buttons]


@dataclass(frozen=True)
class TelegramButton:
    """One inline keyboard button: a choice (``callback_data``) or a link (``url``)."""

    text: str
    callback_data: str | None = None
    url: str | None = None

    def as_dict(self) -> dict[str, str]:
        """The Bot API ``InlineKeyboardButton`` object."""
        if self.url is not None:
            return {"text": self.text, "url": self.url}
        return {"text": self.text, "callback_data": self.callback_data or ""}


@dataclass(frozen=True)
class TelegramPart:
    """One ``sendMessage`` call (or ``sendPhoto`` with ``photo``: ``text`` is then its caption)
    with HTML text and an optional inline keyboard."""

    text: str
    keyboard: tuple[tuple[TelegramButton, ...], ...] = ()  # rows of buttons
    photo: str | None = None

    def reply_markup(self) -> dict[str, Any] | None:
        """The Bot API ``reply_markup`` object, or None."""
        if not self.keyboard:
            return None
        return {"inline_keyboard": [[button.as_dict() for button in row] for row in self.keyboard]}


@dataclass
class TelegramRendering:
    """The ``sendMessage`` calls of one message and the long payloads to remember."""

    parts: list[TelegramPart]
    long_payloads: dict[str, str] = field(default_factory=dict)  # callback key -> payload


def _telegram_keyboard(message: Outgoing) -> tuple[list[tuple[TelegramButton, ...]], dict[str, str]]:
    """One row per choice (callback), then one per link (URL button), and the long payloads."""
    long_payloads: dict[str, str] = {}
    rows: list[tuple[TelegramButton, ...]] = []
    for button in message.buttons:
        data = callback_data(button.payload)
        if data != button.payload:
            long_payloads[data] = button.payload
        rows.append((TelegramButton(text=button.title[:TELEGRAM_BUTTON_TITLE] or "…", callback_data=data),))
    for link in message.link_buttons:
        rows.append((TelegramButton(text=shorten(link.label, TELEGRAM_BUTTON_TITLE), url=link.url),))
    return rows, long_payloads


def render_telegram(message: Outgoing) -> TelegramRendering:
    """Render ``message`` for Telegram: HTML-escaped chunks; the keyboard (choices, then link
    buttons) on the last one. An image is a ``sendPhoto`` part at the end carrying the keyboard,
    with the text as its caption when the whole text fits Telegram's 1024 characters."""
    rows, long_payloads = _telegram_keyboard(message)
    keyboard = tuple(rows)
    chunks = split_text(message.text, TELEGRAM_TEXT_LIMIT, size=utf16_len)
    if message.image:
        caption = chunks.pop() if len(chunks) == 1 and utf16_len(chunks[0]) <= TELEGRAM_CAPTION_LIMIT else ""
        parts = [TelegramPart(text=escape_html(chunk)) for chunk in chunks]
        parts.append(TelegramPart(text=escape_html(caption), keyboard=keyboard, photo=message.image))
        return TelegramRendering(parts=parts, long_payloads=long_payloads)
    if not chunks and keyboard:
        # Telegram rejects an empty text: a keyboard alone gets a neutral prompt.
        chunks = ["Silakan pilih:" if message.buttons else LINK_PROMPT]
    parts = [
        TelegramPart(text=escape_html(chunk), keyboard=keyboard if i == len(chunks) - 1 else ())
        for i, chunk in enumerate(chunks)
    ]
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


def meta_button_template(text: str, links: tuple[LinkButton, ...]) -> dict[str, Any]:
    """A Send API button template: ``text`` above 1-3 URL buttons (titles at most 20 characters)."""
    return {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "button",
                "text": text,
                "buttons": [
                    {"type": "web_url", "url": link.url, "title": shorten(link.label, META_BUTTON_TITLE)}
                    for link in links
                ],
            },
        }
    }


def _fits_template(text: str, channel: str) -> bool:
    if len(text) > META_TEMPLATE_TEXT:
        return False
    return channel != "instagram" or utf8_len(text) <= INSTAGRAM_TEXT_BYTES


def render_meta(message: Outgoing, *, channel: str) -> list[dict[str, Any]]:
    """The Send API ``message`` objects for ``message`` on ``messenger`` or ``instagram``.

    Text chunks come first (2000 characters on Messenger, 1000 UTF-8 bytes on Instagram), then
    an image attachment. Link buttons go as a button template last: with the whole text when it
    fits the template's 640 characters (the text chunks are then left out), else with a short
    prompt after the text; more than 3 links take further templates. Quick replies ride on the
    last message.
    """
    text = message.text.strip()
    links = message.link_buttons
    body = LINK_PROMPT
    if links and text and _fits_template(text, channel):
        body, chunks = text, []
    elif channel == "instagram":
        chunks = split_text(text, INSTAGRAM_TEXT_BYTES, size=utf8_len)
    else:
        chunks = split_text(text, MESSENGER_TEXT_LIMIT)
    parts: list[dict[str, Any]] = [{"text": chunk} for chunk in chunks]
    if message.image:
        parts.append({"attachment": {"type": "image", "payload": {"url": message.image, "is_reusable": True}}})
    for start in range(0, len(links), META_TEMPLATE_BUTTONS):
        group = links[start : start + META_TEMPLATE_BUTTONS]
        parts.append(meta_button_template(body if start == 0 else LINK_MORE, group))
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


def whatsapp_cta_url(body: str, link: LinkButton, image: str | None = None) -> dict[str, Any]:
    """An interactive call-to-action URL message: ``body`` (at most 1024 characters) above one
    button opening ``link`` (label at most 20 characters), with ``image`` as its header."""
    interactive: dict[str, Any] = {
        "type": "cta_url",
        "body": {"text": body},
        "action": {
            "name": "cta_url",
            "parameters": {"display_text": shorten(link.label, WHATSAPP_BUTTON_TITLE), "url": link.url},
        },
    }
    if image:
        interactive = {"type": "cta_url", "header": {"type": "image", "image": {"link": image}}, **interactive}
    return {"type": "interactive", "interactive": interactive}


def _unique(buttons: tuple[Button, ...]) -> tuple[Button, ...]:
    seen: set[str] = set()
    out = []
    for b in buttons:
        key = _reply_id(b, WHATSAPP_ROW_ID)
        if key not in seen:
            seen.add(key)
            out.append(b)
    return tuple(out)


def _short_buttons(buttons: tuple[Button, ...]) -> bool:
    """Whether ``buttons`` fit WhatsApp reply buttons (else they go as a list)."""
    return 0 < len(buttons) <= WHATSAPP_BUTTONS_MAX and all(
        len(" ".join(b.title.split())) <= WHATSAPP_BUTTON_TITLE for b in buttons
    )


def _whatsapp_choices(body: str, buttons: tuple[Button, ...]) -> list[dict[str, Any]]:
    """Reply buttons (up to 3 short ones) or interactive lists of at most 10 rows each."""
    if _short_buttons(buttons):
        return [_whatsapp_buttons(body, buttons)]
    return [
        _whatsapp_list(body if start == 0 else WHATSAPP_MORE_CHOICES, buttons[start : start + WHATSAPP_LIST_ROWS])
        for start in range(0, len(buttons), WHATSAPP_LIST_ROWS)
    ]


def _last_body(chunks: list[str], limit: int) -> str:
    """Take the last chunk off ``chunks`` as an interactive body of at most ``limit`` characters
    (a longer one is split again, its head staying in ``chunks``)."""
    last = chunks.pop() if chunks else ""
    if len(last) > limit:
        pieces = split_text(last, limit)
        chunks += pieces[:-1]
        last = pieces[-1]
    return last


def _text_parts(chunks: list[str]) -> list[dict[str, Any]]:
    return [{"type": "text", "text": {"preview_url": False, "body": chunk}} for chunk in chunks]


def render_whatsapp(message: Outgoing) -> list[dict[str, Any]]:
    """The Cloud API message objects for ``message`` (without ``messaging_product`` and ``to``).

    Text chunks (4096 characters, split on sentence boundaries) come first, then an image;
    choices ride on the last text: up to 3 short ones as reply buttons (body at most 1024
    characters, so a longer last chunk is split again), more as an interactive list of at most
    10 rows (further lists follow for more than 10 choices). Link buttons are ``cta_url``
    messages (one button each): the first carries the last text (at most 1024 characters) and
    the image as its header; choices then follow with a short prompt.
    """
    chunks = split_text(message.text, WHATSAPP_TEXT_LIMIT)
    buttons = _unique(message.buttons)
    if message.link_buttons:
        body = _last_body(chunks, WHATSAPP_BUTTON_BODY) or LINK_PROMPT
        parts = _text_parts(chunks)
        for i, link in enumerate(message.link_buttons):
            parts.append(whatsapp_cta_url(body if i == 0 else LINK_MORE, link, message.image if i == 0 else None))
        if buttons:
            parts += _whatsapp_choices("Silakan pilih:", buttons)
        return parts
    body = ""
    if buttons:
        body = _last_body(chunks, WHATSAPP_BUTTON_BODY if _short_buttons(buttons) else WHATSAPP_TEXT_LIMIT)
    parts = _text_parts(chunks)
    if message.image:
        parts.append({"type": "image", "image": {"link": message.image}})
    if buttons:
        parts += _whatsapp_choices(body or "Silakan pilih:", buttons)
    return parts


# --- (de)serialisation of the neutral model for the inbox/outbox tables ---


def outgoing_to_json(message: Outgoing) -> dict[str, Any]:
    """JSON-safe form of ``message`` (for the outbox table)."""
    return {
        "text": message.text,
        "buttons": [{"title": b.title, "payload": b.payload} for b in message.buttons],
        "image": message.image,
        "link_buttons": [{"title": link.title, "url": link.url} for link in message.link_buttons],
        "custom": message.custom,
    }


#: a link line of rows stored before link buttons: "🔗 judul: https://…" or the bare address
_LEGACY_LINK = re.compile(r"^(?:\U0001f517\s*)?(?:(?P<title>.+?):\s+)?(?P<url>https?://\S+)$")


def legacy_link(line: str) -> LinkButton | None:
    """The link button a stored text line stood for, or None when it is no such line."""
    match = _LEGACY_LINK.match(line.strip())
    if match is None:
        return None
    return LinkButton(title=(match["title"] or DEFAULT_LINK_TITLE).strip(), url=match["url"])


def _links_from_json(data: dict[str, Any]) -> tuple[tuple[LinkButton, ...], list[str]]:
    """Link buttons of a stored message, and the old text lines that were none."""
    links = [
        LinkButton(title=str(item.get("title") or ""), url=str(item["url"]))
        for item in data.get("link_buttons") or []
        if isinstance(item, dict) and item.get("url")
    ]
    lines: list[str] = []
    for item in data.get("links") or []:  # rows written before link buttons: text lines
        link = legacy_link(item) if isinstance(item, str) else None
        if link is not None:
            links.append(link)
        elif isinstance(item, str) and item.strip():
            lines.append(item.strip())
    return tuple(links), lines


def outgoing_from_json(data: dict[str, Any]) -> Outgoing:
    """Inverse of :func:`outgoing_to_json`; also reads rows stored with ``links`` text lines
    (they become link buttons, or stay text lines under the text when they hold no address)."""
    links, lines = _links_from_json(data)
    text = str(data.get("text") or "")
    if lines:
        text = "\n".join([text.strip(), *lines]) if text.strip() else "\n".join(lines)
    return Outgoing(
        text=text,
        buttons=tuple(Button(title=str(b["title"]), payload=str(b["payload"])) for b in data.get("buttons") or []),
        image=data.get("image"),
        link_buttons=links,
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
