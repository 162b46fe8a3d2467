"""Live updates for open consoles: one registry of websockets, Origin-checked, closed on shutdown."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import WSCloseCode, web

log = logging.getLogger(__name__)


class ConsoleHub:
    """The open console websockets; events are small JSON hints ("refresh conversation 7")."""

    def __init__(self) -> None:
        self._sockets: set[web.WebSocketResponse] = set()

    def __len__(self) -> int:
        return len(self._sockets)

    def add(self, ws: web.WebSocketResponse) -> None:
        """Register an open socket."""
        self._sockets.add(ws)

    def discard(self, ws: web.WebSocketResponse) -> None:
        """Forget a socket (closed or failed)."""
        self._sockets.discard(ws)

    async def broadcast(self, event: dict[str, Any]) -> None:
        """Send ``event`` to every open console; a failing socket is dropped, never raised."""
        for ws in list(self._sockets):
            if ws.closed:
                self._sockets.discard(ws)
                continue
            try:
                await ws.send_json(event)
            except (ConnectionError, RuntimeError) as exc:
                log.debug("dropping console socket: %s", exc)
                self._sockets.discard(ws)

    async def close_all(self) -> None:
        """Close every socket (gateway shutdown)."""
        sockets, self._sockets = list(self._sockets), set()
        await asyncio.gather(
            *(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for ws in sockets),
            return_exceptions=True,
        )
