"""The channel-neutral message model: what a patron sent, and what we answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Button:
    """A choice the patron can tap; ``payload`` comes back as the patron's next message."""

    title: str
    payload: str


@dataclass(frozen=True)
class Incoming:
    """One message from a patron on any channel."""

    channel: str
    conversation_id: str
    text: str
    patron_id: str = ""
    patron_name: str | None = None
    payload: str | None = None
    attachments: tuple[dict[str, Any], ...] = ()
    platform_message_id: str | None = None
    timestamp: datetime | None = None

    @property
    def for_nlu(self) -> str:
        """What the NLU and the engine read: a button payload wins over the button's title."""
        return self.payload or self.text


@dataclass(frozen=True)
class Outgoing:
    """One message to a patron, rendered per platform by its channel."""

    text: str = ""
    buttons: tuple[Button, ...] = ()
    image: str | None = None
    links: tuple[str, ...] = ()
    custom: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        """The web chat's JSON shape of this message."""
        data: dict[str, Any] = {"text": self.text}
        if self.buttons:
            data["buttons"] = [{"title": b.title, "payload": b.payload} for b in self.buttons]
        if self.image:
            data["image"] = self.image
        return data


@dataclass
class Reply:
    """Everything the bot answers to one incoming message."""

    messages: list[Outgoing] = field(default_factory=list)
    handoff: bool = False
    degraded: bool = False
    # Why the engine answered so (which evidence won), when the debug setting is on.
    debug: dict[str, Any] | None = None
