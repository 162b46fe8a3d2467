"""Shared base of the actions that read the knowledge base."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.i18n import t
from knowledge.faq import FaqItem
from knowledge.faq_search import FaqHit
from knowledge.kb import KnowledgeBase
from nlu.language import is_english

if TYPE_CHECKING:
    from actions.evidence import Evidence
    from actions.subscriptions import SubscriptionStore


@dataclass(frozen=True)
class ActionContext:
    """What every action may use: the knowledge base, the library's time zone, and the evidence
    the engine already gathered on this turn's message (``None`` outside the engine), and the
    gateway's subscription store (``None``: subscriptions and reminders are not offered)."""

    kb: KnowledgeBase
    zone: ZoneInfo
    evidence: Evidence | None = None
    subscriptions: SubscriptionStore | None = None
    reminder_hour: int = 18


class KnowledgeAction(Action):
    """An action built with its dependencies (registered as an instance, not discovered)."""

    def __init__(self, ctx: ActionContext) -> None:
        self.ctx = ctx

    @staticmethod
    def understood(topic: str) -> list[dict[str, Any]]:
        """Events marking a turn the bot understood (resets the failure counter)."""
        return [SlotSet("topic", topic), SlotSet("failed_turns", 0.0)]

    async def faq_hits(self, tracker: Tracker, limit: int = 3) -> list[FaqHit]:
        """The FAQ entries closest to the patron's message; none for an empty message or a
        button payload ("/search_book{...}", never re-read as a question)."""
        text = tracker.latest_message.get("text") or ""
        if not text.strip() or text.startswith("/"):
            return []
        if self.ctx.evidence is not None and len(self.ctx.evidence.faq) >= limit:
            return list(self.ctx.evidence.faq[:limit])  # the engine searched this message already
        return await asyncio.to_thread(self.ctx.kb.search_faq, text, limit=limit)

    def answer_if_confident(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, hits: list[FaqHit], lang: str,
        *, unless_tag: str = "",
    ) -> list[dict[str, Any]] | None:
        """Answer the best hit when the FAQ clearly knows the message (same calibrated threshold
        as every FAQ answer), unless it carries ``unless_tag``. ``None``: not answered."""
        if not self.ctx.kb.thresholds.confident(hits) or (unless_tag and unless_tag in hits[0].item.tags):
            return None
        dispatcher.utter_message(text=faq_answer(hits[0].item, lang))
        return answered(hits[0].item, tracker.latest_message.get("text") or "")

    def faq_candidates(self, hits: list[FaqHit], *, near: bool = True) -> list[FaqHit]:
        """The hits worth offering as a choice: above the suggest threshold, or, when the judge
        finds the question plausibly the library's (a sparse FAQ scores paraphrases low), the
        hits near the best one (``near=False``: the threshold alone)."""
        above = [h for h in hits if h.score >= self.ctx.kb.thresholds.suggest]
        if above or not near or not hits or hits[0].confidence is None or hits[0].confidence < OFFER_FROM:
            return above
        return [h for h in hits if h.score >= NEAR_BEST * hits[0].score]

    def offer_faq(
        self, dispatcher: CollectingDispatcher, hits: list[FaqHit], lang: str, *, except_tag: str = ""
    ) -> None:
        """After a list or a miss: "Atau mungkin maksud Kakak ..." with up to two FAQ entries the
        retrieval found plausible but was not sure of (none: nothing is said)."""
        offered = [h for h in self.faq_candidates(hits) if not (except_tag and except_tag in h.item.tags)][:2]
        if offered:
            dispatcher.utter_message(text=t("faq.or_these", lang), buttons=faq_buttons(offered, lang))

    async def faq_first(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, lang: str, *, unless_tag: str = ""
    ) -> list[dict[str, Any]] | None:
        """Answer from the FAQ when it clearly knows this message, whatever intent the NLU chose.

        The NLU routes by wording, and many FAQ questions mention books, e-books or events
        ("ada fasilitas untuk tunanetra?", "cara pinjam ebook di ipusnas?"). The librarians'
        answer wins when the FAQ retrieval is confident, unless the best entry carries
        ``unless_tag`` (the FAQ's own note on the topic the calling action answers first-hand,
        e.g. ``kegiatan`` for the events list). ``None``: not answered.
        """
        hits = await self.faq_hits(tracker, limit=2)
        return self.answer_if_confident(dispatcher, tracker, hits, lang, unless_tag=unless_tag)


# A question the judge gives at least this chance of being the best entry's gets its candidates
# offered even below the suggest threshold: those within NEAR_BEST of the best score.
OFFER_FROM = 0.2
NEAR_BEST = 0.8


def faq_answer(item: FaqItem, lang: str) -> str:
    """The entry's answer in the patron's language (Indonesian when there is no English one)."""
    if lang != "en":
        return item.answer
    return item.answer_en or f"{t('faq.indonesian_only', 'en')}\n{item.answer}"


def answered(item: FaqItem, question: str) -> list[dict[str, Any]]:
    """Events after answering ``item``: remember it for follow-ups ("kalau puasa?")."""
    return [
        SlotSet("topic", "faq"), SlotSet("failed_turns", 0.0),
        SlotSet("last_faq", item.id), SlotSet("faq_query", question[:300]),
    ]


def faq_title(item: FaqItem, lang: str) -> str:
    """The button title of an entry: its first question in the patron's language."""
    if lang == "en":
        english = next((q for q in item.questions if is_english(q)), None)
        if english:
            return english
    return item.questions[0]


def faq_buttons(hits: list[FaqHit], lang: str) -> list[dict[str, str]]:
    """One button per entry; the payload names the entry (``/faq{"faq_id": ...}``)."""
    return [button(faq_title(h.item, lang), intent_payload("faq", faq_id=h.item.id)) for h in hits]


def button(title: str, payload: str) -> dict[str, str]:
    """A Rasa button."""
    return {"title": title, "payload": payload}


def intent_payload(intent: str, **entities: Any) -> str:
    """``/intent{"entity": "value"}`` as Rasa parses it, for button payloads."""
    import json

    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"
