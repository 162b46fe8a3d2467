"""Placeholder replaced by the shared language detector."""
from __future__ import annotations
import re
_WORD = re.compile(r"[a-zA-Z']+")
ENGLISH = frozenset("the is are what when where how can do does you hi hello thanks".split())
INDONESIAN = frozenset("ada apa jam buka buku min kak gimana berapa ga gak yang di".split())
def detect_language(text: str) -> str | None:
    words = [w.lower() for w in _WORD.findall(text)]
    en = sum(w in ENGLISH for w in words); ind = sum(w in INDONESIAN for w in words)
    return None if en == ind else ("en" if en > ind else "id")
