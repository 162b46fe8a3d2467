"""What the library's knowledge says about one message, gathered before any reply is chosen.

Every source is asked concurrently (each search runs in a worker thread: the knowledge base is
synchronous SQLAlchemy): FAQ retrieval, the catalog on the whole message and on the titles
written inside it, events when a date is named, e-books on the message's words.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from actions.dates import DateRange, parse_period
from actions.understanding import Parse
from knowledge.catalog import BOOK_KINDS, GENERIC_BOOK_WORDS, CatalogHit, CatalogQuery, Mention, VolumeAnswer, strip_filler
from knowledge.ebooks import EBookInfo
from knowledge.events import EventInfo, names_event_kind
from knowledge.faq_search import FaqHit
from knowledge.kb import KnowledgeBase
from knowledge.text import fold, terms


@dataclass(frozen=True)
class Evidence:
    """The knowledge's answers to one message, before the engine decides."""

    faq: tuple[FaqHit, ...] = ()
    faq_confident: bool = False
    mentions: tuple[Mention, ...] = ()
    # The volume of a series the message asks for ("tetralogi buru jilid 1", "lanjutan dilan").
    volume: VolumeAnswer | None = None
    catalog: tuple[CatalogHit, ...] = ()  # the catalog search on the whole message
    catalog_query: str = ""  # what that search looked for (the message without filler words)
    # Records about the message's topic ("buku tentang budidaya nanas"): asked for a book
    # search, or a message naming a kind of book ("buku", "novel", "kamus") whatever the NLU read.
    topic: tuple[CatalogHit, ...] = ()
    topic_searched: bool = False
    # Upcoming events about the message's topic, when it names a kind of event and no date
    # ("ada lomba buat anak?", "workshop menulis kapan?").
    topic_events: tuple[EventInfo, ...] = ()
    period: DateRange | None = None
    events: tuple[EventInfo, ...] = ()  # in the named period (none named: not searched)
    ebooks: tuple[EBookInfo, ...] = ()

    @property
    def strong_mention(self) -> Mention | None:
        """A catalog title that is clearly what the message is about."""
        return next((m for m in self.mentions if m.strong), None)

    @property
    def elsewhere(self) -> str | None:
        """The other place or library the message is about ("dukcapil"), if any."""
        return self.faq[0].elsewhere if self.faq else None

    @property
    def top_mention(self) -> Mention | None:
        """The best catalog title in the message, however weak."""
        return self.mentions[0] if self.mentions else None

    def summary(self) -> dict[str, Any]:
        """A compact, log-friendly account (for the decision's explanation)."""
        return {
            "faq": [[h.item.id, round(h.score, 3)] for h in self.faq[:3]],
            "faq_judge": None if not self.faq or self.faq[0].confidence is None else round(self.faq[0].confidence, 3),
            "faq_confident": self.faq_confident,
            "elsewhere": self.elsewhere,
            "mentions": [
                [m.hit.title, round(m.title_score), round(m.coverage, 2), m.strong] for m in self.mentions[:2]
            ],
            "volume": None if self.volume is None else [self.volume.series, self.volume.number,
                                                        [h.title for h in self.volume.hits]],
            "catalog": [[h.title, h.matched, round(h.score)] for h in self.catalog[:2]],
            "topic": [[h.title, round(h.score)] for h in self.topic[:2]],
            "period": self.period.label_id if self.period else None,
            "events": len(self.events),
            "topic_events": [e.title for e in self.topic_events[:2]],
            "ebooks": len(self.ebooks),
        }


@dataclass(frozen=True)
class TextEvidence:
    """What the knowledge says on the message's words alone: asked while the NLU reads it."""

    faq: tuple[FaqHit, ...] = ()
    mentions: tuple[Mention, ...] = ()
    volume: VolumeAnswer | None = None


def worth_searching(text: str) -> bool:
    """False for an empty message or one without a single word."""
    return bool(text.strip()) and bool(terms(text, drop_stopwords=False))


async def gather_text(kb: KnowledgeBase, text: str) -> TextEvidence:
    """FAQ retrieval and the catalog titles in the message: both need only the text."""
    if not worth_searching(text) or text.startswith("/"):
        return TextEvidence()
    def catalog() -> tuple[list[Mention], VolumeAnswer | None]:
        mentions = kb.catalog_mentions(text)
        return mentions, kb.catalog_volume(text, mentions)

    faq, (mentions, volume) = await asyncio.gather(
        asyncio.to_thread(kb.search_faq, text, limit=3),
        asyncio.to_thread(catalog),
    )
    return TextEvidence(faq=tuple(faq), mentions=tuple(mentions), volume=volume)


async def gather(
    kb: KnowledgeBase, parse: Parse, zone: ZoneInfo, *, now: datetime | None = None,
    early: TextEvidence | None = None,
) -> Evidence:
    """Ask every knowledge source about ``parse.text`` at once (``early``: the text-only part,
    already asked while the NLU was reading the message)."""
    text = parse.text
    if not worth_searching(text) or parse.from_button:
        return Evidence()
    now = now or datetime.now(zone)
    named = parse.entity("period")
    period = (parse_period(named, now.date()) if named else None) or parse_period(text, now.date())
    wanted = parse.entity("subject") or parse.entity("title") or (text if mentions_ebooks(text) else "")

    async def events() -> list[EventInfo]:
        if period is None:
            if not names_event_kind(text):
                return []
            about, _ = await asyncio.to_thread(kb.events_about, text, now, now + EVENTS_HORIZON, limit=3)
            return about
        start = max(datetime.combine(period.start, time(0), zone), now)
        return await asyncio.to_thread(kb.events, start, datetime.combine(period.end, time(0), zone), limit=6)

    # The whole-message catalog search only matters where the rules read it (a book question
    # without a tagged title, an unclear or out-of-scope message): elsewhere it is not asked.
    whole = parse.intent in _WHOLE_MESSAGE_INTENTS
    on_topic = (whole and parse.intent in ("search_book", "suggest_purchase")) or names_book_kind(text)

    def catalog_side() -> tuple[list[CatalogHit], list[EBookInfo], list[CatalogHit]]:
        # One worker thread for the database's sources (SQLite serialises them anyway).
        return (
            kb.search_catalog(CatalogQuery(text=text, limit=4, fuzzy=False)) if whole else [],
            kb.ebooks(wanted, limit=5) if wanted else [],
            kb.catalog_topic(text, limit=4) if on_topic else [],
        )

    async def catalog_rest() -> tuple[list[CatalogHit], list[EBookInfo], list[CatalogHit]]:
        if not (whole or wanted or on_topic):
            return [], [], []
        return await asyncio.to_thread(catalog_side)

    first, (catalog, ebooks, topic), found_events = await asyncio.gather(
        _early(kb, text, early), catalog_rest(), events(),
    )
    return Evidence(
        faq=first.faq,
        faq_confident=kb.thresholds.confident(list(first.faq)),
        mentions=first.mentions,
        volume=first.volume,
        catalog=tuple(catalog),
        catalog_query=strip_filler(text),
        period=period,
        events=tuple(found_events) if period is not None else (),
        topic_events=tuple(found_events) if period is None else (),
        ebooks=tuple(ebooks),
        topic=tuple(topic),
        topic_searched=on_topic,
    )


async def _early(kb: KnowledgeBase, text: str, early: TextEvidence | None) -> TextEvidence:
    return early if early is not None else await gather_text(kb, text)


# How far ahead events asked for by their topic are looked for (the calendar's import horizon).
EVENTS_HORIZON = timedelta(days=366)
_WHOLE_MESSAGE_INTENTS = frozenset({None, "search_book", "suggest_purchase", "out_of_scope", "nlu_fallback"})
def names_book_kind(text: str) -> bool:
    """True when the message names a kind of book ("ada novel tentang catur?")."""
    return bool(set(fold(text).split()) & BOOK_KINDS)


def names_specific_kind(text: str) -> bool:
    """True when the message names a kind of book more specific than "buku" ("ada kamus
    bahasa indonesia?", "kumpulan surat kartini")."""
    return bool(set(fold(text).split()) & (BOOK_KINDS - GENERIC_BOOK_WORDS))


_E_BOOK = re.compile(r"\be books?\b")  # "e-book", not "language book"
_EBOOK_WORDS = frozenset("ebook ebooks digital elektronik pdf ipusnas online".split())


def mentions_ebooks(text: str) -> bool:
    """True when the message says e-book, digital, PDF, online or iPusnas."""
    folded = fold(text)
    return bool(set(folded.split()) & _EBOOK_WORDS) or bool(_E_BOOK.search(folded))
