"""Input hygiene shared by the channels: text that cannot be stored, ids that cannot be integers.

JSON allows a lone UTF-16 surrogate (``"\\ud800"``); Python decodes it to a ``str`` that no
database driver can encode, which used to surface as a 500 (and, on Telegram, as an update
retried three times and then lost). Patron-typed text is refused with a 4xx on the web chat; in
third-party webhook bodies such characters are replaced, so the rest of the message survives.
"""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")
_INT = re.compile(r"^[0-9]{1,18}$")  # ASCII digits only ("²".isdigit() is True), fits in int64


def has_lone_surrogate(text: str) -> bool:
    """True when ``text`` holds a surrogate code point (unencodable as UTF-8)."""
    return _SURROGATE.search(text) is not None


def scrub_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD."""
    return _SURROGATE.sub(REPLACEMENT, text)


def scrub(value: Any) -> Any:
    """A JSON value with lone surrogates replaced in every string, keys included."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {scrub_text(k) if isinstance(k, str) else k: scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def parse_id(raw: str | None) -> int | None:
    """``raw`` as a non-negative database id, or None when it is not 1-18 ASCII digits."""
    if raw is None or not _INT.match(raw):
        return None
    return int(raw)
