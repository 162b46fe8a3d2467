"""Client of Rasa's HTTP API (``POST /model/parse``): the NLU's reading of a patron's message.

Rasa runs NLU-only (``rasa run --enable-api --auth-token ...``, bound to 127.0.0.1 by
``pustakabot run``); the token travels as the ``token`` query parameter, as Rasa documents it,
and is never logged (the gateway's access log and this module print paths only).
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

from actions.understanding import Parse

log = logging.getLogger(__name__)


class NluUnavailable(Exception):
    """The NLU did not answer (down, still loading its model, timed out, or an error)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NluClient:
    """Asks the Rasa NLU server how it reads a message."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, *, token: str, timeout: float) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self._params = {"token": token} if token else {}
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def parse(self, text: str) -> Parse:
        """Intent ranking and entities of ``text``.

        Raises:
            NluUnavailable: when Rasa cannot be reached or fails.
        """
        try:
            async with self.session.post(
                f"{self.base_url}/model/parse", json={"text": text}, params=self._params, timeout=self.timeout
            ) as response:
                if response.status != 200:
                    raise NluUnavailable(f"HTTP {response.status}")
                data: Any = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise NluUnavailable(type(exc).__name__) from exc
        if not isinstance(data, dict):
            raise NluUnavailable("unexpected body")
        return Parse.from_rasa(data)

    async def ready(self) -> bool:
        """True when Rasa answers with a loaded model (``GET /status`` needs the token)."""
        try:
            async with self.session.get(
                f"{self.base_url}/status", params=self._params, timeout=aiohttp.ClientTimeout(total=3)
            ) as response:
                if response.status != 200:
                    return False
                data = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError):
            return False
        return isinstance(data, dict) and bool(data.get("model_file"))
