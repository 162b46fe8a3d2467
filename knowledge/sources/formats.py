"""Which catalog format a file is in: binary MARC, MARCXML or CSV/TSV."""

from __future__ import annotations

from pathlib import Path

FORMATS = ("marc", "marcxml", "csv")

_BY_SUFFIX = {
    ".mrc": "marc", ".marc": "marc", ".dat": "marc", ".iso": "marc", ".iso2709": "marc",
    ".xml": "marcxml", ".marcxml": "marcxml",
    ".csv": "csv", ".tsv": "csv", ".txt": "csv",
}


class UnknownFormat(ValueError):
    """The file's format could not be recognised."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"Format berkas {path.name} tidak dikenali; pakai --format marc, marcxml atau csv."
        )
        self.path = path


def detect_format(path: Path) -> str:
    """``marc``, ``marcxml`` or ``csv`` for ``path``, from its first bytes, else its suffix.

    Raises:
        UnknownFormat: neither the content nor the suffix says.
    """
    with path.open("rb") as stream:
        head = stream.read(4096)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if len(text) >= 24 and text[:5].isdigit() and text[20:24].isdigit():
        return "marc"  # ISO 2709: record length, then the leader's "4500"
    if text.startswith(b"<"):
        return "marcxml"
    by_suffix = _BY_SUFFIX.get(path.suffix.lower())
    if by_suffix:
        return by_suffix
    first_line = text.split(b"\n", 1)[0]
    if b"," in first_line or b"\t" in first_line:
        return "csv"
    raise UnknownFormat(path)
