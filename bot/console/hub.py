"""Live updates for open consoles: one registry of websockets, Origin-checked, closed on shutdown.

Each socket is registered with its console session's token, so logging out closes that
session's sockets at once; the websocket view also re-checks its session periodically and
closes when the session ended elsewhere (expired, or the account disabled from the CLI).
With several replicas, :meth:`ConsoleHub.broadcast` also hands each event to ``relay``
(:class:`bot.replicas.relay.RedisRelay`), which delivers it on the other replicas through
:meth:`ConsoleHub.deliver`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSCloseCode, web

log = logging.getLogger(__name__)


class ConsoleHub:
    """The open console websockets; events are small JSON hints ("refresh conversation 7")."""

    #: close code telling the page its session is over (4000-4999: application codes)
    SESSION_ENDED = 4401

    def __init__(self) -> None:
        self._sockets: set[web.WebSocketResponse] = set()
        self._tokens: dict[web.WebSocketResponse, str] = {}
        #: publishes events to the other replicas (set when Redis is configured)
        self.relay: Callable[[dict[str, Any]], Awaitable[None]] | None = None

    def __len__(self) -> int:
        return len(self._sockets)

    def add(self, ws: web.WebSocketResponse, token: str = "") -> None:
        """Register an open socket of the console session ``token``."""
        self._sockets.add(ws)
        self._tokens[ws] = token

    def discard(self, ws: web.WebSocketResponse) -> None:
        """Forget a socket (closed or failed)."""
        self._sockets.discard(ws)
        self._tokens.pop(ws, None)

    async def close_session(self, token: str) -> int:
        """Close every socket of the session ``token`` (logout); returns how many."""
        sockets = [ws for ws, t in self._tokens.items() if t and t == token]
        for ws in sockets:
            self.discard(ws)
        await asyncio.gather(
            *(ws.close(code=self.SESSION_ENDED, message=b"session ended") for ws in sockets),
            return_exceptions=True,
        )
        return len(sockets)

    async def broadcast(self, event: dict[str, Any]) -> None:
        """Send ``event`` to every open console of every replica; never raises."""
        await self.deliver(event)
        if self.relay is not None:
            await self.relay(event)

    async def deliver(self, event: dict[str, Any]) -> None:
        """Send ``event`` to this replica's open consoles; a failing socket is dropped, never raised."""
        for ws in list(self._sockets):
            if ws.closed:
                self.discard(ws)
                continue
            try:
                await ws.send_json(event)
            except (ConnectionError, RuntimeError) as exc:
                log.debug("dropping console socket: %s", exc)
                self.discard(ws)

    async def close_all(self) -> None:
        """Close every socket (gateway shutdown)."""
        sockets, self._sockets = list(self._sockets), set()
        self._tokens.clear()
        await asyncio.gather(
            *(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for ws in sockets),
            return_exceptions=True,
        )
