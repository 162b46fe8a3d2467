"""Telegram connector on python-telegram-bot 22: webhook inside the gateway, or polling.

Webhook mode: ``POST /webhooks/telegram``; the ``X-Telegram-Bot-Api-Secret-Token`` header is
compared in constant time (403 otherwise, as PTB's own webhook server does). The update is
parsed, persisted in the inbox (deduplicated by ``update_id``) and only then acknowledged.
The PTB ``Application`` is built without an updater; only its ``Bot`` is used, so 429s arrive
as PTB's own ``RetryAfter``. Polling mode (a developer without a public URL) uses PTB's updater
and feeds each update to the same inbox through a ``TypeHandler``.

Deliberate choices (documented in docs/telegram.md):

- ``/start`` and ``/help`` greet and list what the bot can do (Rasa's ``greet`` intent);
- only private chats are answered; group, supergroup and channel messages are logged and
  dropped (a library bot answering in a group would spam it);
- ``edited_message``/``edited_channel_post`` are dropped: the original was already answered,
  and Telegram also sends edits for changes the bot does not use;
- callback queries (inline buttons) are always answered with ``answerCallbackQuery`` and then
  handled as the button's payload; non-text messages (stickers, photos without caption, voice,
  locations…) reach the inbox with ``Incoming.attachment`` set and get the gateway's text-only
  reply (``bot/events.py``).
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.channel_models import TelegramCallback
from bot.channels.base import Before, Channel, DeliveryError, Pacer, Progress
from bot.messages import Incoming, Outgoing
from bot.render import CALLBACK_PREFIX, TelegramPart, escape_html, render_telegram
from bot.sanitize import scrub
from bot.settings import Settings

log = logging.getLogger(__name__)

NAME = "telegram"
PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
MAX_BODY = 1024 * 1024
GREET_COMMANDS = {"start", "help", "mulai", "bantuan"}


#: Message fields of non-text content, and the kind recorded for each (``Incoming.attachment``)
ATTACHMENTS = {
    "photo": "photo", "sticker": "sticker", "voice": "voice", "audio": "audio", "video": "video",
    "video_note": "video", "animation": "video", "document": "file", "location": "location",
    "venue": "location", "contact": "contact", "poll": "poll", "dice": "sticker", "story": "story",
}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _full_name(user: dict[str, Any]) -> str | None:
    name = " ".join(p for p in (_str(user.get("first_name")), _str(user.get("last_name"))) if p).strip()
    return name or _str(user.get("username")) or None


def _id(value: Any) -> str:
    return str(value) if isinstance(value, int | str) and not isinstance(value, bool) and str(value) else ""


def parse_update(payload: dict[str, Any]) -> list[Incoming]:
    """The patron message in one Update (0 or 1 items), read from the JSON itself.

    Lenient on purpose: Telegram (and older Bot API versions, and other libraries' recorded
    updates) send shapes python-telegram-bot 22 refuses as a whole (a photo without
    ``file_unique_id``, a sticker without ``type``, a contact without ``first_name``); reading
    only the fields the bot needs keeps the caption or text. Wrongly typed fields (a number
    where text belongs) are treated as absent. Every skip is logged with its reason.
    """
    payload = scrub(payload)
    uid = str(payload.get("update_id"))
    query = payload.get("callback_query")
    if isinstance(query, dict):
        message = _dict(query.get("message"))
        chat = _dict(message.get("chat"))
        if chat and chat.get("type") != ChatType.PRIVATE:
            log.info("ignoring callback query from a %s chat (update %s)", chat.get("type"), uid)
            return []
        data = _str(query.get("data"))
        user = _dict(query.get("from"))
        conversation = _id(chat.get("id")) or _id(user.get("id"))
        if not data or not conversation:
            log.info("ignoring callback query without usable data or chat (update %s)", uid)
            return []
        title = data
        keyboard = _dict(message.get("reply_markup")).get("inline_keyboard")
        for row in keyboard if isinstance(keyboard, list) else []:
            for button in row if isinstance(row, list) else []:
                if isinstance(button, dict) and button.get("callback_data") == data and _str(button.get("text")):
                    title = button["text"]
        return [
            Incoming(
                channel=NAME, conversation_id=conversation, text=title,
                patron_id=_id(user.get("id")) or conversation, patron_name=_full_name(user),
                payload=data, platform_message_id=uid,
            )
        ]
    for kind in ("edited_message", "edited_channel_post"):
        if kind in payload:
            log.info("ignoring %s (update %s): the original was answered", kind, uid)
            return []
    for kind in ("channel_post", "business_message", "message_reaction", "message_reaction_count",
                 "my_chat_member", "chat_member", "poll_answer", "inline_query", "chosen_inline_result"):
        if kind in payload and "message" not in payload:
            log.info("ignoring %s (update %s): not a patron message", kind, uid)
            return []
    msg = payload.get("message")
    if not isinstance(msg, dict):
        log.info("ignoring update %s of another kind (%s)", uid, ",".join(k for k in payload if k != "update_id"))
        return []
    chat = _dict(msg.get("chat"))
    if chat.get("type") != ChatType.PRIVATE:
        log.info("ignoring message in a %s chat (update %s)", chat.get("type") or "unknown", uid)
        return []
    conversation = _id(chat.get("id"))
    if not conversation:
        log.info("ignoring message without a chat id (update %s)", uid)
        return []
    user = _dict(msg.get("from"))
    text = (_str(msg.get("text")) or _str(msg.get("caption"))).strip()
    attachment = next((ATTACHMENTS[k] for k in ATTACHMENTS if msg.get(k)), None)
    if not text and attachment is None:
        log.info("ignoring a message without text or content (update %s)", uid)
        return []
    payload_: str | None = None
    if text.startswith("/"):
        command = text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(text) > 1 else ""
        if command in GREET_COMMANDS:
            lang = _str(user.get("language_code"))
            payload_ = '/greet{"language":"en"}' if lang.startswith("en") else "/greet"
        else:  # "/jam_buka" → "jam buka": never let a typed command reach Rasa as an intent
            text = text[1:].replace("_", " ").strip() or text
    date = msg.get("date")
    when = (
        datetime.fromtimestamp(date, tz=UTC)
        if isinstance(date, int | float) and not isinstance(date, bool) and 0 <= date < 2**33
        else None
    )
    return [
        Incoming(
            channel=NAME, conversation_id=conversation, text=text,
            patron_id=_id(user.get("id")) or conversation, patron_name=_full_name(user),
            payload=payload_, platform_message_id=uid, timestamp=when, attachment=attachment,
        )
    ]


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


#: words of the Bot API's 400 descriptions when it could not use a photo's address
#: ("wrong file identifier/HTTP URL specified", "failed to get HTTP URL content",
#: "wrong type of the web page content", "IMAGE_PROCESS_FAILED", "PHOTO_INVALID_DIMENSIONS")
_PHOTO_PROBLEMS = ("http url", "file identifier", "web page content", "image_process", "photo_")


def _photo_problem(description: str) -> bool:
    text = description.lower()
    return any(word in text for word in _PHOTO_PROBLEMS)


class PhotoRefused(DeliveryError):
    """Telegram could not fetch or use a photo's address (the part can go as text instead)."""


class TelegramChannel(Channel):
    """The Telegram bot: parses updates, sends through PTB's ``Bot``."""

    name = NAME

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.mode = settings.telegram_mode
        builder = (
            Application.builder()
            .token(settings.telegram_token.get_secret_value())
            .base_url(settings.telegram_api_base_url)
            .connection_pool_size(64)
        )
        if self.mode != "polling":
            builder = builder.updater(None)
        self.application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.pacer = Pacer(interval=settings.telegram_chat_interval, rate=settings.telegram_rate)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._accept: Any = None

    @property
    def bot(self) -> Bot:
        """PTB's bot (the Bot API client)."""
        return self.application.bot

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self, accept: Any) -> None:
        """Initialise the bot (``getMe``); in polling mode also start polling.

        Args:
            accept: ``async accept(update_dict) -> None`` persisting one update (polling mode).
        """
        self._accept = accept
        await self.application.initialize()
        if self.mode == "polling":
            self.application.add_handler(TypeHandler(Update, self._on_polled_update))
            await self.application.start()
            assert self.application.updater is not None
            await self.application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
            log.info("Telegram polling started as @%s", self.bot.username)
        else:
            if not self.settings.telegram_webhook_secret.get_secret_value():
                log.warning("PUSTAKABOT_TELEGRAM_WEBHOOK_SECRET is empty: every webhook call gets 403")
            log.info("Telegram webhook ready at %s as @%s", PATH, self.bot.username)

    async def stop(self) -> None:
        """Stop polling (if any) and shut the bot down."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.mode == "polling" and self.application.running:
            assert self.application.updater is not None
            if self.application.updater.running:
                await self.application.updater.stop()
            await self.application.stop()
        await self.application.shutdown()

    async def _on_polled_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await self._accept(update.to_dict())
        except Exception:  # noqa: BLE001 - polling has no retry: log loudly
            log.exception("could not persist polled Telegram update %s", update.update_id)

    def spawn(self, coro: Any) -> None:
        """Run ``coro`` in the background, tracked so shutdown can cancel it."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- inbound ---------------------------------------------------------------------------

    def parse(self, payload: dict[str, Any]) -> list[Incoming]:
        """The patron message in one Update (0 or 1 items); see :func:`parse_update`."""
        return parse_update(payload)

    async def resolve(self, items: list[Incoming]) -> list[Incoming]:
        """Replace short callback keys (``cb:...``) by the long payloads they stand for."""
        out = []
        for item in items:
            if item.payload and item.payload.startswith(CALLBACK_PREFIX):
                async with self.sessions() as session:
                    row = await session.get(TelegramCallback, item.payload)
                if row is not None:
                    title = row.payload if item.text == item.payload else item.text
                    item = replace(item, payload=row.payload, text=title)
            out.append(item)
        return out

    async def answer_callback(self, query_id: str) -> None:
        """Stop the button's progress spinner (``answerCallbackQuery``), best effort."""
        try:
            await self.bot.answer_callback_query(query_id)
        except TelegramError as exc:
            log.info("answerCallbackQuery failed: %s", exc)

    # --- outbound --------------------------------------------------------------------------

    async def _remember(self, long_payloads: dict[str, str]) -> None:
        if not long_payloads:
            return
        async with self.sessions.begin() as session:
            existing = set(
                await session.scalars(select(TelegramCallback.key).where(TelegramCallback.key.in_(list(long_payloads))))
            )
            for key, payload in long_payloads.items():
                if key not in existing:
                    session.add(TelegramCallback(key=key, payload=payload))

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
        """Send ``message`` as HTML ``sendMessage`` calls (paced), buttons as an inline keyboard
        (choices and URL buttons), an image as ``sendPhoto`` carrying the keyboard.

        Returns the ``message_id`` of each part sent by this call. Each call is bounded by
        :attr:`send_timeout` (then a retryable :class:`DeliveryError`).
        """
        rendering = render_telegram(message)
        await self._remember(rendering.long_payloads)
        chat_id: int | str = int(external_id) if external_id.lstrip("-").isdigit() else external_id
        parts = rendering.parts
        ids: list[str] = []
        for i, part in enumerate(parts):
            if i < skip:
                continue
            await self.pacer.wait(external_id)
            if before is not None:
                await before(i)
            sent = await self._send_part(chat_id, part, again=functools.partial(before, i) if before else None)
            await self.pacer.sent(external_id)
            ids.append(str(sent.message_id))
            if progress is not None and i + 1 < len(parts):  # the last part is recorded with 'sent'
                await progress(i + 1, list(ids))
        return ids

    async def _send_part(
        self, chat_id: int | str, part: TelegramPart, *, again: Callable[[], Awaitable[None]] | None
    ) -> Message:
        """One part; a photo Telegram cannot fetch (400) goes as text with its address instead
        (``again`` renews the outbox's "sending" mark before that second call)."""
        markup = part.reply_markup()
        keyboard = InlineKeyboardMarkup.de_json(markup, self.bot) if markup else None
        if part.photo is None:
            return await self._call(self.bot.send_message(
                chat_id=chat_id, text=part.text, parse_mode=ParseMode.HTML, reply_markup=keyboard
            ))
        try:
            return await self._call(self.bot.send_photo(
                chat_id=chat_id, photo=part.photo, caption=part.text or None, parse_mode=ParseMode.HTML,
                reply_markup=keyboard,
            ), photo=True)
        except PhotoRefused as exc:
            log.info("Telegram refused the photo %s (%s); sending its address as text", part.photo, exc.reason)
        if again is not None:
            await again()
        text = f"{part.text}\n{escape_html(part.photo)}" if part.text else escape_html(part.photo)
        return await self._call(self.bot.send_message(
            chat_id=chat_id, text=text, parse_mode=ParseMode.HTML, reply_markup=keyboard
        ))

    async def _call(self, request: Awaitable[Message], *, photo: bool = False) -> Message:
        """Await one Bot API call within :attr:`send_timeout`, its errors as :class:`DeliveryError`
        (:class:`PhotoRefused` when ``photo`` and Telegram could not use the photo)."""
        try:
            async with asyncio.timeout(self.send_timeout):
                return await request
        except TimeoutError as exc:
            raise DeliveryError(f"Telegram tidak menjawab dalam {self.send_timeout:g} detik.") from exc
        except RetryAfter as exc:
            raise DeliveryError("Telegram membatasi kecepatan (429).", retry_after=_seconds(exc.retry_after)) from exc
        except Forbidden as exc:
            raise DeliveryError(f"Pemustaka memblokir bot atau tidak bisa dihubungi ({exc.message}).", permanent=True,
                                blocked=True) from exc
        except ChatMigrated as exc:
            raise DeliveryError("Chat sudah pindah ke supergroup.", permanent=True) from exc
        except BadRequest as exc:
            if photo and _photo_problem(exc.message):
                raise PhotoRefused(f"Telegram menolak gambar ({exc.message}).", permanent=True) from exc
            raise DeliveryError(f"Telegram menolak pesan ({exc.message}).", permanent=True) from exc
        except InvalidToken as exc:
            raise DeliveryError("Token bot Telegram tidak valid.") from exc
        except NetworkError as exc:  # includes TimedOut and 5xx
            raise DeliveryError(f"Gangguan jaringan ke Telegram ({exc.message}).") from exc
        except TelegramError as exc:
            raise DeliveryError(f"Telegram error ({exc.message}).") from exc

    async def typing(self, external_id: str) -> None:
        """``sendChatAction(typing)``, best effort."""
        try:
            await self.bot.send_chat_action(chat_id=int(external_id), action=ChatAction.TYPING)
        except (TelegramError, ValueError) as exc:
            log.debug("sendChatAction failed: %s", exc)


async def webhook(request: web.Request) -> web.StreamResponse:
    """``POST /webhooks/telegram``: verify, persist, acknowledge."""
    from bot.keys import inbox_key, settings_key, telegram_key

    secret = request.app[settings_key].telegram_webhook_secret.get_secret_value()
    given = request.headers.get(SECRET_HEADER, "")
    if not secret or not hmac.compare_digest(given.encode("utf-8"), secret.encode("utf-8")):
        log.warning("Telegram webhook call with a missing or wrong secret token from %s", request.remote)
        return web.Response(status=403)
    if request.content_type != "application/json":
        return web.Response(status=403)
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return web.Response(status=413)
    try:
        data = json.loads(raw)
    except ValueError:
        return web.Response(status=400)
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int) or isinstance(
        data.get("update_id"), bool
    ):
        log.warning("ignoring a Telegram webhook body that is not an Update (no integer update_id)")
        return web.Response(status=200)  # signed: acknowledge, or Telegram retries it for hours
    channel = request.app[telegram_key]
    try:
        items = channel.parse(data)
    except Exception:  # noqa: BLE001 - a signed update is acknowledged, never retried for hours
        log.warning("unparseable Telegram update %s dropped", data.get("update_id"), exc_info=True)
        return web.Response(status=200)
    items = await channel.resolve(items)
    await request.app[inbox_key].accept(items)  # raises → 500 → Telegram retries
    query = data.get("callback_query")
    if isinstance(query, dict) and query.get("id"):
        channel.spawn(channel.answer_callback(str(query["id"])))
    return web.Response(status=200)


def setup(app: web.Application, settings: Settings) -> None:
    """Register the webhook route (webhook mode only)."""
    if settings.telegram_mode == "webhook":
        app.router.add_post(PATH, webhook)


# --- CLI helpers -------------------------------------------------------------------------


def _cli_bot(settings: Settings) -> Bot:
    return Bot(settings.telegram_token.get_secret_value(), base_url=settings.telegram_api_base_url)


async def set_webhook(settings: Settings, url: str | None = None, *, drop_pending: bool = False) -> str:
    """Register ``url`` (default ``PUBLIC_URL`` + /webhooks/telegram) with Telegram; returns it."""
    url = url or settings.public_url.rstrip("/") + PATH
    secret = settings.telegram_webhook_secret.get_secret_value()
    if not secret:
        raise ValueError("PUSTAKABOT_TELEGRAM_WEBHOOK_SECRET wajib diisi untuk mode webhook.")
    async with _cli_bot(settings) as bot:
        await bot.set_webhook(
            url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES, drop_pending_updates=drop_pending
        )
    return url


async def delete_webhook(settings: Settings, *, drop_pending: bool = False) -> None:
    """Remove the webhook (needed before polling)."""
    async with _cli_bot(settings) as bot:
        await bot.delete_webhook(drop_pending_updates=drop_pending)


async def webhook_info(settings: Settings) -> dict[str, Any]:
    """``getMe`` and ``getWebhookInfo`` as one dict."""
    async with _cli_bot(settings) as bot:
        info = await bot.get_webhook_info()
        return {
            "bot": f"@{bot.username}",
            "url": info.url,
            "pending_update_count": info.pending_update_count,
            "last_error_date": str(info.last_error_date) if info.last_error_date else None,
            "last_error_message": info.last_error_message,
            "max_connections": info.max_connections,
            "allowed_updates": list(info.allowed_updates or ()),
        }
