"""English words of a patron's question in the Indonesian words of the library's FAQ.

A library's FAQ is written in Indonesian; a question in English shares no word with it, so the
lexical side of FAQ retrieval (:class:`knowledge.faq_search.FaqIndex`) would have nothing to go
on and the multilingual embedding alone would decide. :class:`Glossary` reads the shipped list
``knowledge/lexicon/en_id.tsv`` (one English word or two-word phrase and its Indonesian words per
line) and, for an English question, gives the Indonesian words its words stand for. Keys and
question words are compared on their English stems (Snowball), so "fines", "fined" and "fine"
are one key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import snowballstemmer

from knowledge.text import fold

GLOSSARY_FILE = Path(__file__).resolve().parent / "lexicon" / "en_id.tsv"


def stems(text: str) -> list[str]:
    """The English stems of ``text``'s folded words."""
    # A stemmer keeps its word in its own state: one per call (cheap), never shared by threads.
    return snowballstemmer.stemmer("english").stemWords(fold(text).split())


@dataclass(frozen=True)
class Glossary:
    """English stems (one or two words) -> the Indonesian words they stand for."""

    table: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path = GLOSSARY_FILE) -> Glossary:
        """The glossary in ``path`` (``english<TAB>indonesian`` per line, ``#`` comments); an
        empty one when the file is missing."""
        table: dict[str, str] = {}
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return cls()
        for line in lines:
            said, sep, meant = line.strip().partition("\t")
            if sep and said and not said.startswith("#") and meant.strip():
                table.setdefault(" ".join(stems(said)), fold(meant))
        return cls(table)

    def matches(self, text: str) -> Iterator[tuple[str, str]]:
        """(the English words as written, their Indonesian words) for each key found in ``text``,
        two-word keys first; a word already read as part of a two-word key is not read again."""
        words = fold(text).split()
        stemmed = stems(text)
        used: set[int] = set()
        for n in (2, 1):
            for i in range(len(words) - n + 1):
                span = set(range(i, i + n))
                if span & used:
                    continue
                meant = self.table.get(" ".join(stemmed[i : i + n]))
                if meant is not None:
                    used |= span
                    yield " ".join(words[i : i + n]), meant


@lru_cache(maxsize=1)
def shipped_glossary() -> Glossary:
    """The glossary shipped with pustakabot (read once: it is part of the code)."""
    return Glossary.read()
