"""Catalog search over bibliographic records, with live copy availability.

Two stages. Candidates come from the database's own full-text index over ``catalog_index``
(SQLite FTS5; PostgreSQL ``tsvector`` plus pg_trgm similarity), after each query word has been
corrected against the index's vocabulary ("lascar" -> "laskar", "parok" -> "paruk"). The
candidates are then scored with rapidfuzz on title, author, subject (Indonesian stems, Sastrawi)
or ISBN. A title is only reported as found when it really matches: a look-alike is never
presented as the book asked for, so a patron gets an honest "belum ada di koleksi kami".

``catalog_index`` is maintained by :func:`reindex` (called by every import and lazily by the
search when the records changed behind its back).
"""

from __future__ import annotations

import dataclasses

import logging
import math
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, delete, func, insert, select
from sqlalchemy import text as sql
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from stdnum import isbn as stdnum_isbn
from stdnum.exceptions import InvalidChecksum, ValidationError

from knowledge.availability import Availability, availability
from knowledge.models import Copy, Record
from knowledge.series import SERIES_KINDS, parse_volume, series_core
from knowledge.text import STOPWORDS, fold, is_common_word, number_form, stem, terms, words

log = logging.getLogger(__name__)

# Words patrons wrap around a title: "ada buku X ga min?" -> "X".
FILLER = frozenset(
    """ada apa buku bukunya novel novelnya cari carikan mencari pinjam minjam meminjam judul
    judulnya karya karangan tulisan penulis pengarang tentang mengenai soal yang ga gak nggak
    tidak kah min kak dong nih tersedia punya perpus perpustakaan do you have book books any
    by about available is there novel sama nya""".split()
) | STOPWORDS

TITLE_MATCH = 86.0
AUTHOR_MATCH = 85.0
CORRECTION_MATCH = 75.0
CANDIDATES = 200
# Candidates of the loose (any word) fallback: it only rescues a title or name with one word
# the index does not know, so its best-ranked few are enough (and misses stay cheap).
LOOSE_CANDIDATES = 50
# pg_trgm similarity a title (or a name, by word similarity) needs to be a trigram candidate.
TRIGRAM_THRESHOLD = 0.5

# The search index table (created by migration 0002; not an ORM model on purpose: it is derived
# data owned by this module).
INDEX_METADATA = MetaData()
CATALOG_INDEX = Table(
    "catalog_index",
    INDEX_METADATA,
    Column("record_id", Integer, primary_key=True),
    Column("stamp", String(64)),
    Column("title", Text),
    Column("subtitle", Text),
    Column("authors", Text),
    Column("subjects", Text),
    Column("title_terms", Text),
    Column("isbn", Text),
)

_ISBN_QUERY = re.compile(r"^(?:isbn[:\s]*)?([0-9][0-9\- ]{8,16}[0-9xX])$", re.IGNORECASE)
_ISBN_CHUNK = re.compile(r"[0-9][0-9\-]{8,16}[0-9xX]|[0-9]{9}[xX]")


@dataclass(frozen=True)
class CatalogQuery:
    """What the patron is looking for; any combination of fields."""

    text: str = ""
    title: str | None = None
    author: str | None = None
    subject: str | None = None
    only_available: bool = False
    limit: int = 5
    isbn: str | None = None
    # Correct the query's words against the catalog's vocabulary ("lascar" -> "laskar"). Off for
    # the engine's whole-message evidence: a typo fix there turns "kartu" into "karet".
    fuzzy: bool = True


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


@dataclass(frozen=True)
class Mention:
    """A catalog title found inside a patron's free-form message (see :meth:`CatalogSearch.mentions`).

    ``title_score`` is rapidfuzz's ratio of the title against its best window of the message;
    ``coverage`` the share of the message's content words (not filler, not question words) that
    the title and the author named beside it cover: "laskar pelangi andrea hirata" covers all of
    them, "hujan2 gini buka ga" (the novel *Hujan*) a third.
    """

    hit: CatalogHit
    title_score: float
    coverage: float
    author: str | None = None
    # Written right after a word naming a kind of book: "novel perburuan ada ga?".
    introduced: bool = False

    @property
    def clear(self) -> bool:
        """Clear enough to answer from the catalog where the FAQ is unsure: strong, or a title of
        two words or more matched closely beside other words ("... catatan seorang demonstran?
        skripsi aku tentang gerakan mahasiswa"), or an uncommon one-word title in half the
        message."""
        if self.strong:
            return True
        if self.title_score < 90:
            return False
        if self.introduced:
            return True
        title = fold(self.hit.title.split(": ", 1)[0]).split()
        if len(title) >= 2:
            return self.coverage >= 0.3
        # One word: an everyday one ("pulang" in "boleh bawa pulang buku?") is no title here.
        return self.coverage >= 0.5 and not is_common_word(title[0])

    @property
    def asked_for(self) -> bool:
        """A title written whole where the message asks for a book ("mau baca lupus", "sebelas
        patriot bisa dipinjem?"): a catalog question whatever the NLU read."""
        return self.introduced and self.title_score >= 95

    @property
    def strong(self) -> bool:
        """Sure enough to answer from the catalog whatever the NLU read: a title of two words or
        more matched closely and covering most of the message, or a one-word title that is
        practically the whole message."""
        if len(fold(self.hit.title).split()) >= 2:
            return self.title_score >= 90 and self.coverage >= 0.6
        return self.title_score >= 95 and self.coverage >= 0.99


@dataclass(frozen=True)
class VolumeAnswer:
    """The volume of a series a message asks for: the series, the volume's number and its
    record(s) (none: the catalog lacks that volume)."""

    series: str
    number: int
    hits: tuple[CatalogHit, ...] = ()


# Words of a catalog question that are not part of a title: "di rak mana", "masih ada gak".
QUESTION_WORDS = frozenset(
    """rak letak lokasi dimana mana where shelf eksemplar stok stock sedia masih lagi lg msh dipinjam
    pinjem bisa boleh sekarang skrg udah sudah belum blm kapan berapa gimana bagaimana cara tahu
    kah punya nyari cariin tolong mohon info halo hai hallo hello hi permisi selamat pagi siang sore
    malam tanya nanya bertanya sedang dipinjam dipinjem dipinjamkan minjem pengen ingin mau
    cek ngecek check versi version want borrow available baca membaca""".split()
)
MENTION_WORDS = 20

# Words that ask for the book written right after them ("mau baca lupus", "cari sepotong senja
# untuk pacarku") or right before them ("sebelas patriot bisa dipinjem?", "... ready ga").
ASKS_BEFORE = frozenset(
    """baca membaca bacain pinjam meminjam minjam cari carikan cariin mencari nyari butuh membutuhkan
    read borrow""".split()
)
ASKS_AFTER = frozenset("dipinjam dipinjem dipinjamkan pinjam ready tersedia available".split())
# Leading articles a title is filed without (MARC's non-filing characters): "The Rainbow Troops".
_ARTICLES = frozenset("the a an".split())

# Words naming a kind of book; a title written right after one is clearly a title ("novel
# perburuan ada ga?").
BOOK_KINDS = frozenset(
    """buku bukunya novel novelnya bacaan komik kamus ensiklopedia ensiklopedi majalah biografi
    antologi kumpulan cerpen puisi sajak kitab atlas memoar book books novels dictionary
    encyclopedia biography anthology poems poetry atlas""".split()
)
# The kinds that say only "a book": "buku anak ada di lantai berapa?" asks where, not for books
# about children.
GENERIC_BOOK_WORDS = frozenset("buku bukunya bacaan book books".split())

# Words of a topic request that are not the topic: "ada buku tentang investasi buat pemula?" is
# about "investasi". (FILLER and QUESTION_WORDS come on top.)
TOPIC_FILLER = frozenset(
    """buku bukunya novel novelnya cerita ceritanya kisah kisahnya bacaan bacaannya baca membaca
    referensi rekomendasi rekomendasiin saran cara seputar topik tema genre jenis macam dll dsb dst
    gitu gituan begitu biar agar supaya buat untuk bagi sama dengan dan atau juga terus mau pengen
    pengin ingin perlu butuh cari nyari mencari belajar pemula bagus lengkap yg dulu kalau kalo klo
    sih aja saja dari pak bu bapak ibu kh ya yah kan nya ini itu yaitu seperti kayak gimana
    book books novels any some english indonesian language read reading recommend something
    looking need want like tugas kuliah skripsi makalah ujian matkul semester pr homework
    assignment hari jam menit minggu tahun kali brp sampai hingga""".split()
)
# Words that address the librarian ("pak", "bu") in a message, but name an audience after "buat",
# "untuk" ("ebook buat ibu hamil").
ADDRESS_WORDS = frozenset("pak bu bapak ibu".split())
_FOR_WORDS = frozenset("buat untuk bagi for".split())


def names_audience(toks: Sequence[str], i: int) -> bool:
    """True when ``toks[i]`` is an address word naming who a book is for ("buat ibu hamil")."""
    return toks[i] in ADDRESS_WORDS and i > 0 and toks[i - 1] in _FOR_WORDS

# Everyday synonyms of library subject words (a patron's word -> the catalog's usual word).
TOPIC_SYNONYMS: dict[str, tuple[str, ...]] = {
    "budidaya": ("budi daya",),
    "ternak": ("budi daya",),
    "beternak": ("budi daya",),
    "peternakan": ("budi daya",),
    "nanem": ("tanam", "budi daya"),
    "menanam": ("tanam", "budi daya"),
    "bercocok": ("tanam", "budi daya"),
    "zaman": ("masa",),
    "jaman": ("masa",),
    "era": ("masa",),
    "biography": ("biografi",),
    "memoir": ("memoar",),
    "islami": ("islam",),
    "alquran": ("qur an",),
    "quran": ("qur an",),
    "recipe": ("resep",),
    "recipes": ("resep",),
    "cooking": ("masakan", "kuliner"),
    "kuliner": ("makanan",),
    "makanan": ("kuliner",),
    "dictionary": ("kamus",),
    "cerpen": ("cerita pendek",),
    "sajak": ("puisi",),
    "encyclopedia": ("ensiklopedia",),
    "ensiklopedi": ("ensiklopedia",),
    "programming": ("pemrograman",),
    # English subject words -> Indonesian (the collection is mostly catalogued in Indonesian)
    "history": ("sejarah",),
    "south": ("selatan",),
    "north": ("utara",),
    "east": ("timur",),
    "west": ("barat",),
    "health": ("kesehatan",),
    "children": ("anak",),
    "child": ("anak",),
    "kids": ("anak",),
    "mother": ("ibu",),
    "agriculture": ("pertanian",),
    "farming": ("pertanian", "budi daya"),
    "philosophy": ("filsafat",),
    "religion": ("agama",),
    "economy": ("ekonomi",),
    "finance": ("keuangan",),
    "women": ("perempuan",),
    "woman": ("perempuan",),
    "letters": ("surat",),
    "computer": ("komputer",),
    "poetry": ("puisi",),
    "poems": ("puisi",),
    "fiction": ("fiksi",),
    "habits": ("kebiasaan",),
    "habit": ("kebiasaan",),
    "parenting": ("parenting",),
}

# An old-spelling word as patrons write it today ("soekarno" -> "sukarno", "djoko" -> "joko").
_OLD_SPELLING = (("oe", "u"), ("dj", "j"), ("tj", "c"))

TOPIC_MATCH = 0.45
# A match through a synonym, modern spelling or corrected typo, against the word itself.
OTHER_FORM = 0.85
# A topic word is corrected to a catalog word only this close (a typo, not another word).
TOPIC_CORRECTION = 85.0
# A word in more than this share of the catalog ("fiksi", "indonesia") tells no topic alone.
TOPIC_COMMON = 0.25


@dataclass
class _Entry:
    id: int
    title: str
    authors: list[str]
    subjects: set[str]
    title_terms: set[str] = field(default_factory=set)
    squashed: str = ""  # subjects and title without spaces: "budi daya" matches "budidaya"
    subtitle: str = ""
    isbns: set[str] = field(default_factory=set)


@dataclass
class _Wanted:
    """A query's comparison forms (folded, corrected, stemmed), computed once per search."""

    isbns: frozenset[str] = frozenset()
    titles: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    subjects: list[tuple[str, str, str]] = field(default_factory=list)  # word, stem, corrected


def strip_filler(text: str) -> str:
    """Remove the words around a title or author in a patron's message."""
    return " ".join(w for w in fold(text).split() if w not in FILLER)


def _author_forms(name: str) -> list[str]:
    folded = fold(name)
    if "," in name:
        last, _, first = name.partition(",")
        return [folded, fold(f"{first} {last}")]
    return [folded]


# --- ISBN -------------------------------------------------------------------------------------


def _isbns(value: str | None) -> Iterator[tuple[str, bool]]:
    """The ISBN-shaped numbers in ``value``, compact, each with whether its check digit is right.

    A number with a wrong check digit is still yielded (catalogs contain typos, and patrons type
    the number printed on the book); anything else that is not an ISBN (wrong length, an EAN
    outside 978/979) is skipped. Checks and conversions are python-stdnum's.
    """
    for chunk in _ISBN_CHUNK.findall(value or ""):
        number = stdnum_isbn.compact(chunk)
        try:
            yield stdnum_isbn.validate(number), True
        except InvalidChecksum:
            yield number, False
        except ValidationError:
            continue


def normalize_isbn(value: str | None) -> str | None:
    """The first valid ISBN in ``value`` as bare digits (``0-596-00108-8 (pbk.)`` -> ``0596001088``).

    Falls back to the first ISBN with a wrong check digit, so a catalog typo keeps its identity.
    """
    found = list(_isbns(value))
    return next((number for number, valid in found if valid), found[0][0] if found else None)


def isbn_forms(value: str | None) -> list[str]:
    """The ISBN-10 and ISBN-13 forms of the ISBNs in ``value`` (for exact lookups)."""
    forms: list[str] = []
    for number, valid in _isbns(value):
        forms.append(number)
        if len(number) == 10:
            forms.append(stdnum_isbn.to_isbn13(number))
        elif valid and number.startswith("978"):
            forms.append(stdnum_isbn.to_isbn10(number))
    return list(dict.fromkeys(f.lower() for f in forms))


# --- index maintenance -----------------------------------------------------------------------


def index_row(
    record_id: int,
    stamp: str,
    *,
    title: str,
    subtitle: str | None,
    authors: Sequence[str] | None,
    subjects: Sequence[str] | None,
    isbn: str | None,
    series: str | None = None,
) -> dict[str, Any]:
    """The ``catalog_index`` row of one record (its series' words are title terms)."""
    return {
        "record_id": record_id,
        "stamp": stamp,
        "title": fold(title),
        "subtitle": fold(subtitle or ""),
        "authors": " | ".join(_author_text(a) for a in authors or []),
        "subjects": " ".join(_terms_text(s) for s in subjects or []),
        "title_terms": " ".join(filter(None, (_terms_text(title), _terms_text(subtitle or ""),
                                             _terms_text(series or "")))),
        "isbn": " ".join(isbn_forms(isbn)),
    }


@lru_cache(maxsize=200_000)
def _terms_text(text: str) -> str:
    # Subjects and series words repeat across a catalog: stem each distinct string once.
    return " ".join(terms(text))


@lru_cache(maxsize=200_000)
def _author_text(name: str) -> str:
    return " | ".join(_author_forms(name))


def reindex(session: Session, *, batch: int = 1000) -> int:
    """Bring ``catalog_index`` in line with ``records`` (new, changed and deleted records).

    Runs inside the caller's transaction, so an import and its index commit together.

    Returns:
        The number of records (re)indexed.
    """
    stamps = {rid: str(ts) for rid, ts in session.execute(select(Record.id, Record.updated_at))}
    indexed = dict(session.execute(select(CATALOG_INDEX.c.record_id, CATALOG_INDEX.c.stamp)).all())
    gone = [rid for rid in indexed if rid not in stamps]
    stale = [rid for rid, stamp in stamps.items() if indexed.get(rid) != stamp]
    for i in range(0, len(gone), batch):
        session.execute(delete(CATALOG_INDEX).where(CATALOG_INDEX.c.record_id.in_(gone[i : i + batch])))
    for i in range(0, len(stale), batch):
        chunk = stale[i : i + batch]
        rows = session.execute(
            select(
                Record.id, Record.updated_at, Record.title, Record.subtitle, Record.authors,
                Record.subjects, Record.isbn, Record.series,
            ).where(Record.id.in_(chunk))
        ).all()
        session.execute(delete(CATALOG_INDEX).where(CATALOG_INDEX.c.record_id.in_(chunk)))
        values = [
            index_row(
                rid, str(ts), title=title, subtitle=subtitle, authors=authors,
                subjects=subjects, isbn=isbn, series=series,
            )
            for rid, ts, title, subtitle, authors, subjects, isbn, series in rows
        ]
        if values:
            session.execute(insert(CATALOG_INDEX), values)
    return len(stale)


# --- search -----------------------------------------------------------------------------------


def _fts_group(alternatives: Iterable[str], *, prefix: bool = False) -> str:
    parts = [f'"{w}"' + ("*" if prefix and len(w) >= 3 else "") for w in dict.fromkeys(alternatives) if w]
    return "(" + " OR ".join(parts) + ")"


def _tsquery_group(alternatives: Iterable[str], *, prefix: bool = False) -> str:
    parts = [w + (":*" if prefix and len(w) >= 3 else "") for w in dict.fromkeys(alternatives) if w]
    return "(" + " | ".join(parts) + ")"




class CatalogSearch:
    """Search the records of a database; the index catches up when the catalog changes."""

    def __init__(self, sessions: sessionmaker[Session], *, check_interval: float = 5.0) -> None:
        self.sessions = sessions
        self.check_interval = check_interval
        self._signature: tuple[int, str] | None = None
        self._checked_at = 0.0
        self._vocab: set[str] = set()
        self._by_initial: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._dialect = ""
        self._has_trgm = False
        self._corrections: dict[str, str] = {}
        self._df: dict[str, int] = {}
        self._records = 0
        self._squashed: tuple[list[int], list[str]] = ([], [])
        self._initials: dict[str, list[int]] = {}
        self._series: dict[str, list[tuple[int | None, int]]] = {}  # name -> (volume, record id)
        self._series_of: dict[int, tuple[str, int | None]] = {}
        self._series_authors: dict[str, set[str]] = {}  # name -> its authors' name words

    # refresh ----------------------------------------------------------------------------------

    def _refresh(self) -> None:
        now = time.monotonic()
        if self._signature is not None and now - self._checked_at < self.check_interval:
            return
        with self._lock:
            self._checked_at = now
            with self.sessions() as session:
                self._dialect = session.get_bind().dialect.name
                count, latest = session.execute(
                    select(func.count(Record.id), func.max(Record.updated_at))
                ).one()
                indexed = session.execute(select(func.count()).select_from(CATALOG_INDEX)).scalar_one()
            signature = (int(count), str(latest))
            if signature == self._signature:
                return
            if indexed != count or self._signature is not None or count:
                try:
                    with self.sessions.begin() as session:
                        reindex(session)
                except SQLAlchemyError:  # a busy writer: serve the index we have
                    log.warning("catalog index catch-up failed; serving the current index", exc_info=True)
            self._load_vocabulary()
            self._signature = signature

    def _load_vocabulary(self) -> None:
        with self.sessions() as session:
            records = session.execute(select(func.count()).select_from(CATALOG_INDEX)).scalar_one()
            if self._dialect == "sqlite":
                df = {term: int(doc) for term, doc in session.execute(sql("SELECT term, doc FROM catalog_fts_vocab"))}
            else:
                df = {}
                for row in session.execute(
                    select(
                        CATALOG_INDEX.c.title, CATALOG_INDEX.c.subtitle, CATALOG_INDEX.c.authors,
                        CATALOG_INDEX.c.subjects, CATALOG_INDEX.c.title_terms,
                    )
                ):
                    for word in set(" ".join(row).replace("|", " ").split()):
                        df[word] = df.get(word, 0) + 1
                if self._dialect == "postgresql":
                    self._has_trgm = bool(
                        session.execute(sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first()
                    )
            vocab = set(df)
            titles = list(session.execute(select(CATALOG_INDEX.c.record_id, CATALOG_INDEX.c.title)))
            squashed = [(rid, title.replace(" ", "")) for rid, title in titles]
            statements = list(session.execute(
                select(Record.id, Record.series, Record.series_number, Record.year, Record.authors)
                .where(Record.series.is_not(None))
            ))
            series = _number_volumes(statements)
            series_authors = {name: set() for name in series}
            for _, name, _, _, authors in statements:
                series_authors[name] |= {p for a in authors or () for p in fold(a.replace(",", " ")).split() if len(p) >= 3}
            initials: dict[str, list[int]] = {}
            for rid, title in titles:
                for form in acronyms(title):
                    initials.setdefault(form, []).append(rid)
        by_initial: dict[str, list[str]] = {}
        for word in vocab:
            by_initial.setdefault(word[:1], []).append(word)
        self._vocab, self._by_initial = vocab, by_initial
        self._df, self._records = df, int(records)
        self._squashed = ([rid for rid, _ in squashed], [t for _, t in squashed])
        self._initials = initials
        self._series = series
        self._series_authors = series_authors
        self._series_of = {rid: (name, number) for name, vols in series.items() for number, rid in vols}
        self._corrections = {}

    def _correct(self, word: str) -> str:
        """The vocabulary word closest to ``word`` (itself when known, too short or no match)."""
        if word in self._vocab or len(word) < 4 or word.isdigit():
            return word
        corrected = self._corrections.get(word)
        if corrected is None:
            found = process.extractOne(
                word, self._by_initial.get(word[:1], []), scorer=fuzz.ratio, score_cutoff=CORRECTION_MATCH
            )
            corrected = found[0] if found else word
            if len(self._corrections) > 10_000:  # bounded: patrons' typos are endless
                self._corrections.clear()
            self._corrections[word] = corrected
        return corrected

    # candidates -------------------------------------------------------------------------------

    def _candidates(
        self, session: Session, columns: str, groups: list[list[str]], raw: str,
        memo: dict[tuple[str, int], list[int]] | None = None,
    ) -> list[int]:
        """Record ids whose ``columns`` contain every group (a group: alternatives of one word).

        ``memo`` holds one patron question's PostgreSQL word queries: they search the whole
        document, so the title and author passes of a free-text question would repeat them.
        """
        memo = {} if memo is None else memo
        if not groups:
            return []
        last = len(groups) - 1
        if self._dialect == "sqlite":
            expr = " AND ".join(
                f"{{{columns}}} : {_fts_group(g, prefix=(i == last and columns != 'isbn'))}"
                for i, g in enumerate(groups)
            )
            found = list(
                session.scalars(
                    sql("SELECT rowid FROM catalog_fts WHERE catalog_fts MATCH :q ORDER BY rank LIMIT :n"),
                    {"q": expr, "n": CANDIDATES},
                )
            )
            if not found and len(groups) > 1 and columns != "isbn":
                loose = " OR ".join(f"{{{columns}}} : {_fts_group(g)}" for g in groups)
                found = list(
                    session.scalars(
                        sql("SELECT rowid FROM catalog_fts WHERE catalog_fts MATCH :q ORDER BY rank LIMIT :n"),
                        {"q": loose, "n": LOOSE_CANDIDATES},
                    )
                )
            return found
        if self._dialect == "postgresql":
            pg_query = sql(
                "SELECT record_id FROM catalog_index WHERE document @@ to_tsquery('simple', :q) "
                "ORDER BY ts_rank(document, to_tsquery('simple', :q)) DESC LIMIT :n"
            )

            def ranked(query: str, n: int) -> list[int]:
                if (query, n) not in memo:
                    memo[(query, n)] = list(session.scalars(pg_query, {"q": query, "n": n}))
                return memo[(query, n)]

            found = ranked(" & ".join(_tsquery_group(g, prefix=(i == last)) for i, g in enumerate(groups)), CANDIDATES)
            if not found and len(groups) > 1:
                found = ranked(" | ".join(_tsquery_group(g) for g in groups), LOOSE_CANDIDATES)
            if not found and self._has_trgm and columns in ("title subtitle", "authors") and raw:
                # Nothing by words: titles (or names) sharing enough trigrams, via the GIN
                # trigram index; the threshold keeps a miss from scanning half the catalog.
                if columns == "authors":
                    where, order = ":q <% authors", "word_similarity(:q, authors)"
                else:
                    where, order = "title % :q", "similarity(title, :q)"
                session.execute(
                    sql("SELECT set_config('pg_trgm.similarity_threshold', :t, true), "
                        "set_config('pg_trgm.word_similarity_threshold', :t, true)"),
                    {"t": str(TRIGRAM_THRESHOLD)},
                )
                found = list(
                    session.scalars(
                        sql(f"SELECT record_id FROM catalog_index WHERE {where} ORDER BY {order} DESC LIMIT :n"),
                        {"q": raw, "n": LOOSE_CANDIDATES},
                    )
                )
            return found
        # Any other database: a plain scan (small catalogs only).
        return list(session.scalars(select(CATALOG_INDEX.c.record_id)))

    def _entries(self, session: Session, ids: list[int], q: CatalogQuery) -> list[_Entry]:
        """The index rows of ``ids``, with only the columns ``q`` is scored on."""
        if not ids:
            return []
        names = ["title"]
        if q.title or q.subject:
            names.append("subtitle")
        if q.author:
            names.append("authors")
        if q.subject:
            names += ["subjects", "title_terms"]
        if q.isbn:
            names.append("isbn")
        columns = [CATALOG_INDEX.c.record_id, *(CATALOG_INDEX.c[n] for n in names)]
        entries = []
        for row in session.execute(select(*columns).where(CATALOG_INDEX.c.record_id.in_(ids))):
            m = row._mapping
            entry = _Entry(id=m["record_id"], title=m["title"], authors=[], subjects=set(),
                           subtitle=m["subtitle"] if "subtitle" in m else "")
            if q.author:
                entry.authors = [a.strip() for a in m["authors"].split("|") if a.strip()]
            if q.subject:
                entry.subjects = set(m["subjects"].split())
                entry.title_terms = set(m["title_terms"].split())
                entry.squashed = (m["title"] + m["subtitle"] + m["subjects"]).replace(" ", "")
            if q.isbn:
                entry.isbns = set(m["isbn"].split())
            entries.append(entry)
        return entries

    def _words(self, text: str) -> list[str]:
        return words(strip_filler(text) or fold(text))

    def _fix(self, q: CatalogQuery, word: str) -> str:
        return self._correct(word) if q.fuzzy else word

    def _gather(
        self, session: Session, q: CatalogQuery, memo: dict[tuple[str, int], list[int]]
    ) -> list[_Entry]:
        ids: list[int] | None = None

        def narrow(found: list[int]) -> None:
            nonlocal ids
            ids = found if ids is None else [i for i in ids if i in set(found)]

        if q.isbn:
            narrow(self._candidates(session, "isbn", [[f] for f in isbn_forms(q.isbn)][:1], ""))
        if q.title:
            words = self._words(q.title)
            groups = [[w, self._fix(q, w)] for w in words]
            narrow(self._candidates(session, "title subtitle", groups, " ".join(words), memo))
        if q.author:
            words = self._words(q.author)
            groups = [[w, self._fix(q, w)] for w in words]
            narrow(self._candidates(session, "authors", groups, " ".join(words), memo))
        if q.subject:
            groups = []
            for w in self._words(q.subject):
                s = stem(w)
                groups.append([s, self._fix(q, s), self._fix(q, w)])
            narrow(self._candidates(session, "subjects title_terms", groups, "", memo))
        return self._entries(session, ids or [], q)

    # scoring ----------------------------------------------------------------------------------

    def _wanted(self, q: CatalogQuery) -> _Wanted:
        """What every candidate is compared with, computed once per search."""
        wanted = _Wanted()
        if q.isbn:
            wanted.isbns = frozenset(isbn_forms(q.isbn))
        if q.title:
            t = strip_filler(q.title) or fold(q.title)
            corrected = " ".join(self._fix(q, w) for w in words(t))
            # The title as written too: "Buku Kesehatan Ibu dan Anak" starts with a filler word.
            wanted.titles = tuple(dict.fromkeys((t, corrected, fold(q.title))))
        if q.author:
            a = strip_filler(q.author) or fold(q.author)
            corrected = " ".join(self._fix(q, w) for w in a.split())
            wanted.authors = tuple(dict.fromkeys((a, corrected)))
        if q.subject:
            for w in self._words(q.subject):
                s = stem(w)
                wanted.subjects.append((w, s, self._fix(q, s)))
        return wanted

    def _score(self, entry: _Entry, q: CatalogQuery, wanted: _Wanted) -> tuple[float, str]:
        scores: list[tuple[float, str]] = []
        if q.isbn:
            scores.append((100.0 if wanted.isbns & entry.isbns else 0.0, "isbn"))
        if q.title:
            s = 0.0
            full = f"{entry.title} {entry.subtitle}" if entry.subtitle else ""
            for form in wanted.titles:
                s = max(s, fuzz.ratio(form, entry.title), fuzz.token_sort_ratio(form, entry.title))
                if full:  # the display title: "Sejarah Indonesia Modern 1200-2008"
                    s = max(s, fuzz.ratio(form, full))
                if len(form) >= 4 and entry.title.startswith(form + " "):
                    s = max(s, 88.0)
            scores.append((s if s >= TITLE_MATCH else 0.0, "title"))
        if q.author:
            s = max(
                (fuzz.token_set_ratio(form_q, form) for form in entry.authors for form_q in wanted.authors),
                default=0.0,
            )
            scores.append((s if s >= AUTHOR_MATCH else 0.0, "author"))
        if q.subject and wanted.subjects:
            known = entry.subjects | entry.title_terms
            matched = sum(
                1 for w, s, corrected in wanted.subjects
                if s in known or corrected in known or (len(w) >= 4 and w in entry.squashed)
            )
            scores.append((100.0 if matched == len(wanted.subjects) else 0.0, "subject"))
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
        hits = self._search(query, {})
        if not hits and query.title and ": " in query.title:
            # A record's display title, "Title: Subtitle" (what a mention or a button carries).
            hits = self._search(dataclasses.replace(query, title=query.title.split(": ", 1)[0]), {})
        return hits

    def _search(self, q: CatalogQuery, memo: dict[tuple[str, int], list[int]]) -> list[CatalogHit]:
        if not (q.title or q.author or q.subject or q.isbn):
            isbn = _ISBN_QUERY.match(q.text.strip())
            if isbn and isbn_forms(isbn.group(1)):
                return self._search(
                    CatalogQuery(isbn=isbn.group(1), only_available=q.only_available, limit=q.limit), memo
                )
            text = strip_filler(q.text)
            if not text:
                return []
            # Free text: a title first; else an author; else a subject.
            for variant in (
                CatalogQuery(title=text, only_available=q.only_available, limit=q.limit, fuzzy=q.fuzzy),
                CatalogQuery(author=text, only_available=q.only_available, limit=q.limit, fuzzy=q.fuzzy),
                CatalogQuery(subject=text, only_available=q.only_available, limit=q.limit, fuzzy=q.fuzzy),
            ):
                hits = self._search(variant, memo)
                if hits:
                    return hits
            return []
        with self.sessions() as session:
            entries = self._gather(session, q, memo)
        wanted = self._wanted(q)
        scored = []
        for entry in entries:
            score, matched = self._score(entry, q, wanted)
            if score > 0:
                scored.append((score, matched, entry.id))
        scored.sort(key=lambda x: (-x[0], x[2]))
        return self._load_hits(scored, q)

    def _load_hits(self, scored: list[tuple[float, str, int]], q: CatalogQuery) -> list[CatalogHit]:
        if not scored:
            return []
        candidates = scored[: max(q.limit * 4, 20)]
        ids = [rid for _, _, rid in candidates]
        # Plain column selects (no ORM objects): this runs for every search of every message.
        with self.sessions() as session:
            records = {
                row.id: row
                for row in session.execute(
                    select(Record.id, Record.title, Record.subtitle, Record.authors, Record.year,
                           Record.call_number, Record.ebook_url).where(Record.id.in_(ids))
                )
            }
            copies: dict[int, list[Any]] = {}
            for row in session.execute(
                select(Copy.record_id, Copy.status, Copy.due_date, Copy.location, Copy.call_number)
                .where(Copy.record_id.in_(ids)).order_by(Copy.record_id, Copy.id)
            ):
                copies.setdefault(row.record_id, []).append(row)
        hits = []
        for score, matched, rid in candidates:
            record = records.get(rid)
            if record is None:
                continue
            av = availability(copies.get(rid, []), record.call_number)
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

    def mentions(self, text: str, *, limit: int = 3) -> list[Mention]:
        """Catalog titles that appear in ``text``, best first.

        The catalog search proper wants the title already cut out of the message; patrons write
        it inside a sentence ("min, novel bumi manusia masih ada gak?"), after greetings, with
        the author after it ("laskar pelangi andrea hirata"). Candidates are the records sharing
        any content word with the message; each title is then aligned with its best window of
        the message (typos corrected against the catalog's vocabulary), and an author named in the
        rest of the message counts as covered.
        """
        self._refresh()
        toks = words(text)[:MENTION_WORDS]
        content = [i for i, w in enumerate(toks) if w not in FILLER and w not in QUESTION_WORDS]
        if not content:
            return []
        corrected = [self._correct(w) if i in content else w for i, w in enumerate(toks)]
        groups = [[w, c] for w, c in dict.fromkeys((toks[i], corrected[i]) for i in content)]
        with self.sessions() as session:
            ids = self._any_word(session, groups)
            ids += [i for i in self._squashed_titles(toks[i] for i in content) if i not in ids]
            entries = self._entries(session, ids, CatalogQuery(title=text, author=text, subject=text))
        found: list[tuple[float, float, str | None, int, int, int]] = []
        for entry in entries:
            # A record's specific subject words describe it too ("alkitab ... umat kristen");
            # "fiksi", "indonesia" describe half the catalog.
            entry.subjects = {w for w in entry.subjects if not self._everywhere(w)}
            mention = _align(entry, toks, corrected, content)
            if mention is not None:
                found.append((*mention, entry.id))
        # Best first; of equals, the title written first ("milea ... versi dilannya").
        found.sort(key=lambda m: (-(m[0] * m[1]), -m[0], m[3], m[5]))
        found = found[:limit]
        hits = {h.record_id: h for h in self._load_hits([(s, "title", rid) for s, *_, rid in found],
                                                       CatalogQuery(limit=limit))}
        return [
            Mention(hit=hits[rid], title_score=score, coverage=coverage, author=author,
                    introduced=_introduced(toks, start, end))
            for score, coverage, author, start, end, rid in found if rid in hits
        ]

    def _everywhere(self, word: str) -> bool:
        return self._df.get(word, 0) > TOPIC_COMMON * max(self._records, 1)

    def _squashed_titles(self, tokens: Iterable[str]) -> list[int]:
        """Records whose title, written without spaces or as its initials, is one word of the
        message the index does not know ("5cm" for "5 cm", "cabaukan" for "Ca-Bau-Kan", "kbbi")."""
        ids, titles = self._squashed
        found: list[int] = []
        for token in tokens:
            if len(token) < 3 or token in self._vocab:
                continue
            found += self._initials.get(token, [])
            for _, _, index in process.extract(token, titles, scorer=fuzz.ratio, score_cutoff=TITLE_MATCH, limit=5):
                found.append(ids[index])
        return found


    def topic(self, text: str, *, limit: int = 5, only_available: bool = False) -> list[CatalogHit]:
        """Records about the topic of ``text``, best first ("ada buku tentang budidaya nanas?").

        The message's content words (without filler, question and topic-request words) are
        looked up, each with its stem, an everyday synonym (``TOPIC_SYNONYMS``), today's spelling
        of an old one and, for a word the catalog does not know, its closest catalog word, in
        the titles, subtitles, subjects and authors. A record scores the share of the known
        words it has, each weighted by its rarity in the catalog (idf): "investasi" says more
        than "indonesia". Only records with at least ``TOPIC_MATCH`` of that weight and a
        matched word that is not everywhere are returned; ``matched`` is ``"topic"``.
        """
        self._refresh()
        wanted = self._topic_words(text)
        known = [
            (alts, own, self._idf(alts), is_common_word(w))
            for w, alts, own in wanted if any(self._known(a) for a in alts)
        ]
        if not known:
            return []
        groups = [sorted({p for a in alts for p in a.split()}) for alts, *_ in known]
        with self.sessions() as session:
            ids = self._any_word(session, groups, columns="title subtitle authors subjects title_terms",
                                 n=CANDIDATES)
            entries = self._entries(session, ids, CatalogQuery(author="x", subject="x"))
        total = sum(weight for _, _, weight, _ in known)
        scored: list[tuple[float, str, int]] = []
        for entry in entries:
            have = entry.subjects | entry.title_terms | set(entry.title.split()) | {
                p for a in entry.authors for p in a.split()
            }
            described = entry.subjects | set(entry.subtitle.split()) | set(_terms_text(entry.subtitle).split())
            got, specific = 0.0, False
            for alts, own, weight, common in known:
                # An everyday word ("harus", "rumah") is a topic only in the subjects or the
                # subtitle: in a title it is the question's word, not the book's topic ("hrs
                # ganti ga" is no "Seperti Dendam, Rindu Harus Dibayar Tuntas").
                where = described if common else have
                squashed = "" if common else entry.squashed
                # The word itself (or its stem) counts whole; a synonym, a modern spelling or a
                # corrected typo a little less ("history" finds "A History of ..." before
                # "Fiksi sejarah").
                if any(self._has(a, where, squashed) for a in alts[:own]):
                    got += weight
                elif any(self._has(a, where, squashed) for a in alts[own:]):
                    got += OTHER_FORM * weight
                else:
                    continue
                # What makes a record about the topic: a word not everywhere, and for an
                # everyday word a subject ("dikasih" in a subtitle "Kasih Tak Sampai" is not).
                in_subjects = any(self._has(a, entry.subjects, "") for a in alts)
                specific = specific or (self._specific(alts) and (in_subjects or not common))
            share = got / total
            if share >= TOPIC_MATCH and specific:
                scored.append((100.0 * share, "topic", entry.id))
        scored.sort(key=lambda x: (-x[0], x[2]))
        return self._load_hits(scored, CatalogQuery(only_available=only_available, limit=limit))

    def volume(self, text: str, mentions: Sequence[Mention] | None = None) -> VolumeAnswer | None:
        """The volume of a series ``text`` asks for ("tetralogi buru jilid 1", "lanjutan laskar
        pelangi", "buku terakhir serial bumi", "yang sebelum edensor"), or None when it asks for
        no volume of a series the catalog knows.

        The series is the one the message names (the words of its name but its kind,
        "tetralogi", "serial": all of them, or with that kind word all but one of three or more),
        else the one series of that kind by an author the message names ("tetralogi pram"), else
        the series of a title written in the message (``mentions``; "lanjutan dilan 1991"). The
        volume is the number asked for, the last one, or the one after (before) the title
        written. Volumes without a number take their place by year after the numbered ones.
        ``hits`` is empty when the catalog lacks that volume.
        """
        if parse_volume(text) is None:
            return None
        self._refresh()
        if not self._series:
            return None
        if mentions is None:
            mentions = self.mentions(text)
        titled = [m for m in mentions if m.title_score >= 90]
        title_words = frozenset(w for m in titled[:1] for w in fold(m.hit.title).split())
        request = parse_volume(text, title_words=title_words)
        if request is None:
            return None
        said = words(text)
        name = self._series_named(said)
        base: int | None = None
        relative = request.next or request.previous
        if name is None or (relative and request.number is None):
            # The series of a title written in the message (and where it stands in it: the one
            # after "lanjutan laskar pelangi" is volume 2).
            for m in sorted(titled, key=lambda m: m.author is None):
                of = self._series_of.get(m.hit.record_id)
                if of is not None and name in (None, of[0]):
                    name, base = of
                    break
        if name is None:
            return None
        volumes = self._series[name]
        number = request.number
        if number is None and request.last:
            number = max((n for n, _ in volumes if n is not None), default=None)
        if number is None and base is not None and relative:
            number = base + 1 if request.next else base - 1
        if number is None or number < 1:
            return None
        ids = sorted(rid for n, rid in volumes if n == number)
        hits = self._load_hits([(100.0, "series", rid) for rid in ids], CatalogQuery(limit=5))
        return VolumeAnswer(series=name, number=number, hits=tuple(hits))

    def _series_named(self, said: list[str]) -> str | None:
        """The series the message's words name, by its name or by its kind and author."""
        have = set(said)
        kinds = have & SERIES_KINDS
        best: tuple[bool, int, str] | None = None
        for name in self._series:
            core = set(series_core(name))
            if not core:
                continue
            got = len(core & have)
            whole = got == len(core)
            enough = whole and (bool(kinds) or len(core) >= 2)
            # "trilogi 5 menara": the kind word and all but one of a longer name.
            enough = enough or (bool(kinds) and len(core) >= 3 and got >= len(core) - 1)
            if enough and (best is None or (whole, got) > best[:2]):
                best = (whole, got, name)
        if best is not None:
            return best[2]
        # "tetralogi pram yg minke itu": the one series of that kind by an author named.
        if not kinds:
            return None
        content = [w for w in have if len(w) >= 4 and w not in FILLER and w not in QUESTION_WORDS]
        by_author = [
            name for name in self._series
            if set(fold(name).split()) & kinds and any(_names_author(w, self._series_authors[name]) for w in content)
        ]
        return by_author[0] if len(by_author) == 1 else None

    def topic_label(self, text: str) -> str:
        """The words of ``text`` :meth:`topic` searched on and the catalog knows ("budidaya nanas")."""
        self._refresh()
        return " ".join(w for w, alts, _ in self._topic_words(text) if any(self._known(a) for a in alts))

    def _topic_words(self, text: str) -> list[tuple[str, tuple[str, ...], int]]:
        """Each topic word of ``text`` with the forms it may take in the catalog (its own forms,
        the word and its stem, first; how many they are)."""
        out: dict[str, tuple[tuple[str, ...], int]] = {}
        toks = words(text)[:MENTION_WORDS]
        for i, w in enumerate(toks):
            filler = w in FILLER or w in QUESTION_WORDS or w in TOPIC_FILLER
            if (filler and not names_audience(toks, i)) or w in out or len(w) < 2:
                continue
            forms = [w, stem(w), *TOPIC_SYNONYMS.get(w, ()), *TOPIC_SYNONYMS.get(stem(w), ())]  # own forms first
            forms.append(modern_spelling(w))
            if not any(self._known(f) for f in forms) and not is_common_word(w):
                corrected = self._correct(w)
                if fuzz.ratio(w, corrected) >= TOPIC_CORRECTION:  # "stoikisme" -> "stoisisme"
                    forms.append(corrected)
            own = len({w, stem(w)})
            out[w] = (tuple(dict.fromkeys(f for f in forms if f)), own)
        return [(w, alts, own) for w, (alts, own) in out.items()]

    def _known(self, form: str) -> bool:
        return all(p in self._vocab for p in form.split())

    def _df_of(self, form: str) -> int:
        return min((self._df.get(p, 0) for p in form.split()), default=0)

    def _idf(self, forms: tuple[str, ...]) -> float:
        df = max((self._df_of(f) for f in forms if self._known(f)), default=0)
        return math.log((self._records + 1) / (df + 0.5))

    def _specific(self, forms: tuple[str, ...]) -> bool:
        return any(self._known(f) and self._df_of(f) <= TOPIC_COMMON * max(self._records, 1) for f in forms)

    @staticmethod
    def _has(form: str, have: set[str], squashed: str) -> bool:
        parts = form.split()
        if all(p in have for p in parts):
            return True
        return len(form) >= 4 and form.replace(" ", "") in squashed

    def _any_word(
        self, session: Session, groups: list[list[str]], *, columns: str = "title subtitle authors",
        n: int = LOOSE_CANDIDATES,
    ) -> list[int]:
        """Records whose ``columns`` contain any of the word groups (best ranked first)."""
        if self._dialect == "sqlite":
            expr = " OR ".join(f"{{{columns}}} : {_fts_group(g)}" for g in groups)
            return list(session.scalars(
                sql("SELECT rowid FROM catalog_fts WHERE catalog_fts MATCH :q ORDER BY rank LIMIT :n"),
                {"q": expr, "n": n},
            ))
        if self._dialect == "postgresql":
            query = " | ".join(_tsquery_group(g) for g in groups)
            return list(session.scalars(
                sql("SELECT record_id FROM catalog_index WHERE document @@ to_tsquery('simple', :q) "
                    "ORDER BY ts_rank(document, to_tsquery('simple', :q)) DESC LIMIT :n"),
                {"q": query, "n": n},
            ))
        return list(session.scalars(select(CATALOG_INDEX.c.record_id)))

    def copies(self, record_id: int) -> list[Copy]:
        """Copies of one record (fresh from the database)."""
        with self.sessions() as session:
            return list(session.scalars(select(Copy).where(Copy.record_id == record_id)))


_ACRONYM_SKIP = frozenset("dan di ke dari yang untuk the of and a an buku".split())


def acronyms(title: str) -> frozenset[str]:
    """The initials a title is known by: "kbbi" (Kamus Besar Bahasa Indonesia), "kia" (Buku
    Kesehatan Ibu dan Anak); three letters or more, from the folded title."""
    parts = fold(title).split()
    forms = {"".join(p[0] for p in parts), "".join(p[0] for p in parts if p not in _ACRONYM_SKIP)}
    return frozenset(f for f in forms if len(f) >= 3 and len(parts) >= 3)


def _introduced(toks: list[str], start: int, end: int) -> bool:
    """True when the title at ``toks[start:end]`` comes right after a kind of book or a word
    asking for it ("novel perburuan", "mau baca lupus"), or right before a word asking whether
    it can be borrowed ("kubah bisa dipinjem?")."""
    if start > 0 and (toks[start - 1] in BOOK_KINDS or toks[start - 1] in ASKS_BEFORE):
        return True
    return any(w in ASKS_AFTER for w in toks[end : end + 2])


def _key(word: str) -> str:
    """A word's comparison form: number words as digits, other words stemmed."""
    number = number_form(word)
    return number if number != word else stem(word)


def _keys(words_: Sequence[str]) -> str:
    return "".join(_key(w) for w in words_ if w not in STOPWORDS)


# A title matched only through its stems and number words ("al quran terjemahan" for "Al-Qur'an
# dan Terjemahnya"), not as written, scores at most this.
KEY_MATCH_CAP = 95.0


def _title_score(window: Sequence[str], title: str, squashed: str, keys: str) -> float:
    """How closely a window of the message writes the title (as written, without spaces, or by
    its stems and numbers)."""
    joined = " ".join(window)
    score = fuzz.ratio(joined, title)
    if len(squashed) >= 3:
        score = max(score, fuzz.ratio("".join(window), squashed))
    if keys:
        score = max(score, min(KEY_MATCH_CAP, fuzz.ratio(_keys(window), keys)))
    return score


def _align(
    entry: _Entry, toks: list[str], corrected: list[str], content: list[int]
) -> tuple[float, float, str | None, int, int] | None:
    """(title score, coverage, author named, where the title starts and ends) of ``entry`` in
    the message, or None when its title is not in the message."""
    title = entry.title
    n = len(title.split())
    if not n:
        return None
    best, span = 0.0, (0, 0)
    # A title's initials are the title ("kbbi" is "Kamus Besar Bahasa Indonesia").
    initials = acronyms(title)
    for i, word in enumerate(toks):
        if word in initials:
            best, span = 100.0, (i, i + 1)
            break
    forms = [title]
    parts = title.split()
    if len(parts) >= 2 and parts[0] in _ARTICLES:  # filed without its article: "rainbow troops"
        forms.append(" ".join(parts[1:]))
    for form in forms:
        size_of = len(form.split())
        # Also compared without spaces ("5cm" is "5 cm", "cabaukan" is "Ca-Bau-Kan") and, for a
        # title of two words or more, by stems and numbers ("critical 11").
        squashed = form.replace(" ", "")
        title_keys = [w for w in form.split() if w not in STOPWORDS]
        keys = _keys(title_keys) if len(title_keys) >= 2 else ""
        for size in range(max(1, size_of - 2), size_of + 2):
            for start in range(0, len(toks) - size + 1):
                for seq in (toks, corrected):
                    score = _title_score(seq[start : start + size], form, squashed, keys)
                    if score > best:
                        best, span = score, (start, start + size)
    if best < TITLE_MATCH:
        return None
    covered = {i for i in content if span[0] <= i < span[1]}
    rest = [i for i in content if i not in covered]
    author = None
    if rest and entry.authors:
        for form in entry.authors:
            names = form.split()
            named = [i for i in rest if any(_same_name(toks[i], p) for p in names)]
            # Two words of a longer name, or one that is no everyday word ("pramudya").
            if named and (len(named) >= min(2, len(names)) or any(
                    len(toks[i]) >= 4 and not is_common_word(toks[i]) for i in named)):
                author = form
                covered.update(named)
                break
    # Words of the record's subtitle, series or specific subjects beside its title describe it
    # too ("serial anak-anak mamak yg burlian", "kbbi edisi ke 4").
    describes = entry.title_terms | entry.subjects
    covered.update(i for i in content if i not in covered and (toks[i] in describes or stem(toks[i]) in describes))
    return best, len(covered) / len(content), author, span[0], span[1]


def _names_author(word: str, names: set[str]) -> bool:
    """True when ``word`` is one of ``names`` (an author's name words), misspelt or shortened
    ("pramudya", "pram" for Pramoedya)."""
    return any(_same_name(word, n) or (len(word) >= 4 and n.startswith(word)) for n in names)


def modern_spelling(word: str) -> str:
    """Today's spelling of an old-spelling word: "soekarno" -> "sukarno", "pramoedya" -> "pramudya"."""
    for old, new in _OLD_SPELLING:
        word = word.replace(old, new)
    return word


def _same_name(word: str, name: str) -> bool:
    """True when ``word`` is the name word ``name``, misspelt or in today's spelling."""
    return fuzz.ratio(word, name) >= AUTHOR_MATCH or fuzz.ratio(modern_spelling(word), modern_spelling(name)) >= AUTHOR_MATCH


def _number_volumes(
    statements: Sequence[Any],
) -> dict[str, list[tuple[int | None, int]]]:
    """Each series' volumes as (number, record id), from (record id, series, number, year, ...)
    rows. A volume whose statement has no number takes its place by year after the numbered
    ones ("Serial Bumi" 1-4 and an unnumbered "Komet" of a later year: Komet is the 5th)."""
    by_series: dict[str, list[tuple[int | None, str, int]]] = {}
    for rid, name, number, year, *_ in statements:
        by_series.setdefault(name, []).append((number, str(year or ""), rid))
    series: dict[str, list[tuple[int | None, int]]] = {}
    for name, volumes in by_series.items():
        numbered = [(n, rid) for n, _, rid in volumes if n is not None]
        top = max((n for n, _ in numbered), default=0)
        rest = sorted((year or "9999", rid) for n, year, rid in volumes if n is None)
        series[name] = numbered + [(top + i, rid) for i, (_, rid) in enumerate(rest, start=1)]
    return series
