"""What every external channel connector provides, and the errors and pacing they share."""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

from bot.messages import Incoming, Outgoing

#: awaited after each accepted part but the last: (parts accepted so far, their platform ids)
Progress = Callable[[int, list[str]], Awaitable[None]]
#: awaited with a part's index right before the platform call that sends it (the outbox commits
#: its "sending" mark there)
Before = Callable[[int], Awaitable[None]]

BOT_WINDOW_HOURS = 24
HUMAN_AGENT_DAYS = 7
#: ``tag`` for :meth:`Channel.send`: a staff message after the window goes out as the channel's template
TEMPLATE_TAG = "TEMPLATE"


class DeliveryError(Exception):
    """A platform did not accept a message.

    Attributes:
        reason: short Indonesian reason, shown to staff (e.g. "Pemustaka memblokir bot.").
        permanent: True when retrying cannot help (blocked, user gone, window closed).
        retry_after: seconds the platform asked us to wait (Telegram 429), if any.
        blocked: True when the patron blocked the bot (Telegram 403): their subscriptions end.
    """

    def __init__(
        self, reason: str, *, permanent: bool = False, retry_after: float | None = None, blocked: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
        self.blocked = blocked


class Pacer:
    """Spaces sends: at least ``interval`` seconds per key, at most ``rate`` per second overall.

    Slots are reserved synchronously, so concurrent callers never share a slot.
    """

    def __init__(self, *, interval: float, rate: float) -> None:
        self.interval = interval
        self.gap = 1.0 / rate if rate > 0 else 0.0
        self._next_key: dict[str, float] = {}
        self._next_global = 0.0

    def reserve(self, key: str) -> float:
        """Reserve the next free slot for ``key``; returns seconds to wait for it."""
        now = time.monotonic()
        at = max(now, self._next_key.get(key, 0.0))
        at = max(at, self._next_global)
        self._next_global = at + self.gap
        if self.interval > 0:
            self._next_key[key] = at + self.interval
            if len(self._next_key) > 10_000:  # forget chats whose slot is in the past
                self._next_key = {k: t for k, t in self._next_key.items() if t > now}
        return at - now

    async def wait(self, key: str) -> None:
        """Sleep until ``key`` may send."""
        delay = self.reserve(key)
        if delay > 0:
            await asyncio.sleep(delay)

    async def sent(self, key: str) -> None:
        """A call to ``key`` returned: its next slot is at least ``interval`` from now.

        Slots are reserved by when a call starts; a call that takes longer than the next one
        would let the platform receive two of the chat's messages closer than ``interval``
        (the platform counts on arrival). Counting from the reply keeps every arrival apart.
        """
        if self.interval > 0:
            self._next_key[key] = max(self._next_key.get(key, 0.0), time.monotonic() + self.interval)


class Channel(ABC):
    """A platform connector: turns webhook payloads into :class:`Incoming`, sends :class:`Outgoing`.

    ``parse`` decides (sync, no I/O, testable on payloads alone); ``send`` acts.
    """

    #: channel name stored in conversations.channel ("telegram", "messenger", "instagram")
    name: str = ""
    #: True when the platform limits replies to a window after the patron's last message (Meta)
    has_window: bool = False
    #: True when, after the window, staff messages must go out as an approved template (WhatsApp)
    #: instead of Meta's HUMAN_AGENT tag
    uses_templates: bool = False
    #: True when the platform reports delivery later for the ids ``send`` returns (WhatsApp
    #: ``statuses``, kept as :mod:`bot.receipts`)
    has_receipts: bool = False
    #: longest one platform call may take (seconds); the connector gives up after it, so a row
    #: still "sending" later than this was interrupted (see :class:`bot.outbox.Outbox`)
    send_timeout: float = 10.0

    @abstractmethod
    def parse(self, payload: dict[str, Any]) -> list[Incoming]:
        """The patron messages in one webhook payload; other events are logged and dropped."""

    @abstractmethod
    async def send(
        self,
        external_id: str,
        message: Outgoing,
        *,
        skip: int = 0,
        tag: str | None = None,
        progress: Progress | None = None,
        before: Before | None = None,
    ) -> list[str] | None:
        """Deliver ``message`` to conversation ``external_id``.

        Args:
            external_id: the platform's chat/user id.
            message: what to send; the channel renders and splits it.
            skip: parts already accepted in an earlier attempt (not sent again).
            tag: Meta message tag (``HUMAN_AGENT``) when sending outside the 24-hour window, or
                :data:`TEMPLATE_TAG` (send as the channel's staff-reply template).
            progress: awaited with the number of parts accepted so far and the platform ids of
                the parts this call sent, after each part but the last.
            before: awaited with the part's index after pacing, right before each platform
                call (nothing may happen between it and the call but building the request).

        Returns:
            The platform's ids of the parts sent by this call (Telegram ``message_id``, Meta
            ``message_id``, WhatsApp ``wamid``), or None when the platform gave none.

        Raises:
            DeliveryError: the platform refused; see its ``permanent`` and ``retry_after``.
        """

    def template_problem(self) -> str | None:
        """Why staff messages after the window cannot go out as a template (Indonesian), or None.

        Only asked when :attr:`uses_templates` is True.
        """
        return None

    def is_template(self, message: Outgoing) -> bool:
        """True when ``message`` is an approved template, deliverable outside the window."""
        return False

    async def typing(self, external_id: str) -> None:  # noqa: B027 - optional hook
        """Show a typing indicator in ``external_id`` (best effort, errors are swallowed)."""
