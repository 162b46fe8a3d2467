"""Shared base of the actions that read the knowledge base."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from knowledge.faq import FaqItem
from knowledge.kb import KnowledgeBase


@dataclass(frozen=True)
class ActionContext:
    """What every action may use: the knowledge base and the library's time zone."""

    kb: KnowledgeBase
    zone: ZoneInfo


class KnowledgeAction(Action):
    """An action built with its dependencies (registered as an instance, not discovered)."""

    def __init__(self, ctx: ActionContext) -> None:
        self.ctx = ctx

    @staticmethod
    def understood(topic: str) -> list[dict[str, Any]]:
        """Events marking a turn the bot understood (resets the failure counter)."""
        return [SlotSet("topic", topic), SlotSet("failed_turns", 0.0)]

    async def faq_first(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, lang: str, *, unless_tag: str = ""
    ) -> list[dict[str, Any]] | None:
        """Answer from the FAQ when it clearly knows this message, whatever intent the NLU chose.

        The NLU routes by wording, and many FAQ questions mention books, e-books or events
        ("ada fasilitas untuk tunanetra?", "cara pinjam ebook di ipusnas?"). The librarians'
        answer wins when the FAQ retrieval is confident (same calibrated threshold as every FAQ
        answer), unless the best entry carries ``unless_tag`` (the FAQ's own note on the topic
        the calling action answers first-hand, e.g. ``kegiatan`` for the events list); button
        payloads ("/search_book{...}") are never re-read. ``None``: not answered.
        """
        text = tracker.latest_message.get("text") or ""
        if not text.strip() or text.startswith("/"):
            return None
        hits = await asyncio.to_thread(self.ctx.kb.search_faq, text, limit=2)
        if not self.ctx.kb.thresholds.confident(hits) or (unless_tag and unless_tag in hits[0].item.tags):
            return None
        dispatcher.utter_message(text=faq_answer(hits[0].item, lang))
        return answered(hits[0].item, text)


def faq_answer(item: FaqItem, lang: str) -> str:
    """The entry's answer in the patron's language (Indonesian when there is no English one)."""
    return item.answer_en if lang == "en" and item.answer_en else item.answer


def answered(item: FaqItem, question: str) -> list[dict[str, Any]]:
    """Events after answering ``item``: remember it for follow-ups ("kalau puasa?")."""
    return [
        SlotSet("topic", "faq"), SlotSet("failed_turns", 0.0),
        SlotSet("last_faq", item.id), SlotSet("faq_query", question[:300]),
    ]


def button(title: str, payload: str) -> dict[str, str]:
    """A Rasa button."""
    return {"title": title, "payload": payload}


def intent_payload(intent: str, **entities: Any) -> str:
    """``/intent{"entity": "value"}`` as Rasa parses it, for button payloads."""
    import json

    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"
