"""Series and volumes: "tetralogi buru jilid 1", "lanjutan laskar pelangi yang kedua".

A record's series statement (MARC 490/830 ``$a`` and ``$v``, the CSV's ``series`` and
``series_number`` columns) names its series and its place in it. :func:`parse_volume` reads
which volume a patron asks for; :func:`series_number` reads the number of a series statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.text import STOPWORDS, fold

ORDINALS = {
    "pertama": 1, "kesatu": 1, "satu": 1, "first": 1, "kedua": 2, "dua": 2, "second": 2,
    "ketiga": 3, "tiga": 3, "third": 3, "keempat": 4, "empat": 4, "fourth": 4, "kelima": 5,
    "lima": 5, "fifth": 5, "keenam": 6, "enam": 6, "sixth": 6, "ketujuh": 7, "tujuh": 7,
    "seventh": 7, "kedelapan": 8, "delapan": 8, "kesembilan": 9, "sembilan": 9, "kesepuluh": 10,
    "sepuluh": 10,
}
# Words that introduce a volume's number: "jilid 2", "buku ke-3", "seri nomor 4", "volume 1".
VOLUME_WORDS = frozenset(
    """jilid jld buku seri serial volume vol episode bagian bag nomor no part book edisi ed
    ke""".split()
)
# Words of a series' kind: "tetralogi", "trilogi", "serial"; not part of its name.
SERIES_KINDS = frozenset(
    "seri serial series tetralogi trilogi dwilogi duologi pentalogi saga kuartet trilogy tetralogy".split()
)
LAST_WORDS = frozenset("terakhir pamungkas penutup last final".split())
NEXT_WORDS = frozenset("lanjutan lanjutannya sekuel sequel kelanjutan kelanjutannya next berikutnya".split())
# The one before the book named: "yang sebelum edensor", "prekuel".
PREVIOUS_WORDS = frozenset("sebelum sebelumnya prekuel prequel previous before".split())
# The one after the book named when written before it: "abis jejak langkah baca apa?",
# "setelah bumi manusia lanjut apa" (a word inside the title named does not count).
AFTER_WORDS = frozenset("setelah sesudah abis habis after lanjut".split())

_NUMBER = re.compile(r"^\d{1,2}$")
# A volume word glued to its number, as patrons type it: "ke2", "ke-2", "jilid2", "vol.3".
_GLUED = re.compile(r"\b(ke|jilid|jld|vol|volume|seri|part|bagian|episode)[\s.\-]*(\d{1,2})\b")
_STATEMENT_NUMBER = re.compile(r"(\d+)")


@dataclass(frozen=True)
class VolumeRequest:
    """Which volume a message asks for: ``number`` (1, 2, ...), the ``last`` one, or the one
    after (``next``) the book it names."""

    number: int | None = None
    last: bool = False
    next: bool = False
    previous: bool = False


def _ordinal(word: str) -> int | None:
    """1 for "pertama"/"kesatu"/"first", 2 for "kedua"...; None for a cardinal ("dua")."""
    if word in ORDINALS and (word.startswith("ke") or word in _ENGLISH_ORDINALS or word == "pertama"):
        return ORDINALS[word]
    return None


_ENGLISH_ORDINALS = frozenset("first second third fourth fifth sixth seventh".split())
# After "buku 1" a question goes on ("ada?", "di perpus"); after "buku 5 cm" a title does.
_AFTER_NUMBER = STOPWORDS | frozenset("ada ga gak nggak kak min masih yang yg dong nya udah sudah".split())


def parse_volume(text: str, *, title_words: frozenset[str] = frozenset()) -> VolumeRequest | None:
    """The volume ``text`` asks for, or None when it asks for none.

    "jilid 1", "buku ke 3", "ke-4", "seri nomor 4", "buku kedua", "yang ketiga", "episode
    pertama", "buku terakhir", "lanjutan X" (the one after X; "lanjutan X yang kedua": the
    second), "yang sebelum X" (the one before X), "abis X" (after X). A bare number is no volume
    ("negeri 5 menara", "dilan 1990"), nor is a title's number after "buku" ("buku 5 cm").
    ``title_words``: the words of the title written in the message ("Habis Gelap ..."), which
    are no "after".
    """
    toks = fold(text).split()
    number: int | None = None
    glued = _GLUED.search(text.lower())
    if glued:
        number = int(glued.group(2))
    for i, w in enumerate(toks if number is None else ()):
        ordinal = _ordinal(w)
        if ordinal is not None:
            number = ordinal
            break
        if w not in VOLUME_WORDS or i + 1 >= len(toks):
            continue
        j = i + 2 if toks[i + 1] == "ke" and i + 2 < len(toks) else i + 1
        nxt = toks[j]
        if _NUMBER.match(nxt):
            if w in ("buku", "book") and j + 1 < len(toks) and toks[j + 1] not in _AFTER_NUMBER:
                continue
            number = int(nxt)
            break
    last = any(w in LAST_WORDS for w in toks)
    follows = any(w in NEXT_WORDS or (w in AFTER_WORDS and w not in title_words) for w in toks)
    before = any(w in PREVIOUS_WORDS for w in toks)
    if number is None and not (last or follows or before):
        return None
    if number is not None:
        return VolumeRequest(number=number)
    return VolumeRequest(last=last, next=follows and not last and not before, previous=before and not last)


def series_number(statement: str | None) -> int | None:
    """The volume number of a series statement's ``$v`` ("jil. 2", "vol. 3", "2"), if any."""
    if not statement:
        return None
    found = _STATEMENT_NUMBER.search(statement)
    if found:
        return int(found.group(1))
    for w in fold(statement).split():
        if w in ORDINALS:
            return ORDINALS[w]
    return None


def series_core(name: str) -> list[str]:
    """The words naming a series, without its kind: "Tetralogi Buru" -> ["buru"]."""
    return [w for w in fold(name).split() if w not in SERIES_KINDS]
