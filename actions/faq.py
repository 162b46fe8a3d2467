"""FAQ answers, the two-step fallback and out-of-scope replies."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KnowledgeAction, button, intent_payload
from actions.i18n import language, t
from knowledge.faq import FaqItem
from knowledge.faq_search import FaqHit


def _answer(item: FaqItem, lang: str) -> str:
    return item.answer_en if lang == "en" and item.answer_en else item.answer


def _entity(tracker: Tracker, name: str) -> str | None:
    value = next(tracker.get_latest_entity_values(name), None)
    return str(value) if value is not None else None


def _text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def _choices(hits: list[FaqHit], lang: str) -> list[dict[str, str]]:
    return [button(h.item.questions[0], intent_payload("faq", faq_id=h.item.id)) for h in hits]


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
                dispatcher.utter_message(text=_answer(item, lang))
                return self.understood("faq")
        hits = await asyncio.to_thread(kb.search_faq, _text(tracker), limit=3)
        return await answer_or_ask(self, dispatcher, tracker, hits, lang)


async def answer_or_ask(
    action: KnowledgeAction,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    hits: list[FaqHit],
    lang: str,
) -> list[dict[str, Any]]:
    """Answer the best FAQ hit above threshold, else offer the candidates, else fall back."""
    th = action.ctx.kb.thresholds
    if hits and hits[0].score >= th.answer:
        dispatcher.utter_message(text=_answer(hits[0].item, lang))
        return action.understood("faq")
    candidates = [h for h in hits if h.score >= th.suggest]
    return ask_back(dispatcher, tracker, candidates, lang)


def ask_back(
    dispatcher: CollectingDispatcher, tracker: Tracker, candidates: list[FaqHit], lang: str
) -> list[dict[str, Any]]:
    """First failure: ask which one (or to rephrase); second failure in a row: offer a librarian."""
    failed = int(tracker.get_slot("failed_turns") or 0) + 1
    if failed >= 2:
        dispatcher.utter_message(
            text=t("fallback.offer_human", lang),
            buttons=[
                button(t("button.human", lang), intent_payload("request_human")),
                button(t("button.no", lang), intent_payload("deny")),
            ],
        )
        return [SlotSet("failed_turns", float(failed))]
    if candidates:
        dispatcher.utter_message(text=t("faq.which", lang), buttons=_choices(candidates, lang))
    else:
        dispatcher.utter_message(text=t("fallback.rephrase", lang))
    return [SlotSet("failed_turns", float(failed))]


class ActionFallback(KnowledgeAction):
    """Low NLU confidence: try the FAQ (it may know what the model does not), then ask back."""

    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = language(tracker)
        hits = await asyncio.to_thread(self.ctx.kb.search_faq, _text(tracker), limit=3)
        return await answer_or_ask(self, dispatcher, tracker, hits, lang)


class ActionOutOfScope(KnowledgeAction):
    """Says what the bot can do, unless a librarian's FAQ entry answers the question well."""

    def name(self) -> str:
        return "action_out_of_scope"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = language(tracker)
        hits = await asyncio.to_thread(self.ctx.kb.search_faq, _text(tracker), limit=1)
        if hits and hits[0].score >= self.ctx.kb.thresholds.answer:
            dispatcher.utter_message(text=_answer(hits[0].item, lang))
            return self.understood("faq")
        dispatcher.utter_message(text=t("out_of_scope", lang))
        return [SlotSet("topic", "out_of_scope"), SlotSet("failed_turns", 0.0)]
