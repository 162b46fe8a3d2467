"""Catalog search over bibliographic records, with live copy availability.

Typo-tolerant matching on title, author and subject (rapidfuzz over folded text, Indonesian
stems for subjects). A title is only reported as found when it really matches: a look-alike is
never presented as the book asked for.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from knowledge.availability import Availability, availability
from knowledge.models import Copy, Record
from knowledge.text import STOPWORDS, fold, stem, terms

# Words patrons wrap around a title: "ada buku X ga min?" -> "X".
FILLER = frozenset(
    """ada apa buku bukunya novel novelnya cari carikan mencari pinjam minjam meminjam judul
    judulnya karya karangan tulisan penulis pengarang tentang mengenai soal yang ga gak nggak
    tidak kah min kak dong nih tersedia punya perpus perpustakaan do you have book books any
    by about available is there novel""".split()
) | STOPWORDS

TITLE_MATCH = 86.0
AUTHOR_MATCH = 85.0


@dataclass(frozen=True)
class CatalogQuery:
    """What the patron is looking for; any combination of fields."""

    text: str = ""
    title: str | None = None
    author: str | None = None
    subject: str | None = None
    only_available: bool = False
    limit: int = 5


@dataclass(frozen=True)
class CatalogHit:
    """A record that matches, with its availability."""

    record_id: int
    title: str
    authors: tuple[str, ...]
    year: str | None
    score: float
    matched: str
    availability: Availability
    ebook_url: str | None = None


@dataclass
class _Entry:
    id: int
    title: str
    authors: list[str]
    subjects: set[str]
    title_terms: set[str] = field(default_factory=set)
    squashed: str = ""  # subjects and title without spaces: "budi daya" matches "budidaya"


def strip_filler(text: str) -> str:
    """Remove the words around a title or author in a patron's message."""
    return " ".join(w for w in fold(text).split() if w not in FILLER)


def _author_forms(name: str) -> list[str]:
    folded = fold(name)
    if "," in name:
        last, _, first = name.partition(",")
        return [folded, fold(f"{first} {last}")]
    return [folded]


class CatalogSearch:
    """Search the records of a database; the index refreshes when the catalog changes."""

    def __init__(self, sessions: sessionmaker[Session], *, check_interval: float = 5.0) -> None:
        self.sessions = sessions
        self.check_interval = check_interval
        self._entries: list[_Entry] = []
        self._signature: tuple[int, str] | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        now = time.monotonic()
        if self._signature is not None and now - self._checked_at < self.check_interval:
            return
        with self._lock, self.sessions() as session:
            self._checked_at = now
            count, latest = session.execute(
                select(func.count(Record.id), func.max(Record.updated_at))
            ).one()
            signature = (int(count), str(latest))
            if signature == self._signature:
                return
            rows = session.execute(
                select(Record.id, Record.title, Record.subtitle, Record.authors, Record.subjects)
            ).all()
            entries = []
            for rid, title, subtitle, authors, subjects in rows:
                full = f"{title} {subtitle}" if subtitle else title
                entries.append(
                    _Entry(
                        id=rid,
                        title=fold(title),
                        authors=[form for a in authors or [] for form in _author_forms(a)],
                        subjects={t for s in subjects or [] for t in terms(s)},
                        title_terms=set(terms(full)),
                        squashed=fold(" ".join([full, *(subjects or [])])).replace(" ", ""),
                    )
                )
            self._entries = entries
            self._signature = signature

    def _score(self, entry: _Entry, q: CatalogQuery) -> tuple[float, str]:
        scores: list[tuple[float, str]] = []
        if q.title:
            t = strip_filler(q.title) or fold(q.title)
            s = max(fuzz.ratio(t, entry.title), fuzz.token_sort_ratio(t, entry.title))
            if len(t) >= 4 and entry.title.startswith(t + " "):
                s = max(s, 88.0)
            scores.append((s if s >= TITLE_MATCH else 0.0, "title"))
        if q.author:
            a = strip_filler(q.author) or fold(q.author)
            s = max((fuzz.token_set_ratio(a, form) for form in entry.authors), default=0.0)
            scores.append((s if s >= AUTHOR_MATCH else 0.0, "author"))
        if q.subject:
            wanted = (strip_filler(q.subject) or fold(q.subject)).split()
            if wanted:
                known = entry.subjects | entry.title_terms
                matched = sum(
                    1 for w in wanted
                    if stem(w) in known or (len(w) >= 4 and w in entry.squashed)
                )
                scores.append((100.0 if matched == len(wanted) else 0.0, "subject"))
        if not scores:
            return 0.0, ""
        # Every field the patron gave must match.
        if any(s == 0.0 for s, _ in scores):
            return 0.0, ""
        total = sum(s for s, _ in scores) / len(scores)
        return total, scores[0][1]

    def search(self, query: CatalogQuery) -> list[CatalogHit]:
        """Records matching ``query``, best first, at most ``query.limit``."""
        self._refresh()
        q = query
        if not (q.title or q.author or q.subject):
            text = strip_filler(q.text)
            if not text:
                return []
            # Free text: a title first; else an author; else a subject.
            for variant in (
                CatalogQuery(title=text, only_available=q.only_available, limit=q.limit),
                CatalogQuery(author=text, only_available=q.only_available, limit=q.limit),
                CatalogQuery(subject=text, only_available=q.only_available, limit=q.limit),
            ):
                hits = self.search(variant)
                if hits:
                    return hits
            return []
        scored = []
        for entry in self._entries:
            score, matched = self._score(entry, q)
            if score > 0:
                scored.append((score, matched, entry.id))
        scored.sort(key=lambda x: (-x[0], x[2]))
        return self._load_hits(scored, q)

    def _load_hits(self, scored: list[tuple[float, str, int]], q: CatalogQuery) -> list[CatalogHit]:
        if not scored:
            return []
        candidates = scored[: max(q.limit * 4, 20)]
        with self.sessions() as session:
            records = {
                r.id: r
                for r in session.scalars(
                    select(Record)
                    .where(Record.id.in_([rid for _, _, rid in candidates]))
                    .options(selectinload(Record.copies))
                )
            }
            hits = []
            for score, matched, rid in candidates:
                record = records.get(rid)
                if record is None:
                    continue
                av = availability(record.copies, record.call_number)
                if q.only_available and not av.is_available:
                    continue
                hits.append(
                    CatalogHit(
                        record_id=record.id,
                        title=record.title if not record.subtitle else f"{record.title}: {record.subtitle}",
                        authors=tuple(record.authors or ()),
                        year=record.year,
                        score=score,
                        matched=matched,
                        availability=av,
                        ebook_url=record.ebook_url,
                    )
                )
                if len(hits) >= q.limit:
                    break
            return hits

    def copies(self, record_id: int) -> list[Copy]:
        """Copies of one record (fresh from the database)."""
        with self.sessions() as session:
            return list(session.scalars(select(Copy).where(Copy.record_id == record_id)))
