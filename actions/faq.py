"""FAQ answers, the two-step fallback and out-of-scope replies."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KnowledgeAction, answered, button, faq_answer, faq_buttons, intent_payload
from actions.catalog import ActionSearchCatalog
from actions.rules import is_refinement
from actions.events import ActionListEvents
from actions.handoff import HANDOFF_KEY
from actions.i18n import language, t
from knowledge.faq_search import FaqHit


def _entity(tracker: Tracker, name: str) -> str | None:
    value = next(tracker.get_latest_entity_values(name), None)
    return str(value) if value is not None else None


def _text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


class ActionAnswerFaq(KnowledgeAction):
    """Answers from the librarians' FAQ files; asks back when unsure; never guesses."""

    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = language(tracker)
        kb = self.ctx.kb
        faq_id = _entity(tracker, "faq_id")
        if faq_id:
            item = next((i for i in kb.faq_store.entries() if i.id == faq_id), None)
            if item is not None:
                dispatcher.utter_message(text=faq_answer(item, lang))
                return answered(item, item.questions[0])
        hits = await self.faq_hits(tracker)
        return await answer_or_ask(self, dispatcher, tracker, hits, lang)


async def answer_or_ask(
    action: KnowledgeAction,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    hits: list[FaqHit],
    lang: str,
    *,
    question: str | None = None,
) -> list[dict[str, Any]]:
    """Answer the best FAQ hit above threshold, else offer the candidates, else fall back."""
    if action.ctx.kb.thresholds.confident(hits):
        dispatcher.utter_message(text=faq_answer(hits[0].item, lang))
        # As a help desk does: the answer, then the next entries the question was near to.
        related = action.faq_candidates(hits[1:3])
        if related:
            dispatcher.utter_message(text=t("faq.related", lang), buttons=faq_buttons(related, lang))
        return answered(hits[0].item, question if question is not None else _text(tracker))
    return ask_back(dispatcher, tracker, action.faq_candidates(hits), lang)


# Intents that can be offered as a choice when the NLU was unsure between them.
INTENT_CHOICES = ("search_book", "ask_events", "ask_ebooks", "suggest_purchase", "request_human")


def intent_choices(tracker: Tracker, lang: str, *, room: int) -> list[dict[str, str]]:
    """Buttons for the intents the NLU ranked as plausible (confidence >= 0.15)."""
    ranking = tracker.latest_message.get("intent_ranking") or []
    out = []
    for entry in ranking:
        name = entry.get("name")
        if name in INTENT_CHOICES and float(entry.get("confidence") or 0) >= 0.15 and len(out) < room:
            out.append(button(t(f"intent.{name}", lang), intent_payload(name)))
    return out


def ask_back(
    dispatcher: CollectingDispatcher, tracker: Tracker, candidates: list[FaqHit], lang: str
) -> list[dict[str, Any]]:
    """First failure: ask which one (or to rephrase); second failure in a row: hand to a librarian.

    The choices are the FAQ entries above the suggest threshold and the intents the NLU found
    plausible, three at most.
    """
    failed = int(tracker.get_slot("failed_turns") or 0) + 1
    if failed >= 2:
        # Two failed understandings in a row: a librarian takes over (the patron can cancel).
        dispatcher.utter_message(
            text=t("fallback.offer_human", lang),
            buttons=[button(t("button.back_to_bot", lang), t("button.back_to_bot", lang).lower())],
        )
        dispatcher.utter_message(json_message={HANDOFF_KEY: {"reason": "not_understood", "language": lang}})
        return [SlotSet("failed_turns", 0.0), SlotSet("topic", "handoff")]
    choices = faq_buttons(candidates[:3], lang)
    choices += intent_choices(tracker, lang, room=3 - len(choices))
    if choices:
        dispatcher.utter_message(text=t("faq.which", lang), buttons=choices)
    else:
        dispatcher.utter_message(text=t("fallback.rephrase", lang))
    return [SlotSet("failed_turns", float(failed))]


class ActionFallback(KnowledgeAction):
    """A follow-up or an unclear turn, read in the context of the conversation.

    A follow-up ("kalau sabtu?", "yang karya Tere Liye", "kalau puasa?") continues the last
    topic: events for another period, the last catalog search refined, or the FAQ question
    asked again with the new words (looking for a different entry than the one answered).
    Otherwise (low NLU confidence): the FAQ may know what the model does not; below the
    threshold the bot asks back, and on a second failure offers a librarian.
    """

    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = language(tracker)
        text = _text(tracker)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        topic = tracker.get_slot("topic")
        if intent == "follow_up" or (topic == "catalog" and is_refinement(text)):
            if topic == "events":
                return await ActionListEvents(self.ctx).run(dispatcher, tracker, domain)
            if topic == "catalog":
                return await ActionSearchCatalog(self.ctx).run(dispatcher, tracker, domain)
            previous = tracker.get_slot("faq_query")
            if topic == "faq" and previous:
                last = tracker.get_slot("last_faq")
                exclude = frozenset({last}) if last else frozenset()
                query = f"{previous} {text}"
                hits = await asyncio.to_thread(self.ctx.kb.search_faq, query, limit=3, exclude=exclude)
                return await answer_or_ask(self, dispatcher, tracker, hits, lang, question=query)
        hits = await self.faq_hits(tracker)
        return await answer_or_ask(self, dispatcher, tracker, hits, lang)


class ActionOutOfScope(KnowledgeAction):
    """Says what the bot can do, unless a librarian's FAQ entry answers the question well; a
    question about another place or library is told so."""

    def name(self) -> str:
        return "action_out_of_scope"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = language(tracker)
        faq = await self.faq_first(dispatcher, tracker, lang)
        if faq is not None:
            return faq
        evidence = self.ctx.evidence
        elsewhere = evidence is not None and evidence.elsewhere is not None
        dispatcher.utter_message(text=t("out_of_scope.elsewhere" if elsewhere else "out_of_scope", lang))
        return [SlotSet("topic", "out_of_scope"), SlotSet("failed_turns", 0.0)]
