"""A local fake of the Telegram Bot API, speaking its wire format, for the real PTB client.

``async with FakeTelegram(token="123:ABC") as fake:`` serves ``POST /bot<token>/<method>`` on
127.0.0.1 (free port). Point python-telegram-bot at it with ``base_url=fake.base_url``.
Requests arrive as PTB sends them (form-encoded, non-string values JSON-encoded) or as JSON;
answers use the Bot API envelope ``{"ok": true, "result": ...}`` and, for errors,
``{"ok": false, "error_code": ..., "description": ..., "parameters": {"retry_after": ...}}``.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.server import LocalServer

# Parameters that PTB sends as plain strings (never JSON-decode these).
_STRING_PARAMS = {
    "text", "parse_mode", "url", "secret_token", "callback_query_id", "action", "caption",
    "callback_data", "ip_address", "photo",
}
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_BYTES = 64

_ERROR_TEXT = {
    400: "Bad Request: chat not found",
    403: "Forbidden: bot was blocked by the user",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    description: str | None


class FakeTelegram:
    """An aiohttp server answering getMe, sendMessage, answerCallbackQuery, webhooks and more.

    Attributes:
        sent: params of every successful ``sendMessage`` (chat_id, text, parse_mode, reply_markup)
            and ``sendPhoto`` (chat_id, photo, caption, parse_mode, reply_markup).
        calls: every call as ``(method, params)``, failed ones included.
        webhook: the current webhook settings (``setWebhook`` params), or ``{}``.
        held: params of the ``sendMessage`` calls waiting while :meth:`hold` is on.
    """

    def __init__(self, token: str = "123:ABC", *, bot_id: int = 7000111222, username: str = "pustaka_test_bot") -> None:
        self.token = token
        self.bot_id = bot_id
        self.username = username
        self.sent: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.webhook: dict[str, Any] = {}
        self.sent_at: list[float] = []
        self.sent_ids: list[int] = []  # the message_id answered for each of ``sent``
        self._failures: dict[str, deque[_Failure]] = {}
        self._updates: list[dict[str, Any]] = []
        self._message_ids = itertools.count(1000)
        self.held: list[dict[str, Any]] = []
        self._hold: asyncio.Future[bool] | None = None
        self._changed = asyncio.Condition()
        self._server = LocalServer()

    @property
    def base_url(self) -> str:
        """The value for PTB's ``base_url`` (the token is appended by PTB)."""
        return f"http://127.0.0.1:{self._server.port}/bot"

    def fail_next(
        self, method: str, status: int = 429, retry_after: int | None = 1, *, description: str | None = None
    ) -> None:
        """Make the next call of ``method`` fail with ``status`` (queue several by calling again).

        Args:
            method: Bot API method name, e.g. ``"sendMessage"``.
            status: HTTP status and ``error_code`` (429 flood, 403 blocked, 400, 5xx...).
            retry_after: ``parameters.retry_after`` seconds (only sent for 429).
            description: override of the error description.
        """
        self._failures.setdefault(method, deque()).append(_Failure(status, retry_after, description))

    async def wait_for_sent(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until at least ``n`` messages were sent, then return them all.

        Raises:
            TimeoutError: fewer than ``n`` arrived in time.
        """
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: len(self.sent) >= n), timeout)
            except asyncio.TimeoutError:
                raise TimeoutError(f"only {len(self.sent)} of {n} messages sent after {timeout}s") from None
        return list(self.sent)

    def hold(self) -> None:
        """Keep every following ``sendMessage`` request waiting (unanswered) until :meth:`release`.

        The request has reached the fake but nothing is sent yet: what a gateway killed in that
        moment leaves behind is a send that never happened (``release(deliver=False)``) or one
        the platform accepted without the gateway hearing of it (``release(deliver=True)``).
        """
        if self._hold is None or self._hold.done():
            self._hold = asyncio.get_running_loop().create_future()

    def release(self, *, deliver: bool = True) -> None:
        """Let the held requests go on: sent (``deliver``), or answered 500 and not sent.

        After ``deliver=False`` every later ``sendMessage`` is refused the same way until
        :meth:`resume` (requests a killed gateway had already written may still arrive).
        """
        if self._hold is None:
            return
        if not self._hold.done():
            self._hold.set_result(deliver)
        if deliver:
            self._hold = None

    def resume(self) -> None:
        """Answer ``sendMessage`` normally again."""
        self.release(deliver=True)
        self._hold = None

    async def wait_for_held(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until at least ``n`` ``sendMessage`` requests are held.

        Raises:
            TimeoutError: fewer than ``n`` were held in time.
        """
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: len(self.held) >= n), timeout)
            except asyncio.TimeoutError:
                raise TimeoutError(f"only {len(self.held)} of {n} requests held after {timeout}s") from None
        return list(self.held)

    def queue_update(self, update: dict[str, Any]) -> None:
        """Make ``update`` available to ``getUpdates`` (polling mode)."""
        self._updates.append(update)

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        """Params of every call of ``method``."""
        return [params for name, params in self.calls if name == method]

    async def __aenter__(self) -> FakeTelegram:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        await self._server.start(app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            data = await request.json()
            return dict(data) if isinstance(data, dict) else {}
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if not isinstance(value, str):
                continue
            if key in _STRING_PARAMS:
                params[key] = value
                continue
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        return params

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append((method, params))
        queue = self._failures.get(method)
        if queue:
            failure = queue.popleft()
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure.status,
                "description": failure.description
                or _ERROR_TEXT.get(failure.status, "Error").format(retry_after=failure.retry_after),
            }
            if failure.status == 429 and failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return web.json_response(body, status=failure.status)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"}, status=404
            )
        result = await handler(params)
        if isinstance(result, web.StreamResponse):
            return result
        return web.json_response({"ok": True, "result": result})

    def _me(self) -> dict[str, Any]:
        return {
            "id": self.bot_id, "is_bot": True, "first_name": "Pustaka Test", "username": self.username,
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False,
        }

    async def _m_getMe(self, params: dict[str, Any]) -> Any:  # noqa: N802
        return self._me()

    async def _m_sendMessage(self, params: dict[str, Any]) -> Any:  # noqa: N802
        text = params.get("text")
        if not isinstance(text, str) or not _visible(text, params).strip():
            return _bad_request("message text is empty")
        if _length(text, params) > TEXT_LIMIT:
            return _bad_request("message is too long")
        return await self._deliver(params)

    async def _m_sendPhoto(self, params: dict[str, Any]) -> Any:  # noqa: N802
        photo = params.get("photo")
        if not isinstance(photo, str) or not photo:
            return _bad_request("there is no photo in the request")
        caption = params.get("caption")
        if isinstance(caption, str) and _length(caption, params) > CAPTION_LIMIT:
            return _bad_request("message caption is too long")
        return await self._deliver(params)

    async def _deliver(self, params: dict[str, Any]) -> Any:
        problem = _keyboard_problem(params.get("reply_markup"))
        if problem:
            return _bad_request(problem)
        if self._hold is not None:
            hold = self._hold
            async with self._changed:
                self.held.append(params)
                self._changed.notify_all()
            if not await hold:
                return web.json_response(
                    {"ok": False, "error_code": 500, "description": "Internal Server Error"}, status=500
                )
        chat_id = params.get("chat_id")
        message = {
            "message_id": next(self._message_ids),
            "from": self._me(),
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
        }
        if "photo" in params:
            message["photo"] = [{"file_id": "AgAC" + str(message["message_id"]), "file_unique_id": "AQAD",
                                 "width": 800, "height": 600}]
            if params.get("caption"):
                message["caption"] = params["caption"]
        else:
            message["text"] = params.get("text", "")
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        async with self._changed:
            self.sent.append(params)
            self.sent_at.append(time.monotonic())
            self.sent_ids.append(message["message_id"])
            self._changed.notify_all()
        return message

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:  # noqa: N802
        return True

    async def _m_sendChatAction(self, params: dict[str, Any]) -> Any:  # noqa: N802
        return True

    async def _m_setWebhook(self, params: dict[str, Any]) -> Any:  # noqa: N802
        self.webhook = dict(params)
        if not params.get("url"):
            self.webhook = {}
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> Any:  # noqa: N802
        self.webhook = {}
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> Any:  # noqa: N802
        info: dict[str, Any] = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }
        if self.webhook:
            info["max_connections"] = self.webhook.get("max_connections", 40)
            if "allowed_updates" in self.webhook:
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    async def _m_getUpdates(self, params: dict[str, Any]) -> Any:  # noqa: N802
        if self.webhook:
            return web.json_response(
                {"ok": False, "error_code": 409, "description": "Conflict: can't use getUpdates method while webhook is active"},
                status=409,
            )
        offset = int(params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates:
            await asyncio.sleep(min(float(params.get("timeout", 0) or 0), 0.2))
        return list(self._updates)

    async def _m_close(self, params: dict[str, Any]) -> Any:
        return True


def _visible(text: str, params: dict[str, Any]) -> str:
    """The text after entity parsing (HTML parse mode: tags dropped, entities decoded)."""
    if str(params.get("parse_mode") or "").upper() == "HTML":
        return html.unescape(re.sub(r"<[^>]*>", "", text))
    return text


def _length(text: str, params: dict[str, Any]) -> int:
    """Telegram's length of ``text``: UTF-16 code units after entity parsing."""
    return len(_visible(text, params).encode("utf-16-le")) // 2


def _bad_request(problem: str) -> web.Response:
    return web.json_response({"ok": False, "error_code": 400, "description": f"Bad Request: {problem}"}, status=400)


def _keyboard_problem(markup: Any) -> str | None:
    """What the Bot API refuses in an ``inline_keyboard`` (so rendering bugs show up), or None."""
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return None
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        return "field \"inline_keyboard\" of the InlineKeyboardMarkup should be an Array of Arrays"
    for button in (b for row in rows for b in row):
        if not isinstance(button, dict) or not str(button.get("text") or "").strip():
            return "BUTTON_TEXT_INVALID"
        actions = [key for key in ("url", "callback_data", "web_app", "login_url", "switch_inline_query", "pay")
                   if key in button]
        if len(actions) != 1:
            return "can't parse inline keyboard button: exactly one of the optional fields must be used"
        url = button.get("url")
        if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://", "tg://"))
                                or any(c.isspace() for c in url)):
            return "BUTTON_URL_INVALID"
        data = button.get("callback_data")
        if data is not None and not 0 < len(str(data).encode("utf-8")) <= CALLBACK_DATA_BYTES:
            return "BUTTON_DATA_INVALID"
    return None
