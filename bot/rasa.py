"""Client of Rasa's REST channel (``POST /webhooks/rest/webhook``)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

from bot.messages import Button, Outgoing

log = logging.getLogger(__name__)


class RasaUnavailable(Exception):
    """Rasa did not answer (down, timed out, or answered with an error)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_rasa_messages(data: list[dict[str, Any]]) -> list[Outgoing]:
    """Turn Rasa's REST channel output into neutral outgoing messages."""
    out = []
    for item in data:
        buttons = tuple(
            Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
            for b in item.get("buttons") or []
        )
        custom = item.get("custom")
        out.append(
            Outgoing(
                text=str(item.get("text") or ""),
                buttons=buttons,
                image=item.get("image"),
                custom=custom if isinstance(custom, dict) else None,
            )
        )
    return out


class RasaClient:
    """Sends patron messages to Rasa and returns its answers."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, *, timeout: float) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(self, sender_id: str, text: str, *, metadata: dict[str, Any] | None = None) -> list[Outgoing]:
        """Messages Rasa answers to ``text`` from ``sender_id``.

        Raises:
            RasaUnavailable: when Rasa cannot be reached or fails.
        """
        body: dict[str, Any] = {"sender": sender_id, "message": text}
        if metadata:
            body["metadata"] = metadata
        try:
            async with self.session.post(
                f"{self.base_url}/webhooks/rest/webhook", json=body, timeout=self.timeout
            ) as response:
                if response.status != 200:
                    raise RasaUnavailable(f"HTTP {response.status}")
                data = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise RasaUnavailable(type(exc).__name__) from exc
        if not isinstance(data, list):
            raise RasaUnavailable("unexpected body")
        return parse_rasa_messages(data)

    async def ready(self) -> bool:
        """True when Rasa's REST channel answers (Rasa serves only once its model is loaded)."""
        try:
            async with self.session.get(
                f"{self.base_url}/webhooks/rest/", timeout=aiohttp.ClientTimeout(total=3)
            ) as response:
                return response.status == 200
        except (TimeoutError, aiohttp.ClientError):
            return False
