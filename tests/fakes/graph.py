"""A local fake of Meta's Graph API Send API (Messenger and Instagram), in the real wire format.

``async with FakeGraph() as fake:`` serves ``POST /v25.0/<node>/messages`` on 127.0.0.1 (free
port); ``fake.base_url`` ends with the version (``http://127.0.0.1:<port>/v25.0``). Bodies are
JSON ``{"recipient": {"id": ...}, "messaging_type": ..., "message": {...}}`` or a
``sender_action``; success answers ``{"recipient_id": ..., "message_id": "m_..."}``, errors
``{"error": {"message", "type": "OAuthException", "code", "error_subcode", "fbtrace_id"}}``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.server import LocalServer

RATE_LIMIT = 613
APP_RATE_LIMIT = 4
WINDOW = 10
WINDOW_SUBCODE = 2018278
USER_UNAVAILABLE = 551

_MESSAGES = {
    RATE_LIMIT: "Calls to this api have exceeded the rate limit.",
    APP_RATE_LIMIT: "Application request limit reached",
    WINDOW: "This message is sent outside of allowed window.",
    USER_UNAVAILABLE: "This person isn't available right now.",
    190: "Error validating access token: Session has expired.",
    2: "An unexpected error has occurred. Please retry your request later.",
}


@dataclass
class _Failure:
    code: int
    subcode: int | None
    status: int
    message: str | None


class FakeGraph:
    """Send API fake: records messages and sender actions, can fail on demand.

    Attributes:
        sent: every accepted message body (those with ``message``), with ``access_token`` and
            ``node`` (the path's page/account id, usually ``me``) added.
        actions: every accepted ``sender_action`` body.
        calls: every request body, failed ones included.
    """

    def __init__(self, version: str = "v25.0") -> None:
        self.version = version
        self.sent: list[dict[str, Any]] = []
        self.actions: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self._failures: deque[_Failure] = deque()
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._server = LocalServer()

    @property
    def base_url(self) -> str:
        """Value for ``graph_api_base_url`` (includes the API version)."""
        return f"http://127.0.0.1:{self._server.port}/{self.version}"

    def fail_next(
        self,
        code: int = RATE_LIMIT,
        subcode: int | None = None,
        *,
        status: int | None = None,
        message: str | None = None,
    ) -> None:
        """Make the next message send fail with a Graph error (queue several by calling again).

        Args:
            code: Graph error code: 613 or 4 (rate limit), 10 (with subcode 2018278: outside
                the messaging window), 551 (person unavailable), 190 (token), 2 (server).
            subcode: ``error_subcode``.
            status: HTTP status; 400 by default, 500 for code 2.
            message: override of the error message.
        """
        self._failures.append(_Failure(code, subcode, status or (500 if code == 2 else 400), message))

    async def wait_for_sent(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until at least ``n`` messages were accepted, then return them all.

        Raises:
            TimeoutError: fewer than ``n`` arrived in time.
        """
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: len(self.sent) >= n), timeout)
            except asyncio.TimeoutError:
                raise TimeoutError(f"only {len(self.sent)} of {n} messages sent after {timeout}s") from None
        return list(self.sent)

    async def __aenter__(self) -> FakeGraph:
        app = web.Application()
        app.router.add_post(f"/{self.version}/{{node}}/messages", self._messages)
        await self._server.start(app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("access_token") or request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            body = await request.json()
        except ValueError:
            return self._error(100, None, 400, "Invalid JSON body")
        if not token:
            return self._error(190, None, 400, "An active access token must be used.")
        body = {**body, "access_token": token, "node": request.match_info["node"]}
        self.calls.append(body)
        recipient = (body.get("recipient") or {}).get("id")
        if not recipient:
            return self._error(100, 2018001, 400, "No matching user found")
        if "sender_action" in body:
            self.actions.append(body)
            return web.json_response({"recipient_id": recipient})
        if self._failures:
            f = self._failures.popleft()
            return self._error(f.code, f.subcode, f.status, f.message)
        async with self._changed:
            self.sent.append(body)
            self._changed.notify_all()
        return web.json_response({"recipient_id": recipient, "message_id": f"m_fake{next(self._ids)}"})

    def _error(self, code: int, subcode: int | None, status: int, message: str | None) -> web.Response:
        error: dict[str, Any] = {
            "message": message or _MESSAGES.get(code, "Invalid parameter"),
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": "AbCdEfGhIjK",
        }
        if subcode is not None:
            error["error_subcode"] = subcode
        return web.json_response({"error": error}, status=status)
