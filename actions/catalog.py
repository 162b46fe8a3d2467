"""Catalog search with availability, and purchase suggestions for books we lack."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KnowledgeAction, button, intent_payload
from actions.i18n import language, t
from knowledge.availability import describe
from knowledge.catalog import CatalogHit, CatalogQuery, strip_filler
from knowledge.text import display_name
from knowledge.suggestions import add_suggestion

SHOWN = 3


def _entity(tracker: Tracker, name: str) -> str | None:
    value = next(tracker.get_latest_entity_values(name), None)
    return str(value).strip() if value else None


def _authors(hit: CatalogHit) -> str:
    return ", ".join(display_name(a) for a in hit.authors[:2])


def format_hit(hit: CatalogHit, lang: str) -> str:
    """"Laskar Pelangi — Andrea Hirata (2005)\n2 dari 4 eksemplar tersedia ..."."""
    head = f"\u201c{hit.title}\u201d"
    by = _authors(hit)
    if by:
        head += f" \u2014 {by}"
    if hit.year:
        head += f" ({hit.year})"
    lines = [head, describe(hit.availability, lang)]
    if hit.ebook_url:
        lines.append(t("catalog.ebook", lang, url=hit.ebook_url))
    return "\n".join(lines)


class ActionSearchCatalog(KnowledgeAction):
    """Finds titles, authors or subjects in the catalog and says where the copies are."""

    def name(self) -> str:
        return "action_search_catalog"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = language(tracker)
        title, author, subject = (_entity(tracker, n) for n in ("title", "author", "subject"))
        text = tracker.latest_message.get("text") or ""
        page = int(_entity(tracker, "page") or 1)
        query = CatalogQuery(
            text=text, title=title, author=author, subject=subject, limit=SHOWN * page + 1
        )
        asked = title or author or subject or strip_filler(text)
        if not asked:
            dispatcher.utter_message(text=t("catalog.ask", lang))
            return [SlotSet("topic", "catalog")]
        hits = await asyncio.to_thread(self.ctx.kb.search_catalog, query)
        events: list[dict[str, Any]] = [
            SlotSet("title", title), SlotSet("author", author), SlotSet("subject", subject),
        ]
        if not hits:
            dispatcher.utter_message(
                text=t("catalog.not_found", lang, query=asked),
                buttons=[button(t("button.suggest", lang), intent_payload("suggest_purchase", title=asked[:60]))],
            )
            return [*events, SlotSet("topic", "catalog"), SlotSet("failed_turns", 0.0)]
        shown = hits[SHOWN * (page - 1) : SHOWN * page]
        header = t("catalog.found_one", lang) if len(hits) == 1 else t("catalog.found_many", lang)
        # One blank-line-free message: Rasa's REST channel splits texts on blank lines.
        body = "\n".join(format_hit(h, lang) for h in shown)
        buttons = []
        if len(hits) > SHOWN * page:
            entities = {k: v for k, v in (("title", title), ("author", author), ("subject", subject)) if v}
            if not entities:
                entities = {"title": asked}
            buttons.append(button(t("button.more", lang), intent_payload("search_book", **entities, page=str(page + 1))))
        dispatcher.utter_message(text=f"{header}\n{body}", buttons=buttons or None)
        return [*events, *self.understood("catalog")]


class ActionSuggestPurchase(KnowledgeAction):
    """Records a patron's suggestion to buy a book the library lacks."""

    def name(self) -> str:
        return "action_suggest_purchase"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = language(tracker)
        title = _entity(tracker, "title") or tracker.get_slot("title") or strip_filler(
            tracker.latest_message.get("text") or ""
        )
        if not title:
            dispatcher.utter_message(text=t("catalog.ask", lang))
            return []
        await asyncio.to_thread(add_suggestion, self.ctx.kb.sessions, title, tracker.sender_id)
        dispatcher.utter_message(text=t("suggest.thanks", lang, title=title))
        return self.understood("catalog")
