"""One conversation's context: what the engine remembers between turns.

Stored with the conversation in the app's database (``conversations.context``, JSON), the single
source of truth: no Rasa tracker, no event history. Its size is bounded, so a turn costs the same
on the 50th message as on the 1st.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Topic = Literal["", "faq", "catalog", "events", "ebooks", "handoff", "out_of_scope", "smalltalk", "subscriptions"]

# Context fields the rasa-sdk actions read and write as slots.
SLOTS = ("language", "topic", "title", "author", "subject", "period", "faq_query", "last_faq", "failed_turns",
         "offered_title", "awaiting", "awaiting_ref")

Awaiting = Literal["", "answer_comment", "rating_comment", "erase_confirm"]


class ConversationContext(BaseModel):
    """Topic, last search, last FAQ entry, language, failed turns, a pending offer."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    language: Literal["id", "en"] = "id"
    topic: Topic = ""
    # The last catalog search (a follow-up "yang karya Tere Liye" refines it).
    title: str | None = None
    author: str | None = None
    subject: str | None = None
    # The last events period named ("minggu ini"), for "kalau sabtu?".
    period: str | None = None
    # The last FAQ question and the entry answered (a follow-up looks for another entry).
    faq_query: str | None = Field(None, max_length=300)
    last_faq: str | None = None
    # Consecutive turns the bot did not understand (two in a row: a librarian is offered).
    failed_turns: int = 0
    # A pending offer: the title the bot just offered to note as a purchase suggestion.
    offered_title: str | None = None
    # A pending question of the bot's own: a comment after a 👎 or a rating ("answer_comment",
    # "rating_comment", ``awaiting_ref`` the turn or handoff id), or the confirmation of
    # "hapus data saya" ("erase_confirm"). Cleared by any other turn.
    awaiting: Awaiting = ""
    awaiting_ref: str | None = None

    @classmethod
    def load(cls, data: Any) -> ConversationContext:
        """The stored context (a fresh one when nothing or something unreadable is stored)."""
        if not isinstance(data, dict):
            return cls()
        try:
            return cls.model_validate(data)
        except ValidationError:
            return cls()

    def dump(self) -> dict[str, Any]:
        """JSON for the database."""
        return self.model_dump(exclude_defaults=True)

    def slots(self) -> dict[str, Any]:
        """The context as rasa-sdk slots."""
        values = self.model_dump()
        values["failed_turns"] = float(self.failed_turns)
        return {name: values[name] for name in SLOTS}

    def with_slots(self, slots: dict[str, Any]) -> ConversationContext:
        """A copy with the slots an action set (unknown or invalid values are ignored)."""
        data = self.model_dump()
        for name, value in slots.items():
            if name not in SLOTS:
                continue
            if name == "failed_turns":
                value = int(float(value or 0))
            elif name in ("topic", "awaiting"):
                value = value or ""
            elif name == "language":
                value = "en" if value == "en" else "id"
            elif value is not None:
                value = str(value)[:300]
            data[name] = value
        return ConversationContext.load(data)
