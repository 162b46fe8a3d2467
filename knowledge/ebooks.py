"""E-books patrons can read online."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz
from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.catalog import FILLER, QUESTION_WORDS, TOPIC_FILLER, TOPIC_SYNONYMS, acronyms, names_audience
from knowledge.models import EBook, Record
from knowledge.text import fold, stem, words
from knowledge.works import same_work


@dataclass(frozen=True)
class EBookInfo:
    """An e-book and where to read it."""

    title: str
    authors: tuple[str, ...]
    platform: str | None
    url: str


# Words of an e-book question that name no book: "versi digital ... bisa dibaca di hp?".
EBOOK_FILLER = frozenset(
    """ebook ebooks e digital elektronik online daring pdf epub ipusnas versi version baca dibaca
    membaca bacanya hp handphone ponsel gadget aplikasi app latar latarnya setting dimana mana
    format file telepon genggam""".split()
)
# A match this close to a written word counts ("siti" is the e-book's "Sitti").
WORD_MATCH = 85.0
EBOOK_MATCH = 0.5
# A word no e-book has ("karet", "resep") weighs against every e-book, nearly as much as the
# rarest word: "ebook budidaya karet" is not the e-book on growing pineapples.
UNKNOWN_WEIGHT = 0.75
# Below EBOOK_MATCH, an e-book still answers when it is the collection's best book on the
# message's topic (its print record leads the catalog's topic search).
EBOOK_NEAR = 0.35
# A word found only in the e-book's print record (its subjects), against one of its own.
PRINT_WEIGHT = 0.9


def ebook_words(text: str) -> list[str]:
    """The words of ``text`` that may name an e-book's title, author or subject."""
    skip = FILLER | QUESTION_WORDS | TOPIC_FILLER | EBOOK_FILLER
    toks = words(text)
    return list(dict.fromkeys(
        w for i, w in enumerate(toks) if (w not in skip or names_audience(toks, i)) and len(w) >= 2
    ))


def _print_subjects(session: Session, books: list[EBook]) -> dict[int, list[str]]:
    """The subjects of each e-book's print record (the same work, :mod:`knowledge.works`): one
    work, one description ("Sitti Nurbaya" in print is catalogued "Kawin paksa" too)."""
    mains = {b.id: b.title.split(": ", 1)[0] for b in books}
    wanted = {m.lower() for m in mains.values()}
    rows = session.execute(
        select(Record.title, Record.subtitle, Record.authors, Record.subjects)
        .where(func.lower(Record.title).in_(sorted(wanted)))
    ).all()
    found: dict[int, list[str]] = {}
    for title, subtitle, authors, subjects in rows:
        full = f"{title}: {subtitle}" if subtitle else title
        for b in books:
            if same_work(full, authors or [], b.title, b.authors) or same_work(title, authors or [], mains[b.id], b.authors):
                found.setdefault(b.id, []).extend(subjects or [])
    return found


def _terms(book: EBook, extra: list[str] | None = None) -> tuple[frozenset[str], str]:
    return _described(book.title, tuple(book.authors), tuple(book.subjects), tuple(extra or ()))


@lru_cache(maxsize=4096)
def _described(
    title: str, authors: tuple[str, ...], subjects: tuple[str, ...], extra: tuple[str, ...]
) -> tuple[frozenset[str], str]:
    """The words (and stems) an e-book is found by, and its words without spaces (cached: each
    message's search reads every e-book)."""
    found: set[str] = set()
    for text in (title, *authors, *subjects, *extra):
        for w in words(text):
            found |= {w, stem(w)}
    squashed = fold(" ".join([title, *subjects, *extra])).replace(" ", "")
    return frozenset(found | acronyms(title)), squashed


def _forms(word: str) -> set[str]:
    return {word, stem(word), *TOPIC_SYNONYMS.get(word, ()), *TOPIC_SYNONYMS.get(stem(word), ())}


def _has(forms: set[str], have: AbstractSet[str], squashed: str) -> bool:
    for form in forms:
        parts = form.split()
        if all(p in have for p in parts) or (len(form) >= 4 and form.replace(" ", "") in squashed):
            return True
    return any(len(f) >= 4 and len(h) >= 4 and fuzz.ratio(f, h) >= WORD_MATCH for f in forms for h in have)


@dataclass(frozen=True)
class Shelf:
    """Every e-book with the words it is found by (its own record's, and with its print record's
    subjects added), loaded once per version of the data."""

    books: tuple[EBookInfo, ...]
    own: tuple[tuple[frozenset[str], str], ...]
    described: tuple[tuple[frozenset[str], str], ...]


def load_shelf(sessions: sessionmaker[Session]) -> Shelf:
    """All e-books, by title, with their search words."""
    with sessions() as session:
        books = list(session.scalars(select(EBook).order_by(EBook.title)))
        printed = _print_subjects(session, books) if books else {}
    own = tuple(_terms(b) for b in books)
    described = tuple(_terms(b, printed[b.id]) if b.id in printed else mine for b, mine in zip(books, own, strict=True))
    infos = tuple(EBookInfo(b.title, tuple(b.authors), b.platform, b.url) for b in books)
    return Shelf(infos, own, described)


class EBookShelf:
    """The :class:`Shelf` of a database, loaded again when the e-books or the catalog change.

    Whether they changed is asked at most every ``check_interval`` seconds (one aggregate
    statement), as :class:`knowledge.catalog.CatalogSearch` does for the catalog: a message's
    searches (its words, then each catalog hit's e-book) read the shelf in memory.
    """

    def __init__(self, sessions: sessionmaker[Session], *, check_interval: float = 2.0) -> None:
        self.sessions = sessions
        self.check_interval = check_interval
        self._shelf: Shelf | None = None
        self._signature: tuple[object, ...] | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def shelf(self) -> Shelf:
        """The current shelf (the data's signature asked again after ``check_interval`` seconds)."""
        now = time.monotonic()
        shelf = self._shelf
        if shelf is not None and now - self._checked_at < self.check_interval:
            return shelf
        with self._lock:
            if self._shelf is not None and now - self._checked_at < self.check_interval:
                return self._shelf
            with self.sessions() as session:
                signature = tuple(session.execute(select(
                    select(func.count(EBook.id)).scalar_subquery(),
                    select(func.max(EBook.id)).scalar_subquery(),
                    # Every field a search or a reply reads: an edited subject or link is a new shelf.
                    select(func.sum(
                        func.length(EBook.title) + func.length(EBook.url) + func.coalesce(func.length(EBook.platform), 0)
                        + func.length(cast(EBook.authors, Text)) + func.length(cast(EBook.subjects, Text))
                    )).scalar_subquery(),
                    select(func.count(Record.id)).scalar_subquery(),
                    select(func.max(Record.updated_at)).scalar_subquery(),
                )).one())
            if self._shelf is None or signature != self._signature:
                self._shelf = load_shelf(self.sessions)
                self._signature = signature
            self._checked_at = now
            return self._shelf

    def rank(self, text: str = "", *, limit: int = 5, at_least: float = EBOOK_MATCH) -> list[tuple[float, EBookInfo]]:
        """:func:`rank_shelf` on the current shelf."""
        return rank_shelf(self.shelf(), text, limit=limit, at_least=at_least)

    def find(self, text: str = "", *, limit: int = 5) -> list[EBookInfo]:
        """E-books matching ``text`` (title, author or subject); all of them when ``text`` names
        none (see :func:`rank_shelf`)."""
        return [book for share, book in self.rank(text, limit=limit) if share >= EBOOK_MATCH]


def rank_shelf(
    shelf: Shelf, text: str = "", *, limit: int = 5, at_least: float = EBOOK_MATCH
) -> list[tuple[float, EBookInfo]]:
    """E-books with the share of ``text``'s words they match (at least ``at_least``), best first;
    every e-book (share 1) when ``text`` names none.

    Each word of ``text`` (without question, filler and e-book words) is looked up with its stem
    and everyday synonyms in the e-book's title, authors and subjects (a word as close as "siti"
    to "sitti" counts). An e-book is found when its matched words weigh at least half of all the
    words, each weighted by its rarity among the e-books; a word no e-book has weighs too.
    """
    wanted = ebook_words(text)
    if not wanted:
        return [(1.0, b) for b in shelf.books[:limit]]
    n = len(shelf.books)
    weights: list[tuple[set[str], float]] = []
    for w in wanted:
        forms = _forms(w)
        df = sum(1 for have, squashed in shelf.described if _has(forms, have, squashed))
        weight = math.log((n + 1) / (df + 0.5)) * (1.0 if df else UNKNOWN_WEIGHT)
        weights.append((forms, weight))
    total = sum(w for _, w in weights) or 1.0
    asked = " ".join(wanted)
    scored = []
    for book, (mine, my_squashed), (have, squashed) in zip(shelf.books, shelf.own, shelf.described, strict=True):
        # A word of the e-book's own record counts whole; one of its print record's a little less.
        share = sum(
            w if _has(forms, mine, my_squashed) else PRINT_WEIGHT * w
            for forms, w in weights if _has(forms, have, squashed)
        ) / total
        if len(asked) >= 4 and fuzz.partial_ratio(asked, fold(book.title)) >= 90 and len(asked) <= len(fold(book.title)) + 2:
            share = max(share, 1.0)  # the title itself, written whole
        if share >= at_least:
            scored.append((share, book))
    scored.sort(key=lambda x: -x[0])
    return scored[:limit]
