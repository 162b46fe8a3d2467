"""Text normalisation shared by FAQ retrieval and catalog search (Indonesian-aware)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

_NON_WORD = re.compile(r"[^0-9a-z]+")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_REDUP = re.compile(r"\b([a-z]+)2\b")

# Common chat spellings; the NLU normaliser in nlu/ has the full, librarian-extendable list.
SLANG: dict[str, str] = {
    "gmn": "bagaimana", "gimana": "bagaimana", "gmna": "bagaimana", "brp": "berapa",
    "brapa": "berapa", "ga": "tidak", "gak": "tidak", "nggak": "tidak", "ngga": "tidak",
    "enggak": "tidak", "gk": "tidak", "tdk": "tidak", "yg": "yang", "utk": "untuk",
    "dgn": "dengan", "dg": "dengan", "bs": "bisa", "bsa": "bisa", "perpus": "perpustakaan",
    "kalo": "kalau", "klo": "kalau", "jd": "jadi", "sy": "saya", "aja": "saja", "tau": "tahu",
    "udah": "sudah", "udh": "sudah", "blm": "belum", "bgt": "banget", "krn": "karena",
    "dmn": "dimana", "knp": "kenapa", "kpn": "kapan", "sm": "sama", "tp": "tapi",
    "bikin": "buat", "minjem": "pinjam", "minjam": "pinjam", "ngembaliin": "kembali",
    "hr": "hari", "mgg": "minggu", "bln": "bulan", "thn": "tahun", "jg": "juga", "lg": "lagi",
    "negri": "negeri", "lascar": "laskar", "wa": "whatsapp", "hp": "telepon",
}

STOPWORDS = frozenset(
    """ada apa apakah yang di ke dari dan atau saya aku kamu min kak kakak mimin admin dong
    nih ya sih deh kah lah pun itu ini tolong mau ingin bisa boleh tidak the a an is are do
    does you your of to for in on at and or i me my can please""".split()
)


@lru_cache(maxsize=1)
def _stemmer():  # noqa: ANN202 - Sastrawi is untyped
    return StemmerFactory().create_stemmer()


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """Indonesian stem of one lower-case word (cached)."""
    if len(word) <= 3 or word.isdigit():
        return word
    return _stemmer().stem(word) or word


def fold(text: str) -> str:
    """Lower-case, strip accents and punctuation, squeeze repeated letters, expand "buku2"."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    text = _REDUP.sub(r"\1 \1", text)
    text = _REPEATS.sub(r"\1", text)
    return _NON_WORD.sub(" ", text).strip()


def words(text: str) -> list[str]:
    """Folded words with chat spellings expanded."""
    return [SLANG.get(w, w) for w in fold(text).split()]


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
