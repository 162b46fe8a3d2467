"""One work in two forms: a print record and an e-book of the same title and author.

Catalogs and e-book lists spell a work differently: the print record "Sitti Nurbaya" with the
subtitle "Kasih Tak Sampai" is the e-book "Sitti Nurbaya: Kasih Tak Sampai", "Sejarah Indonesia
Modern" (subtitle "1200-2008") is "Sejarah Indonesia Modern 1200-2008". Two titles are one work
when one, folded, is the other or starts it (at a word boundary), and an author's surname or name
is shared (or neither names an author).
"""

from __future__ import annotations

from collections.abc import Sequence

from knowledge.text import fold


def _names(authors: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for name in authors:
        found |= {w for w in fold(name.replace(",", " ")).split() if len(w) >= 3}
    return found


def same_title(a: str, b: str) -> bool:
    """True when folded title ``a`` is ``b`` or starts it at a word boundary (either way)."""
    fa, fb = fold(a), fold(b)
    if not fa or not fb:
        return False
    short, long = sorted((fa, fb), key=len)
    return long == short or long.startswith(short + " ")


def same_work(title_a: str, authors_a: Sequence[str], title_b: str, authors_b: Sequence[str]) -> bool:
    """True when the two (title, authors) describe one work."""
    if not same_title(title_a, title_b):
        return False
    names_a, names_b = _names(authors_a), _names(authors_b)
    if not names_a or not names_b:
        return not names_a and not names_b
    return bool(names_a & names_b)
