"""E-books patrons can read online."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KnowledgeAction
from actions.i18n import language, t
from knowledge.availability import describe
from knowledge.ebooks import EBookInfo, ebook_words
from knowledge.faq_search import FaqHit
from knowledge.text import display_name
from knowledge.works import same_work


class ActionListEbooks(KnowledgeAction):
    """Lists e-books matching the question (or a selection) with their links.

    The NLU's title or subject first, else the message's own words ("ebook tentang tsunami
    aceh"); an e-book also in print says how its copies are (one work, one answer). A title or
    subject with no e-book is said so, without other e-books, with the print copies when the
    catalog has the work.
    """

    def name(self) -> str:
        return "action_list_ebooks"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = language(tracker)
        kb = self.ctx.kb
        text = tracker.latest_message.get("text") or ""
        tagged = next(tracker.get_latest_entity_values("title"), None) or next(
            tracker.get_latest_entity_values("subject"), None
        )
        # The message's own words decide ("ebook budidaya karet" is not the e-book on growing
        # pineapples the tag "budidaya" alone would find); a button's payload has only its tag.
        own = [] if text.startswith("/") else ebook_words(text)
        asked = own or (ebook_words(str(tagged)) if tagged else [])
        books: list[EBookInfo] = []
        # The message itself when its words decide: a word's neighbours count ("buat ibu hamil").
        query = text if own else " ".join(asked)
        if asked:
            books = await asyncio.to_thread(kb.ebooks, query, limit=5)
            if not books:
                near = await asyncio.to_thread(kb.ebook_on_topic, query)
                books = [near] if near is not None else []
            if not books:
                # A book the catalog has, named by its title or initials ("buku KIA yang pink
                # itu, ada pdf-nya?"): the e-book of that work.
                books = await self._ebook_of_named(text)
        wanted = " ".join(asked)
        hits: list[FaqHit] = []
        if not wanted or not books:
            # "cara pinjam ebook di ipusnas?" asks how, not for a list, and "boleh pakai celana
            # pendek?" is no e-book question at all: the FAQ answers when it clearly can.
            hits = await self.faq_hits(tracker)
            faq = self.answer_if_confident(dispatcher, tracker, hits, lang)
            if faq is not None:
                return faq
        if not books and wanted:
            lines = [t("ebooks.none", lang, query=wanted)]
            printed = await self._in_print(text)
            if printed:
                lines.append(t("ebooks.in_print", lang, title=printed.title, availability=describe(printed.availability, lang)))
            dispatcher.utter_message(text="\n".join(lines))
            self.offer_faq(dispatcher, hits, lang)
            return self.understood("ebooks")
        if not books:
            books = await asyncio.to_thread(kb.ebooks, "", limit=5)
        if books:
            lines = [t("ebooks.list", lang)]
            for b in books:
                by = f" \u2014 {display_name(b.authors[0])}" if b.authors else ""
                where = f" ({b.platform})" if b.platform else ""
                lines.append(f"\u2022 {b.title}{by}{where}: {b.url}")
                printed = await asyncio.to_thread(kb.print_of, b) if wanted else None
                if printed is not None:
                    lines.append(t("ebooks.print_copies", lang, availability=describe(printed.availability, lang)))
            dispatcher.utter_message(text="\n".join(lines))
        self.offer_faq(dispatcher, hits, lang)
        return self.understood("ebooks")

    async def _ebook_of_named(self, text: str) -> list[EBookInfo]:
        """The e-book of the same work as the catalog title the message names, if any."""
        printed = await self._in_print(text)
        if printed is None:
            return []
        found = await asyncio.to_thread(self.ctx.kb.ebooks, printed.title.split(": ", 1)[0], limit=5)
        return [b for b in found if same_work(b.title, b.authors, printed.title, printed.authors)
                or same_work(b.title, b.authors, printed.title.split(": ", 1)[0], printed.authors)][:1]

    async def _in_print(self, text: str) -> Any:
        """The print record of the book the message names, if the catalog has it."""
        evidence = self.ctx.evidence
        mention = evidence.strong_mention if evidence is not None else None
        if mention is None and evidence is not None and evidence.top_mention is not None and evidence.top_mention.clear:
            mention = evidence.top_mention
        if mention is None:
            found = await asyncio.to_thread(self.ctx.kb.catalog_mentions, text)
            mention = next((m for m in found if m.clear), None)
        return mention.hit if mention is not None else None
