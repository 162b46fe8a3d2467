"""E-books patrons can read online."""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.catalog import strip_filler
from knowledge.models import EBook
from knowledge.text import fold, terms


@dataclass(frozen=True)
class EBookInfo:
    """An e-book and where to read it."""

    title: str
    authors: tuple[str, ...]
    platform: str | None
    url: str


def find_ebooks(sessions: sessionmaker[Session], text: str = "", *, limit: int = 5) -> list[EBookInfo]:
    """E-books matching ``text`` (title, author or subject); all of them when ``text`` is empty."""
    wanted = strip_filler(text)
    for word in ("ebook", "e", "digital", "elektronik", "online", "baca", "membaca"):
        wanted = " ".join(w for w in wanted.split() if w != word)
    with sessions() as session:
        books = list(session.scalars(select(EBook).order_by(EBook.title)))
    if wanted:
        wt = set(terms(wanted))
        scored = []
        for b in books:
            hay = " ".join([b.title, *b.authors, *b.subjects])
            score = max(
                fuzz.token_set_ratio(wanted, fold(hay)),
                100.0 * len(wt & set(terms(hay))) / max(len(wt), 1),
            )
            if score >= 80:
                scored.append((score, b))
        scored.sort(key=lambda x: -x[0])
        books = [b for _, b in scored]
    return [EBookInfo(b.title, tuple(b.authors), b.platform, b.url) for b in books[:limit]]
