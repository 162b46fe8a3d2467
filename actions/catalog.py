"""Catalog search with availability, and purchase suggestions for books we lack."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KnowledgeAction, button, faq_buttons, intent_payload
from actions.i18n import language, t
from actions.outcome import signal
from actions.rules import is_refinement
from knowledge.availability import describe
from knowledge.catalog import CatalogHit, CatalogQuery, strip_filler
from knowledge.ebooks import EBookInfo
from knowledge.faq_search import FaqHit
from knowledge.suggestions import add_suggestion
from knowledge.text import STOPWORDS, display_name, fold, is_common_word

SHOWN = 3

# "yang tersedia saja", "yg ada di rak", "only the available ones"
_AVAILABLE = re.compile(
    r"\b(tersedia|ready|ada di rak|bisa dipinjam|bisa dipinjem|ga lagi dipinjam|"
    r"gak lagi dipinjam|tidak sedang dipinjam|available)\b"
)


def wants_available(text: str) -> bool:
    """True when the patron asks for copies on the shelf only."""
    return bool(_AVAILABLE.search(fold(text)))


_NAMES_OTHER_FIELD = re.compile(r"\b(karya|karangan|tulisan|penulis|pengarang|oleh|tentang|mengenai|soal|by|about)\b")
_NOT_TITLE = frozenset(
    """mana dimana rak letak lokasi berapa kapan bisa boleh dipinjam pinjem tersedia masih msh lagi lg
    juga saja aja sekarang skrg sudah udah udh belum blm yg utk dgn sm""".split()
)


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
    # "... bisa dipinjam?" about one book the catalog has asks how its copies are: its
    # availability answers (all on loan: until when), never a "none available" without it.
    only_available = wants_available(text) and not _from_catalog(tracker, "title")
    if title and not (author or subject or follow_up) and not _from_catalog(tracker, "title"):
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


def _from_catalog(tracker: Tracker, name: str) -> bool:
    """True when the engine found entity ``name`` in the catalog itself (a whole title: nothing
    to complete)."""
    return any(
        e.get("entity") == name and e.get("extractor") == "catalog"
        for e in tracker.latest_message.get("entities") or []
    )


def _from_topic(tracker: Tracker) -> bool:
    """True when the subject is the whole message's topic the engine found in the catalog."""
    return any(
        e.get("entity") == "subject" and e.get("extractor") == "topic"
        for e in tracker.latest_message.get("entities") or []
    )


def _authors(hit: CatalogHit) -> str:
    return ", ".join(display_name(a) for a in hit.authors[:2])


def format_hit(hit: CatalogHit, lang: str, ebook: EBookInfo | None = None) -> str:
    """"Laskar Pelangi — Andrea Hirata (2005)\n2 dari 4 eksemplar tersedia ...", with the e-book
    of the same work (``ebook``) as its digital version: one work, one answer."""
    head = f"\u201c{hit.title}\u201d"
    by = _authors(hit)
    if by:
        head += f" \u2014 {by}"
    if hit.year:
        head += f" ({hit.year})"
    lines = [head, describe(hit.availability, lang)]
    if hit.ebook_url:
        lines.append(t("catalog.ebook", lang, url=hit.ebook_url))
    elif ebook is not None:
        if ebook.platform:
            lines.append(t("catalog.ebook_on", lang, platform=ebook.platform, url=ebook.url))
        else:
            lines.append(t("catalog.ebook", lang, url=ebook.url))
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
            signal(dispatcher, kind="asked_back")
            return [SlotSet("topic", "catalog")]
        evidence = self.ctx.evidence
        about: str | None = None  # the topic the hits are about, when found on the whole message
        hits: list[CatalogHit] = []
        volume = evidence.volume if evidence is not None and page == 1 and not is_follow_up(tracker) else None
        if volume is not None:
            if not volume.hits:
                # A volume the catalog lacks: say so, never another volume in its place.
                dispatcher.utter_message(text=t("catalog.volume_missing", lang, number=volume.number, series=volume.series))
                signal(dispatcher, searched=f"{volume.series} {volume.number}", found=False)
                return [SlotSet("topic", "catalog"), SlotSet("failed_turns", 0.0)]
            hits = list(volume.hits)
        if not hits and subject and not (title or author) and evidence is not None and evidence.topic \
                and not is_follow_up(tracker) and page == 1:
            # A subject the NLU tagged: the whole message's topic ranks the records better
            # ("novel tentang persahabatan naik gunung" is 5 cm before Laskar Pelangi).
            hits = [h for h in evidence.topic if h.availability.is_available or not query.only_available]
            about = self.ctx.kb.catalog_search.topic_label(tracker.latest_message.get("text") or "") if hits else None
        if not hits and subject and not (title or author) and page > 1:
            # The next page of a topic's list ("Lihat lainnya" after "ada buku sejarah?"): the
            # same topic search, further down.
            hits = await asyncio.to_thread(self.ctx.kb.catalog_topic, subject, limit=SHOWN * page + 1,
                                           only_available=query.only_available)
            about = subject if hits else None
        if not hits:
            hits = await asyncio.to_thread(self.ctx.kb.search_catalog, query)
        if not hits and query.subject and (query.title or query.author):
            # A subject tagged beside a title or author is often a word of the question ("mau
            # pastikan dulu"): the title and author alone.
            hits = await asyncio.to_thread(self.ctx.kb.search_catalog, dataclasses.replace(query, subject=None))
            # ... only a close match: "rumah" is no "Rumah Kaca" here.
            hits = [h for h in hits if h.score >= 90]
            if hits:
                subject = None
        if not hits and not is_follow_up(tracker) and page == 1:
            hits, about = await self._whole_message(tracker, query)
        events: list[dict[str, Any]] = [
            SlotSet("title", title), SlotSet("author", author), SlotSet("subject", subject),
        ]
        if not hits and query.only_available:
            dispatcher.utter_message(text=t("catalog.none_available", lang, query=asked))
            return [*events, *self.understood("catalog")]
        named = bool(_entity(tracker, "title") or _entity(tracker, "author"))
        # A subject the engine took from the whole message's topic is no tag of the NLU's: a
        # FAQ question ("buku anak ada di lantai berapa?") still gets the FAQ's answer.
        tagged = named or (bool(_entity(tracker, "subject")) and not _from_topic(tracker))
        faq_hits: list[FaqHit] = []
        if not is_follow_up(tracker) and not (hits and tagged):
            # Nothing in the catalog, or no book named at all: maybe not a book question
            # ("ada fasilitas untuk tunanetra?", "minjem buku disini dikenakan tarif gak?" whose
            # words loosely match some title). The FAQ answers when it clearly can; its "how to
            # check the catalog" entry (tag `katalog`) yields to a named book's "belum ada" and to
            # what the catalog found.
            faq_hits = await self.faq_hits(tracker)
            unless = "katalog" if named or hits else ""
            faq = self.answer_if_confident(dispatcher, tracker, faq_hits, lang, unless_tag=unless)
            if faq is not None:
                return faq
        signal(dispatcher, searched=asked, found=bool(hits))
        if not hits:
            suggest = button(t("button.suggest", lang), intent_payload("suggest_purchase", title=asked[:60]))
            # No book named and nothing found: the words may mean a FAQ entry the retrieval was
            # not sure of ("kak aku pny sekardus novel bekas, mau dikasih ke perpus bs?").
            offered = [] if tagged else self.faq_candidates(faq_hits)[:2]
            if offered:
                dispatcher.utter_message(
                    text=t("catalog.not_found_or_faq", lang, query=asked),
                    buttons=[*faq_buttons(offered, lang), suggest],
                )
            else:
                dispatcher.utter_message(text=t("catalog.not_found", lang, query=asked), buttons=[suggest])
                # A tagged "title" is sometimes a word of another question ("perpus punya
                # sosmed ga kak?"); the how-to-check-the-catalog entry is no help here.
                self.offer_faq(dispatcher, faq_hits, lang, except_tag="katalog")
            return [*events, SlotSet("topic", "catalog"), SlotSet("failed_turns", 0.0)]
        shown = hits[SHOWN * (page - 1) : SHOWN * page]
        if about:
            header = t("catalog.found_topic", lang, query=about)
        else:
            header = t("catalog.found_one", lang) if len(hits) == 1 else t("catalog.found_many", lang)
        # One blank-line-free message: Rasa's REST channel splits texts on blank lines.
        ebooks = await asyncio.to_thread(lambda: [self.ctx.kb.ebook_of(h) for h in shown])
        body = "\n".join(format_hit(h, lang, e) for h, e in zip(shown, ebooks, strict=True))
        buttons = []
        if len(hits) > SHOWN * page:
            entities = {k: v for k, v in (("title", title), ("author", author), ("subject", subject)) if v}
            if about and not (title or author):
                entities = {"subject": about}  # the next page continues the topic's list
            if not entities:
                entities = {"title": asked}
            buttons.append(button(t("button.more", lang), intent_payload("search_book", **entities, page=str(page + 1))))
        dispatcher.utter_message(text=f"{header}\n{body}", buttons=buttons or None)
        return [*events, *self.understood("catalog")]

    async def _whole_message(self, tracker: Tracker, query: CatalogQuery) -> tuple[list[CatalogHit], str | None]:
        """What the whole message finds when the NLU's title, author or subject did not: a
        catalog title clearly written in it, else records about its topic (with that topic).
        Never "belum ada di koleksi" while the message itself names a book we have."""
        text = tracker.latest_message.get("text") or ""
        if not text.strip() or text.startswith("/"):
            return [], None
        evidence = self.ctx.evidence
        kb = self.ctx.kb
        mention = evidence.strong_mention if evidence is not None else None
        if mention is None and evidence is not None and evidence.top_mention is not None and evidence.top_mention.clear:
            mention = evidence.top_mention  # "novel perburuan ada ga kak? yg jaman jepang itu"
        if mention is not None:
            found = await asyncio.to_thread(kb.search_catalog, dataclasses.replace(
                query, text="", title=mention.hit.title, author=mention.author, subject=None))
            if found:
                return found, None
        if evidence is not None and evidence.topic_searched:
            topic = list(evidence.topic)
            if query.only_available:
                topic = [h for h in topic if h.availability.is_available]
        else:
            topic = await asyncio.to_thread(
                kb.catalog_topic, text, limit=query.limit, only_available=query.only_available)
        if not topic:
            return [], None
        return topic, kb.catalog_search.topic_label(text)


class ActionSuggestPurchase(KnowledgeAction):
    """Records a patron's suggestion to buy a book the library lacks.

    Recorded only once the patron said yes: a title from a button ("Usulkan ..."), or the book
    the bot just offered to note ("... belum ada. Mau saya catat?" -> "ya" / "usulkan buku
    ini"). A tagged title that looks like one (:func:`looks_like_title`) is offered first
    ("Mau saya catat ... sebagai usulan?"). Otherwise the message may be a question about
    suggestions or donations rather than a title ("Apa ketentuan buku yang dapat diterima
    sebagai hibah?"): the FAQ answers when it clearly can; when it only might, the patron
    chooses between noting the words as a title and the FAQ entries; a tagged word that is no
    title ("dari") makes the bot ask for the title. Nothing is written to the librarians' list
    from a guess.
    """

    def name(self) -> str:
        return "action_suggest_purchase"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = language(tracker)
        text = tracker.latest_message.get("text") or ""
        tagged = _entity(tracker, "title")
        if tagged and text.startswith("/"):
            return await self._record(dispatcher, tracker, tagged, lang)  # the patron tapped "yes"
        offered = offered_suggestion(tracker)
        if offered and not tagged:
            return await self._record(dispatcher, tracker, offered, lang)  # a typed yes to the offer
        if tagged and looks_like_title(tagged):
            return self._confirm(dispatcher, tagged, lang)
        hits = await self.faq_hits(tracker)
        if not (tagged and len(tagged.split()) >= 2):
            # No title, or one word of the question: a clear FAQ match is the answer. (A longer
            # tagged "title" is at least offered as a suggestion, beside the FAQ entries.)
            faq = self.answer_if_confident(dispatcher, tracker, hits, lang)
            if faq is not None:
                return faq
        title = tagged or strip_filler(text)
        if not title:
            dispatcher.utter_message(text=t("catalog.ask", lang))
            signal(dispatcher, kind="asked_back")
            return []
        candidates = self.faq_candidates(hits, near=False)[:2]
        if candidates:
            dispatcher.utter_message(
                text=t("suggest.which", lang, title=title),
                buttons=[
                    button(t("button.suggest_title", lang, title=title[:40]),
                           intent_payload("suggest_purchase", title=title[:60])),
                    *faq_buttons(candidates, lang),
                ],
            )
            signal(dispatcher, kind="asked_back")
            return []
        if tagged and not looks_like_title(tagged):
            # "dari", "of old": no title and no FAQ entry near; ask rather than record.
            dispatcher.utter_message(text=t("suggest.ask", lang))
            signal(dispatcher, kind="asked_back")
            return []
        return self._confirm(dispatcher, title, lang)

    @staticmethod
    def _confirm(dispatcher: CollectingDispatcher, title: str, lang: str) -> list[dict[str, Any]]:
        """Nothing goes on the librarians' list before the patron says yes: one tap (or a typed
        "ya", read as the yes to this offer) records it."""
        dispatcher.utter_message(
            text=t("suggest.confirm", lang, title=title),
            buttons=[button(t("button.suggest_title", lang, title=title[:40]),
                            intent_payload("suggest_purchase", title=title[:60]))],
        )
        return []

    async def _record(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, title: str, lang: str
    ) -> list[dict[str, Any]]:
        await asyncio.to_thread(add_suggestion, self.ctx.kb.sessions, title, tracker.sender_id)
        dispatcher.utter_message(text=t("suggest.thanks", lang, title=title))
        return self.understood("catalog")


# Words a title seldom starts or ends with: a "title" cut out of a sentence ("of old",
# "seharian untuk ujian dan", "sebagai hibah").
_EDGE_WORDS = STOPWORDS | frozenset(
    "untuk sebagai dengan dalam pada oleh bagi agar supaya karena juga saja aja gimana bagaimana".split()
)


def looks_like_title(tagged: str) -> bool:
    """A tagged title to record without asking: not starting or ending with a function word
    (a leading "the"/"a" is fine), and two words or more or one uncommon word ("sapiens",
    "pachinko"; not "waktu" or "hibah", more likely a word of a question)."""
    words = fold(tagged).split()
    if len(words) > 1 and words[0] in ("the", "a", "an"):
        words = words[1:]
    if not words or words[0] in _EDGE_WORDS or words[-1] in _EDGE_WORDS:
        return False
    return len(words) >= 2 or not is_common_word(words[0])


def offered_suggestion(tracker: Tracker) -> str | None:
    """The title the bot's last reply offered to note as a purchase suggestion (its button), if
    any: the engine keeps it in the conversation's context (``offered_title``)."""
    value = tracker.get_slot("offered_title")
    return str(value) if value else None
