"""When to hand off before asking the NLU: patron requests, complaints, and the cancel words."""

from __future__ import annotations

import re
import unicodedata

from nlu.language import language_of


def normalize(value: str) -> str:
    """Lower case, no accents or punctuation, single spaces."""
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii").lower()
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", value).split())


CANCEL_WORDS = frozenset(
    {"batal", "batalkan", "gak jadi", "ga jadi", "nggak jadi", "tidak jadi", "kembali ke bot",
     "balik ke bot", "cancel", "back to bot", "back to the bot"}
)

_PEOPLE = r"(petugas|pustakawan|admin|orang|manusia|cs|operator|librarian|person|human|staff)"
_REQUEST = re.compile(
    r"\b(bicara|ngobrol|chat|chatting|hubungkan|sambungkan|ketemu|bertemu|ngomong|talk|speak)\b"
    r"( (dengan|sama|ke|with|to))?( (a|an|the|seorang))? " + _PEOPLE + r"\b"
    r"|\b(admin|cs|petugas|operator) (manusia|asli)\b|\breal (person|human)\b"
)
_COMPLAINT = re.compile(
    r"\b(komplain|complain|complaint|keluhan|mengeluh|kecewa|mengecewakan|tidak puas|gak puas|"
    r"ga puas|nggak puas|pelayanan buruk|pelayanan jelek|payah|lapor petugas|melaporkan petugas)\b"
)


# The patron's language for handoff texts: the shared detector, Indonesian when unclear.
guess_language = language_of


def is_cancel(message: str) -> bool:
    """Whether the patron wants to stop waiting and go back to the bot."""
    return normalize(message) in CANCEL_WORDS


def detect_trigger(message: str) -> str | None:
    """A reason to hand off before asking Rasa: ``"complaint"``, ``"patron_request"`` or None."""
    norm = normalize(message)
    if _COMPLAINT.search(norm):
        return "complaint"
    if _REQUEST.search(norm):
        return "patron_request"
    return None
