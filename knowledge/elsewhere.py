"""Whether a question is about another place or organisation than the library.

"Kantor dukcapil buka jam berapa?" and "kartu bpjs aku ilang" share most of their words with
the library's FAQ entries on opening hours and lost cards, and the retrieval scores cannot tell
them apart: the FAQ judge (:mod:`knowledge.faq_judge`) reads a soft "words outside the domain"
signal, but one word naming the institution decides what the question is about. This module
reads that word from two lexicons in ``knowledge/lexicon/``:

* ``elsewhere.txt``: places and organisations ("dukcapil", "rumah sakit", "bank", "kafe");
* ``other_libraries.txt``: words that name another library right after "perpustakaan" /
  "perpus" ("perpustakaan SMA 1", "perpus kampus") or before "library" ("the university library").

A place word does not count when the library's own FAQ files use it (a FAQ answer that says
"bayar lewat bank" keeps "bank" a word of the library's), in a message that names the library
("nomor kantor perpus"), nor after a word that makes it a landmark or the patron's whereabouts
("deket pasar", "baru turun kereta"). Measured in benchmarks/RESULTS.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from knowledge.text import words

__all__ = ["LEXICON_DIR", "Elsewhere", "Lexicon", "load_lexicon"]

LEXICON_DIR = Path(__file__).resolve().parent / "lexicon"

# The library itself, as patrons name it.
LIBRARY_WORDS = frozenset({"perpustakaan", "perpus", "pustaka", "library", "perpust", "pusda"})
# Words before a place that make it a landmark or the patron's own whereabouts, not what the
# question is about: "perpus deket pasar", "baru turun kereta", "pulang dari terminal", "sejarah kereta api".
CONTEXT_WORDS = frozenset(
    """dekat deket dkt dket depan sebelah samping belakang seberang sebrang sbrg sekitar arah
    terdekat di dari ke naik turun pulang abis habis cari istirahat kerja tentang mengenai sejarah
    near next across behind opposite beside from at in to about""".split()
)
# Words between "perpustakaan" and the name of another library ("perpustakaan di sekolah aku").
_BETWEEN = frozenset({"di", "dari", "punya", "milik", "of", "at", "the", "kota"})


@dataclass(frozen=True)
class Lexicon:
    """The two word lists, each entry as its folded words."""

    places: tuple[tuple[str, ...], ...]
    qualifiers: frozenset[str]


def _entries(path: Path) -> list[tuple[str, ...]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            folded = tuple(words(line))
            if folded:
                out.append(folded)
    return out


@lru_cache(maxsize=4)
def load_lexicon(folder: Path = LEXICON_DIR) -> Lexicon:
    """The shipped lexicons (read once)."""
    places = tuple(dict.fromkeys(_entries(folder / "elsewhere.txt")))
    qualifiers = frozenset(w for entry in _entries(folder / "other_libraries.txt") for w in entry)
    return Lexicon(places, qualifiers)


def _find(toks: Sequence[str], phrase: tuple[str, ...]) -> list[int]:
    n = len(phrase)
    return [i for i in range(len(toks) - n + 1) if tuple(toks[i : i + n]) == phrase]


class Elsewhere:
    """Reads, for one FAQ, whether a question names another place or library (immutable)."""

    def __init__(self, lexicon: Lexicon, own_texts: Iterable[str]) -> None:
        own: list[str] = []
        for text in own_texts:
            own.extend(words(text))
            own.append("|")  # no phrase across two texts
        self.lexicon = lexicon
        # Place words the library's own FAQ uses are the library's words.
        self.places = tuple(p for p in lexicon.places if not _find(own, p))
        self._first = {p[0] for p in self.places}

    def named(self, text: str) -> str | None:
        """The other place or library ``text`` is about ("dukcapil", "perpustakaan sma"), or None."""
        toks = words(text)
        for i, w in enumerate(toks):
            if w in LIBRARY_WORDS:
                j = i + 1
                while j < len(toks) and j <= i + 2 and toks[j] in _BETWEEN:
                    j += 1
                if j < len(toks) and toks[j] in self.lexicon.qualifiers:
                    return f"{w} {toks[j]}"
                if w == "library" and i > 0 and toks[i - 1] in self.lexicon.qualifiers:
                    return f"{toks[i - 1]} library"
        # A message naming the library is about it ("nomor kantor perpus", "turun di stasiun,
        # jauh ke perpustakaan?"), unless it names another library (above).
        if not self._first & set(toks) or LIBRARY_WORDS & set(toks):
            return None
        for phrase in self.places:
            for at in _find(toks, phrase):
                if not CONTEXT_WORDS & set(toks[max(at - 2, 0) : at]):
                    return " ".join(phrase)
        return None
