"""Normalising Indonesian chat words: slang, repeated letters, reduplication, stemming.

Pure Python (no Rasa import) so it can be unit-tested in the app runtime and used by
:class:`nlu.components.normalizer.IndonesianNormalizer` inside the Rasa runtime.

The slang dictionary is the librarian-extendable file ``nlu/normalization/slang.tsv``
(``chat<TAB>standard`` per line, ``#`` comments). The same file feeds ``knowledge/text.py``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path

SLANG_FILE = Path(__file__).resolve().parent / "slang.tsv"

_REPEATS = re.compile(r"([a-z])\1{2,}")
_REDUP_DIGIT = re.compile(r"^([a-z]{2,})2$")
_REDUP_DASH = re.compile(r"^([a-z]{2,})-\1$")
_EDGE_PUNCT = re.compile(r"^[^0-9a-z]+|[^0-9a-z]+$")


def load_slang(path: Path = SLANG_FILE) -> dict[str, str]:
    """Read a slang file: ``chat<TAB>standard`` per line; blank lines and ``#`` comments skipped.

    Raises:
        ValueError: a line without a tab, with its line number.
    """
    table: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        chat, sep, standard = line.partition("\t")
        if not sep or not chat.strip() or not standard.strip():
            raise ValueError(f"{path.name}:{number}: expected '<chat word><TAB><standard form>'")
        table[chat.strip().lower()] = standard.strip().lower()
    return table


def ascii_lower(text: str) -> str:
    """Lower-case and strip accents ("Café" -> "cafe")."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()


def make_stemmer() -> Callable[[str], str]:
    """Sastrawi's Indonesian stemmer (imported lazily: it builds a dictionary on first use)."""
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    stemmer = StemmerFactory().create_stemmer()

    def stem(word: str) -> str:
        if len(word) <= 3 or not word.isalpha():
            return word
        return stemmer.stem(word) or word

    return stem


class Normalizer:
    """Turns one chat token into its standard form(s).

    Args:
        slang: chat word -> standard form (may be several words).
        stemmer: optional stemmer applied to each resulting word.
    """

    def __init__(self, slang: Mapping[str, str], stemmer: Callable[[str], str] | None = None) -> None:
        self.slang = dict(slang)
        self.stemmer = stemmer
        self._cache: dict[str, str] = {}

    def word(self, token: str) -> str:
        """Standard form of one token; several words are joined by spaces; "" for punctuation."""
        cached = self._cache.get(token)
        if cached is not None:
            return cached
        result = self._normalise(token)
        if len(self._cache) < 100_000:
            self._cache[token] = result
        return result

    def _normalise(self, token: str) -> str:
        w = _EDGE_PUNCT.sub("", ascii_lower(token))
        if not w:
            return ""
        if w in self.slang:
            return self._stem_all(self.slang[w])
        squeezed = _REPEATS.sub(r"\1", w)  # "bukaaa" -> "buka", "halooo" -> "halo"
        m = _REDUP_DIGIT.match(squeezed) or _REDUP_DASH.match(squeezed)
        if m:  # "buku2", "buku-buku" -> "buku"
            squeezed = m.group(1)
        squeezed = self.slang.get(squeezed, squeezed)
        return self._stem_all(squeezed)

    def _stem_all(self, words: str) -> str:
        if self.stemmer is None:
            return words
        return " ".join(self.stemmer(w) for w in words.split())

    def text(self, text: str) -> str:
        """Normalise a whole message, word by word."""
        out = (self.word(tok) for tok in text.split())
        return " ".join(w for w in out if w)
