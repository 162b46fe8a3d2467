"""Upcoming library events."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.models import Event
from knowledge.datenames import day_names, month_names
from knowledge.text import STOPWORDS, fold, stem, words


@dataclass(frozen=True)
class EventInfo:
    """One event occurrence, times aware."""

    title: str
    description: str | None
    location: str | None
    starts_at: datetime
    ends_at: datetime | None
    id: int | None = None


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def events_between(
    sessions: sessionmaker[Session], start: datetime, end: datetime, *, limit: int = 5
) -> list[EventInfo]:
    """Events starting in ``[start, end)``, soonest first."""
    with sessions() as session:
        rows = session.scalars(
            select(Event)
            .where(Event.starts_at >= start.astimezone(UTC))
            .where(Event.starts_at < end.astimezone(UTC))
            .order_by(Event.starts_at)
            .limit(limit)
        )
        return [
            EventInfo(
                e.title,
                e.description,
                e.location,
                _aware(e.starts_at),
                _aware(e.ends_at) if e.ends_at else None,
                e.id,
            )
            for e in rows
        ]


def event_by_id(sessions: sessionmaker[Session], event_id: int) -> EventInfo | None:
    """One event by its id (None: no such event)."""
    with sessions() as session:
        e = session.get(Event, event_id)
        if e is None:
            return None
        return EventInfo(e.title, e.description, e.location, _aware(e.starts_at),
                         _aware(e.ends_at) if e.ends_at else None, e.id)


# --- events by topic ---------------------------------------------------------------------------

# Words of an events question that name no topic: "ada acara ... gak di perpus?", "kapan ya?".
EVENT_FILLER = STOPWORDS | frozenset(
    """ada acara acaranya kegiatan kegiatannya event events activity activities agenda program
    kapan jadwal jadwalnya jam tanggal ini besok nanti lagi berikutnya selanjutnya terdekat
    diadain diadakan adain mulai mulainya dimulai buka ikut ikutan join daftar gimana bagaimana
    perpus perpustakaan library gak ga nggak enggak engga tidak min kak kakak ya yah dong nih sih
    deh kah tahun depan bulan minggu tiap setiap rutin masih jalan gratis free bareng bersama
    sama buat untuk bagi the any anything doing held there at is are do does will next when
    saya aku kami kita anak2 kalau kalo katanya itu umur usia kelas ke yang yg pas saat cara
    belajar menggunakan pakai memakai ingin mau pengen pengin diumumin diumumkan lho kok
    tahun session sessions sesi apa aja saja apakah coming up upcoming soon happening schedule
    scheduled week month year today tomorrow weekend anything something going on held offer
    offers seru menarik bagus asik asyik keren baru terbaru fun interesting cool new
    suka senang gemar hobi demen doyan banget sekali sangat like likes love loves
    judul judulnya tema temanya si sang""".split()
) - {"kelas"}

# Kinds of events and audiences: a match on these alone names no topic ("turnamen catur" is no
# "lomba bercerita"). Each group's words are one word for matching.
def _word_groups(*groups: str) -> tuple[frozenset[str], ...]:
    return tuple(frozenset(group.split()) for group in groups)


EVENT_KINDS = _word_groups(
    "lomba kompetisi competition contest turnamen tournament",
    "pelatihan latih kelas workshop training class course kursus",
    "diskusi bincang talkshow seminar discussion talk",
    "pameran bazar bazaar exhibition fair",
    "klub club komunitas community",
)
# Audiences: a question's "buat ibu2" weighs half against an event that names none.
AUDIENCES = _word_groups(
    "anak bocah kids kid children child sd tk paud cilik kecil",
    "remaja teen teens teenager sma smp pelajar",
    "balita toddler toddlers batita",
    "ibu mother mothers mama mamah mami bunda emak",
    "umum public",
)
# An event open to the public serves every audience, if less pointedly than one named for it.
_PUBLIC = AUDIENCES[-1]
_PUBLIC_WEIGHT = 0.5
# Everyday and English words of event topics -> the words event descriptions use.
EVENT_SYNONYMS: dict[str, tuple[str, ...]] = {
    "storytelling": ("dongeng", "cerita"),
    "story": ("cerita",),
    "stories": ("cerita",),
    "writing": ("tulis",),
    "write": ("tulis",),
    "creative": ("kreatif",),
    "cerpen": ("cerpen",),
    "reading": ("baca",),
    "read": ("baca",),
    "book": ("buku",),
    "books": ("buku",),
    "world": ("sedunia",),
    "national": ("nasional",),
    "day": ("hari",),
    "digital": ("digital",),
    "pusling": ("keliling",),
    "mobil": ("keliling",),
    "bedah": ("bedah",),
    "nonton": ("film",),
    "movie": ("film",),
    "film": ("film",),
    "puasa": ("ramadan",),
    "ramadhan": ("ramadan",),
    "ngabuburit": ("ngabuburit", "ramadan"),
    "kuis": ("kuis",),
    "quiz": ("kuis",),
    "hoax": ("hoaks",),
    "hoaks": ("hoaks",),
    "olahan": ("olah",),
    "nanas": ("nanas",),
    "nenas": ("nanas",),
    "penulis": ("penulis", "tulis"),
    "author": ("penulis",),
    "mendongeng": ("dongeng",),
    "online": ("daring",),
    "email": ("surel",),
    "mail": ("surel",),
    "telat": ("lambat",),
    "internet": ("daring",),
}

TOPIC_EVENT_MATCH = 0.5
UNKNOWN_WEIGHT = 0.75
_TITLE_WEIGHT, _DESCRIPTION_WEIGHT = 1.0, 0.75


def _kind(form: str) -> frozenset[str] | None:
    return next((group for group in EVENT_KINDS + AUDIENCES if form in group), None)


def _audience(forms: tuple[str, ...]) -> bool:
    return any(f in group for f in forms for group in AUDIENCES)


def _colloquial(word: str) -> list[str]:
    """Standard forms of a chat verb: "ngenalin" -> "kenal", "nulis" -> "tulis"."""
    out = []
    base = word[:-2] if word.endswith("in") and len(word) > 5 else word
    if base.startswith("nge") and len(base) > 5:
        out.append(base[3:])
    if base.startswith("ng") and len(base) > 4:
        out += ["k" + base[2:], base[2:]]
    elif base.startswith("ny") and len(base) > 4:
        out.append("s" + base[2:])
    elif base.startswith("n") and len(base) > 4 and base[1] in "aeiou":
        out.append("t" + base[1:])
    if base != word:
        out.append(base)
    return out


@lru_cache(maxsize=1)
def _date_names() -> frozenset[str]:
    """Day and month names (Indonesian and English, CLDR's): they name a time, not a topic."""
    names = [*day_names("id"), *day_names("en"), *month_names("id"), *month_names("en")]
    return frozenset(w for name in names for w in fold(name).split())


def topic_words(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """Each topic word of an events question with the forms it may take in an event's text."""
    out: dict[str, tuple[str, ...]] = {}
    toks = words(text)
    for i, w in enumerate(toks):
        # A number, an age or a count ("5thn") and the unit after a number ("2 taun") are no topic.
        after_number = i > 0 and toks[i - 1].isdigit()
        if w in EVENT_FILLER or stem(w) in EVENT_FILLER or w in out or len(w) < 2 or any(c.isdigit() for c in w) or after_number \
                or w in _date_names():
            continue
        forms = [w, stem(w), *EVENT_SYNONYMS.get(w, ())]
        forms += [stem(f) for f in _colloquial(w)]
        out[w] = tuple(dict.fromkeys(forms))
    return list(out.items())


@dataclass(frozen=True)
class _EventText:
    title: set[str]
    description: set[str]


def _event_terms(title: str, description: str | None) -> _EventText:
    def of(text: str) -> set[str]:
        found = set()
        for w in words(text):
            found.add(w)
            found.add(stem(w))
            if w.endswith("i") and len(w) > 6:  # "mengenali": Sastrawi's stem misses "kenal"
                found.add(stem(w[:-1]))
        return found

    return _EventText(of(title), of(description or ""))


def _where(forms: tuple[str, ...], text: _EventText) -> float:
    """The weight of a word's match in an event: its title, its description, or none."""
    group: set[str] = set()
    for f in forms:
        group |= _kind(f) or {f}
    if group & text.title:
        return _TITLE_WEIGHT
    if group & text.description:
        return _DESCRIPTION_WEIGHT
    if _audience(forms) and _PUBLIC & (text.title | text.description):
        return _PUBLIC_WEIGHT
    return 0.0


def events_about(
    sessions: sessionmaker[Session], text: str, start: datetime, end: datetime, *, limit: int = 3
) -> tuple[list[EventInfo], bool]:
    """Upcoming events (the next occurrence of each) about the topic of ``text``, best first,
    and whether ``text`` names a topic at all (a word other than "acara", "kapan", "di perpus").

    Each topic word is looked up, with its stem, everyday and English synonyms
    (``EVENT_SYNONYMS``) and the standard form of a chat verb ("ngenalin" -> "kenal"), in the
    event's title (full weight) and description (half). Kinds of events and audiences
    ("lomba", "kelas", "anak") are one word per kind and never enough alone: "turnamen catur"
    finds no "lomba bercerita". An event is returned when its matched words weigh at least
    ``TOPIC_EVENT_MATCH`` of the words the events know (each weighted by its rarity among them).
    """
    wanted = topic_words(text)
    if not wanted:
        return [], False
    with sessions() as session:
        rows = session.scalars(
            select(Event)
            .where(Event.starts_at >= start.astimezone(UTC))
            .where(Event.starts_at < end.astimezone(UTC))
            .order_by(Event.starts_at)
        )
        upcoming: dict[str, EventInfo] = {}
        for e in rows:
            if e.title not in upcoming:
                upcoming[e.title] = EventInfo(
                    e.title, e.description, e.location, _aware(e.starts_at),
                    _aware(e.ends_at) if e.ends_at else None, e.id,
                )
    texts = {title: _event_terms(title, info.description) for title, info in upcoming.items()}
    n = len(texts)
    # A word no event has ("catur", "inggris") still weighs against every event, as much as
    # the rarest word: "kelas bahasa inggris" is not the writing class with a
    # "guru Bahasa Indonesia".
    unknown = UNKNOWN_WEIGHT * math.log((n + 1) / 0.5)
    weights: list[tuple[tuple[str, ...], float, bool]] = []
    missing = 0
    for _, forms in wanted:
        df = sum(1 for t in texts.values() if _where(forms, t) > 0)
        if df:
            specific = not any(_kind(f) for f in forms)
            weight = math.log((n + 1) / (df + 0.5)) * (0.5 if _audience(forms) else 1.0)
            weights.append((forms, weight, specific))
        else:
            missing += 1
    if not weights:
        return [], True
    # Each further word no event has weighs half the one before: a long question's everyday
    # words ("teman sebaya, ada wadahnya?") do not drown the words the events have.
    unknown_total = sum(unknown * 0.5**i for i in range(missing))
    # Only kinds and audiences matched ("ada lomba buat anak?"): enough when the events know
    # every word of the question; "turnamen catur" names a topic (catur) no event has.
    all_known = missing == 0
    total = sum(w for _, w, _ in weights) + unknown_total
    scored = []
    for title, t in texts.items():
        got, specific = 0.0, False
        for forms, w, is_specific in weights:
            where = _where(forms, t)
            got += w * where
            specific = specific or (is_specific and where > 0)
        if (specific or all_known) and got / total >= TOPIC_EVENT_MATCH:
            scored.append((got / total, upcoming[title].starts_at, title))
    scored.sort(key=lambda x: (-x[0], x[1]))
    return [upcoming[title] for _, _, title in scored[:limit]], True


_EVENT_WORDS = frozenset(
    """acara kegiatan event events activity activities agenda sesi session sessions""".split()
)


def names_event_kind(text: str) -> bool:
    """True when the message names an event or a kind of event ("acara", "lomba", "workshop")."""
    return bool(_word_forms(text) & _EVENT_WORDS) or names_event_type(text)


def names_event_type(text: str) -> bool:
    """True when the message names a kind of event ("kelas", "lomba", "workshop"), not just
    "acara"."""
    found = _word_forms(text)
    return any(found & group for group in EVENT_KINDS)


def _word_forms(text: str) -> set[str]:
    found = set(words(text))
    return found | {stem(w) for w in found}


def topic_label(text: str, *, most: int = 4) -> str:
    """The topic words of an events question, as the reply names them ("lomba anak"; the first
    ``most`` of a long message)."""
    return " ".join(w for w, _ in topic_words(text)[:most])
