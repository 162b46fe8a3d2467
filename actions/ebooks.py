"""E-books patrons can read online."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KnowledgeAction
from actions.i18n import language, t
from knowledge.faq_search import FaqHit
from knowledge.text import display_name


class ActionListEbooks(KnowledgeAction):
    """Lists e-books matching the question (or a selection) with their links."""

    def name(self) -> str:
        return "action_list_ebooks"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = language(tracker)
        wanted = next(tracker.get_latest_entity_values("title"), None) or next(
            tracker.get_latest_entity_values("subject"), None
        )
        books = await asyncio.to_thread(self.ctx.kb.ebooks, str(wanted or ""), limit=5)
        hits: list[FaqHit] = []
        if not wanted or not books:
            # "cara pinjam ebook di ipusnas?" asks how, not for a list, and "boleh pakai celana
            # pendek?" is no e-book question at all: the FAQ answers when it clearly can.
            hits = await self.faq_hits(tracker)
            faq = self.answer_if_confident(dispatcher, tracker, hits, lang)
            if faq is not None:
                return faq
        if not books and wanted:
            dispatcher.utter_message(text=t("ebooks.none", lang, query=wanted))
            books = await asyncio.to_thread(self.ctx.kb.ebooks, "", limit=3)
        if books:
            lines = [t("ebooks.list", lang)]
            for b in books:
                by = f" \u2014 {display_name(b.authors[0])}" if b.authors else ""
                where = f" ({b.platform})" if b.platform else ""
                lines.append(f"\u2022 {b.title}{by}{where}: {b.url}")
            dispatcher.utter_message(text="\n".join(lines))
        self.offer_faq(dispatcher, hits, lang)
        return self.understood("ebooks")
