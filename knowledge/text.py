"""Text normalisation shared by FAQ retrieval and catalog search (Indonesian-aware)."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

from nlu.normalization.normalize import SLANG_FILE

log = logging.getLogger(__name__)

_NON_WORD = re.compile(r"[^0-9a-z]+")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_REDUP = re.compile(r"\b([a-z]+)2\b")

# The librarians' slang dictionary (``chat<TAB>standard`` per line, ``#`` comments) is the NLU
# normaliser's file: SLANG_FILE comes from the pure-Python ``nlu.normalization`` package.


@lru_cache(maxsize=4)
def load_slang(path: Path = SLANG_FILE) -> Mapping[str, str]:
    """The slang dictionary at ``path`` (read once per path; missing file -> empty)."""
    table: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        log.warning("slang dictionary %s not found; chat spellings are not expanded", path)
        return MappingProxyType(table)
    for line in lines:
        chat, sep, standard = line.strip().partition("\t")
        if sep and chat and not chat.startswith("#") and standard.strip():
            table[chat.strip().lower()] = standard.strip().lower()
    return MappingProxyType(table)


STOPWORDS = frozenset(
    """ada apa apakah yang di ke dari dan atau saya aku kamu min kak kakak mimin admin dong
    nih ya sih deh kah lah pun itu ini tolong mau ingin bisa boleh tidak the a an is are do
    does you your of to for in on at and or i me my can please where what when which who why how
    much many if be am was were there here it its this that have has will would should could
    get we our us with about""".split()
)


# Number words, Indonesian and English, as digits: "sebelas patriot" is "11 patriot",
# "critical eleven" is "critical 11".
NUMBER_WORDS: Mapping[str, str] = MappingProxyType({
    word: str(n)
    for n, group in enumerate(
        (
            "nol zero", "satu one", "dua two", "tiga three", "empat four", "lima five", "enam six",
            "tujuh seven", "delapan eight", "sembilan nine", "sepuluh ten", "sebelas eleven",
            "duabelas twelve", "tigabelas thirteen", "empatbelas fourteen", "limabelas fifteen",
            "enambelas sixteen", "tujuhbelas seventeen", "delapanbelas eighteen",
            "sembilanbelas nineteen", "duapuluh twenty",
        )
    )
    for word in group.split()
})


def number_form(word: str) -> str:
    """A number word as its digits ("sebelas" -> "11"); any other word as it is."""
    return NUMBER_WORDS.get(word, word)


@lru_cache(maxsize=1)
def _stemmer():  # noqa: ANN202 - Sastrawi is untyped
    return StemmerFactory().create_stemmer()


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """Indonesian stem of one lower-case word (cached)."""
    if len(word) <= 3 or word.isdigit():
        return word
    return _stemmer().stem(word) or word


@lru_cache(maxsize=1)
def _root_words() -> frozenset[str]:
    return frozenset(StemmerFactory().get_words())


def is_common_word(word: str) -> bool:
    """True for an everyday word: an Indonesian root word (Sastrawi's dictionary), a chat
    spelling from the slang dictionary, or a stop word. "waktu", "hibah", "sosmed" are; "sapiens",
    "ikigai" are not."""
    word = word.lower()
    return word in STOPWORDS or word in load_slang() or word in _root_words() or stem(word) in _root_words()


# Every search folds the same catalog titles, names and subjects again for each message: cached.
@lru_cache(maxsize=50_000)
def fold(text: str) -> str:
    """Lower-case, strip accents and punctuation, squeeze repeated letters, expand "buku2" (cached)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    text = _REDUP.sub(r"\1 \1", text)
    text = _REPEATS.sub(r"\1", text)
    return _NON_WORD.sub(" ", text).strip()


def words(text: str) -> list[str]:
    """Folded words with chat spellings expanded (one chat word may become several)."""
    return list(_words(text))


@lru_cache(maxsize=50_000)
def _words(text: str) -> tuple[str, ...]:
    slang = load_slang()
    out: list[str] = []
    for w in fold(text).split():
        out.extend(slang.get(w, w).split())
    return tuple(out)


def terms(text: str, *, drop_stopwords: bool = True) -> list[str]:
    """Stemmed content terms of ``text`` for lexical matching."""
    return [stem(w) for w in words(text) if not (drop_stopwords and w in STOPWORDS)]


def display_name(name: str) -> str:
    """"Hirata, Andrea" -> "Andrea Hirata" (catalog order to reading order)."""
    last, sep, first = name.partition(",")
    first = first.strip().rstrip(".,")
    if not sep or not first or any(ch.isdigit() for ch in first):
        return name.strip()
    return f"{first} {last.strip()}"
