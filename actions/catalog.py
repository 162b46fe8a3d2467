"""Catalog search with availability, and purchase suggestions for books we lack."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KnowledgeAction, button, intent_payload
from actions.i18n import language, t
from knowledge.availability import describe
from knowledge.catalog import CatalogHit, CatalogQuery, strip_filler
from knowledge.suggestions import add_suggestion
from knowledge.text import display_name, fold

SHOWN = 3

# "yang tersedia saja", "yg ada di rak", "only the available ones"
_AVAILABLE = re.compile(
    r"\b(tersedia|ready|ada di rak|bisa dipinjam|bisa dipinjem|ga lagi dipinjam|"
    r"gak lagi dipinjam|tidak sedang dipinjam|available)\b"
)
# Messages that refine the previous search instead of starting a new one.
_REFINE = re.compile(r"^(yang|yg|kalau|kalo|klo|trus|terus|the one|only|just|what about|and)\b")


def wants_available(text: str) -> bool:
    """True when the patron asks for copies on the shelf only."""
    return bool(_AVAILABLE.search(fold(text)))


def is_refinement(text: str) -> bool:
    """True for "yang karya Tere Liye", "kalau yang tersedia?": a follow-up to the last search."""
    return bool(_REFINE.match(fold(text)))


_NAMES_OTHER_FIELD = re.compile(r"\b(karya|karangan|tulisan|penulis|pengarang|oleh|tentang|mengenai|soal|by|about)\b")
_NOT_TITLE = frozenset("mana dimana rak letak lokasi berapa kapan bisa boleh dipinjam pinjem tersedia".split())


def complete_title(title: str, text: str) -> str:
    """The whole title when the NLU tagged only part of it.

    "ada buku kalkulus lanjut ga" may come back with the title "lanjut"; searching for that
    would present look-alikes. When the message names no author or subject, the tagged words
    grow over their neighbours in the message up to the first filler or question word
    ("buku", "ga", "di", "rak"...).
    """
    words = fold(text).split()
    tagged = fold(title).split()
    n = len(tagged)
    if not tagged or _NAMES_OTHER_FIELD.search(" ".join(words)):
        return title
    starts = [i for i in range(len(words) - n + 1) if words[i : i + n] == tagged]
    if len(starts) != 1:
        return title

    def part_of_title(word: str) -> bool:
        return bool(strip_filler(word)) and word not in _NOT_TITLE

    start, end = starts[0], starts[0] + n
    while start > 0 and part_of_title(words[start - 1]):
        start -= 1
    while end < len(words) and part_of_title(words[end]):
        end += 1
    return title if end - start == n else " ".join(words[start:end])


def is_follow_up(tracker: Tracker) -> bool:
    """This turn refines the last catalog search ("yang tersedia saja", "kalau karya Tere Liye?")."""
    text = tracker.latest_message.get("text") or ""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    return tracker.get_slot("topic") == "catalog" and (intent == "follow_up" or is_refinement(text))


def build_query(tracker: Tracker, *, limit: int) -> tuple[CatalogQuery, str]:
    """The catalog query of this turn and how to name it to the patron.

    A follow-up (intent ``follow_up``, or a refinement while the topic is the catalog) keeps the
    previous title/author/subject from the slots and changes only what the patron added.
    """
    text = tracker.latest_message.get("text") or ""
    title, author, subject = (_entity(tracker, n) for n in ("title", "author", "subject"))
    follow_up = is_follow_up(tracker)
    only_available = wants_available(text)
    if title and not (author or subject or follow_up):
        title = complete_title(title, text)
    if follow_up:
        if title:  # "kalau yang Bumi Manusia?": a new book, keep nothing else
            author = author or None
            subject = None
        else:
            title = tracker.get_slot("title")
            author = author or tracker.get_slot("author")
            subject = subject or tracker.get_slot("subject")
        text = ""
    asked = title or author or subject or strip_filler(text)
    if title and author:
        asked = f"{title} ({author})"
    query = CatalogQuery(
        text=text, title=title, author=author, subject=subject,
        only_available=only_available, limit=limit,
    )
    return query, asked


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
        page = int(_entity(tracker, "page") or 1)
        query, asked = build_query(tracker, limit=SHOWN * page + 1)
        title, author, subject = query.title, query.author, query.subject
        if not asked:
            dispatcher.utter_message(text=t("catalog.ask", lang))
            return [SlotSet("topic", "catalog")]
        hits = await asyncio.to_thread(self.ctx.kb.search_catalog, query)
        events: list[dict[str, Any]] = [
            SlotSet("title", title), SlotSet("author", author), SlotSet("subject", subject),
        ]
        if not hits and query.only_available:
            dispatcher.utter_message(text=t("catalog.none_available", lang, query=asked))
            return [*events, *self.understood("catalog")]
        if not hits and not is_follow_up(tracker):
            # Nothing in the catalog: maybe not a book question at all ("ada fasilitas untuk
            # tunanetra?"); the FAQ answers it when it clearly can. For a named book the FAQ's
            # "how to check the catalog" entry (tag `katalog`) is no answer: "belum ada" is.
            named = bool(_entity(tracker, "title") or _entity(tracker, "author"))
            faq = await self.faq_first(dispatcher, tracker, lang, unless_tag="katalog" if named else "")
            if faq is not None:
                return faq
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
        tagged = _entity(tracker, "title")
        if not tagged or len(tagged.split()) < 2:
            # "cara mengusulkan buku untuk dibeli?" asks how, it names no book: the FAQ explains.
            faq = await self.faq_first(dispatcher, tracker, lang)
            if faq is not None:
                return faq
        title = tagged or tracker.get_slot("title") or strip_filler(
            tracker.latest_message.get("text") or ""
        )
        if not title:
            dispatcher.utter_message(text=t("catalog.ask", lang))
            return []
        await asyncio.to_thread(add_suggestion, self.ctx.kb.sessions, title, tracker.sender_id)
        dispatcher.utter_message(text=t("suggest.thanks", lang, title=title))
        return self.understood("catalog")
