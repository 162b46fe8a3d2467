"""What the handoff modules share: the console error, the outbox and notifier contracts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from bot.messages import Outgoing

WEB_CHANNEL = "web"
REASONS = ("patron_request", "not_understood", "complaint", "staff_takeover", "platform_inbox", "handover", "story")


class HandoffError(Exception):
    """A console action that cannot be done now; ``message`` is Indonesian, for the librarian."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class OutboxLike(Protocol):
    """The part of ``bot.outbox.Outbox`` the handoff uses."""

    async def enqueue(
        self, conversation_id: int, message: Outgoing, *, author: str = "bot", transcript_id: int | None = None
    ) -> int:
        """Queue ``message`` for delivery on the conversation's channel."""

    async def statuses(self, transcript_ids: list[int]) -> dict[int, str]:
        """Delivery status per transcript id: pending, sent or failed:<reason>."""

    async def check_window(self, conversation_id: int, *, author: str) -> str | None:
        """Why a message cannot be delivered now (Indonesian), or None."""


Notifier = Callable[[dict[str, Any]], Awaitable[None]]


async def nothing(_event: dict[str, Any]) -> None:
    """The notifier that tells nobody (no console attached)."""
    return None
