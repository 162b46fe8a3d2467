"""The web chat's server-issued identity (signed conversation ids) and its rate limits."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass

from bot.replicas.limits import Window
from bot.replicas.wiring import Replicas
from bot.settings import Settings

SENDER_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")
KEY_FILE = "secret.key"


def signing_key(settings: Settings) -> bytes:
    """``SECRET_KEY``, or a random key generated once into ``DATA_DIR/secret.key`` (mode 600)."""
    configured = settings.secret_key.get_secret_value()
    if configured:
        return configured.encode("utf-8")
    path = settings.data_dir / KEY_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48).encode("ascii")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


class ChatIdentity:
    """Issues and checks the signed conversation ids of the web chat cookie."""

    def __init__(self, key: bytes, api_keys: list[str]) -> None:
        self._key = key
        self._api_keys = [k.encode("utf-8") for k in api_keys]

    def _sign(self, conversation_id: str) -> str:
        digest = hmac.new(self._key, b"webchat:" + conversation_id.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode("ascii")

    def issue(self) -> tuple[str, str]:
        """A new conversation id and its cookie value."""
        conversation_id = "w" + secrets.token_urlsafe(16)
        return conversation_id, f"{conversation_id}.{self._sign(conversation_id)}"

    def verify(self, cookie: str | None) -> str | None:
        """The conversation id in ``cookie`` when its signature is ours, else None."""
        if not cookie or "." not in cookie or len(cookie) > 200:
            return None
        conversation_id, _, signature = cookie.rpartition(".")
        if not SENDER_ID.match(conversation_id):
            return None
        if hmac.compare_digest(self._sign(conversation_id).encode("ascii"), signature.encode("utf-8", "replace")):
            return conversation_id
        return None

    def api_key_ok(self, authorization: str) -> bool:
        """True when ``authorization`` is ``Bearer KEY`` with a configured key."""
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return False
        token = given.strip().encode("utf-8", "replace")
        ok = False
        for key in self._api_keys:
            ok |= hmac.compare_digest(key, token)
        return ok


@dataclass
class ChatLimits:
    """The web chat's rate limits (per minute) and the cap on new handoffs (per hour)."""

    per_address: Window
    per_conversation: Window
    handoffs_per_address: Window

    @classmethod
    def from_settings(cls, settings: Settings, replicas: Replicas | None = None) -> ChatLimits:
        """The limits configured in ``settings`` (shared through Redis when ``replicas`` has it)."""
        replicas = replicas or Replicas()
        return cls(
            per_address=replicas.window("chat-address", settings.chat_rate_per_address, 60.0),
            per_conversation=replicas.window("chat-conversation", settings.chat_rate_per_conversation, 60.0),
            handoffs_per_address=replicas.window("handoffs-address", settings.chat_handoffs_per_address, 3600.0),
        )
