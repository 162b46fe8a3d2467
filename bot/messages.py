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


#: the label of a link button whose title was left empty
DEFAULT_LINK_TITLE = "Buka tautan"


@dataclass(frozen=True)
class LinkButton:
    """A button opening ``url`` (http or https) in the patron's browser; ``title`` is its label.

    Each channel renders it natively (Telegram inline URL button, Meta button template,
    WhatsApp ``cta_url`` message, a link on the web chat), shortening the title to the
    platform's limit.
    """

    title: str
    url: str

    @property
    def label(self) -> str:
        """The title on one line, or :data:`DEFAULT_LINK_TITLE` when there is none."""
        return " ".join(self.title.split()) or DEFAULT_LINK_TITLE

    def as_json(self) -> dict[str, str]:
        """``{"title", "url"}`` (the web chat's and the outbox's shape)."""
        return {"title": self.label, "url": self.url}


#: Incoming.kind values: a patron's message, or an event the gateway decides on without the bot
KINDS = ("message", "echo", "story_reply", "story_mention", "thread_taken", "thread_passed")


@dataclass(frozen=True)
class Incoming:
    """One message from a patron on any channel, or a channel event about the conversation.

    ``attachment`` names non-text content the patron sent ("photo", "sticker", "voice",
    "file", "location", ...), ``text`` then holds its caption if any. ``kind`` is "message"
    for what the patron wrote; otherwise the connector saw an event the gateway handles itself
    (see :mod:`bot.events`): "echo" (a person answered from the platform's own inbox),
    "story_reply"/"story_mention" (Instagram), "thread_taken"/"thread_passed" (Meta's
    handover protocol). Connectors only translate; the decisions live gateway-side.
    """

    channel: str
    conversation_id: str
    text: str
    patron_id: str = ""
    patron_name: str | None = None
    payload: str | None = None
    attachments: tuple[dict[str, Any], ...] = ()
    platform_message_id: str | None = None
    timestamp: datetime | None = None
    attachment: str | None = None
    kind: str = "message"

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
    link_buttons: tuple[LinkButton, ...] = ()
    custom: dict[str, Any] | None = None

    @property
    def rich(self) -> bool:
        """True when there is more than text (choices, an image or links) to keep with it."""
        return bool(self.buttons or self.image or self.link_buttons)

    def as_json(self) -> dict[str, Any]:
        """The web chat's JSON shape of this message."""
        data: dict[str, Any] = {"text": self.text}
        if self.buttons:
            data["buttons"] = [{"title": b.title, "payload": b.payload} for b in self.buttons]
        if self.image:
            data["image"] = self.image
        if self.link_buttons:
            data["links"] = [link.as_json() for link in self.link_buttons]
        return data


@dataclass
class Reply:
    """Everything the bot answers to one incoming message."""

    messages: list[Outgoing] = field(default_factory=list)
    handoff: bool = False
    degraded: bool = False
    # Why the engine answered so (which evidence won), when the debug setting is on.
    debug: dict[str, Any] | None = None
