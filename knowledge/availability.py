"""Copy availability summarised the way a librarian says it (Indonesian and English)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from knowledge.datenames import month_name
from knowledge.models import CopyStatus


def format_date(d: date, lang: str = "id") -> str:
    """``28 November`` (``28 November 2027`` in another year)."""
    text = f"{d.day} {month_name(d.month, lang)}"
    if d.year != date.today().year:
        text += f" {d.year}"
    return text


class CopyState(Protocol):
    """What availability reads of a copy: a :class:`knowledge.models.Copy` or a row of its columns."""

    @property
    def status(self) -> CopyStatus: ...
    @property
    def due_date(self) -> date | None: ...
    @property
    def location(self) -> str | None: ...
    @property
    def call_number(self) -> str | None: ...


@dataclass(frozen=True)
class Availability:
    """Counts of a record's copies by status."""

    total: int
    available: int
    on_loan: int
    reference: int
    lost: int
    earliest_due: date | None
    available_locations: tuple[str, ...]
    call_number: str | None

    @property
    def is_available(self) -> bool:
        """At least one copy can be borrowed now."""
        return self.available > 0


def availability(copies: Sequence[CopyState], call_number: str | None = None) -> Availability:
    """Summarise ``copies``."""
    counts = Counter(c.status for c in copies)
    dues = [c.due_date for c in copies if c.status is CopyStatus.ON_LOAN and c.due_date]
    locations = Counter(
        c.location for c in copies if c.status is CopyStatus.AVAILABLE and c.location
    )
    shelf_call = next((c.call_number for c in copies if c.call_number), None) or call_number
    return Availability(
        total=sum(counts[s] for s in (CopyStatus.AVAILABLE, CopyStatus.ON_LOAN, CopyStatus.REFERENCE)),
        available=counts[CopyStatus.AVAILABLE],
        on_loan=counts[CopyStatus.ON_LOAN],
        reference=counts[CopyStatus.REFERENCE],
        lost=counts[CopyStatus.LOST],
        earliest_due=min(dues) if dues else None,
        available_locations=tuple(loc for loc, _ in locations.most_common()),
        call_number=shelf_call,
    )


def describe(av: Availability, lang: str = "id") -> str:
    """One sentence: "2 dari 4 eksemplar tersedia di Rak Fiksi Lantai 2, no. panggil ..."."""
    en = lang == "en"
    call = ""
    if av.call_number:
        call = f", call number {av.call_number}" if en else f", no. panggil {av.call_number}"
    if av.total == 0:
        return (
            "No copy can be borrowed at the moment." if en
            else "Belum ada eksemplar yang bisa dipinjam saat ini."
        )
    if av.available:
        where = " and ".join(av.available_locations) if en else " dan ".join(av.available_locations)
        place = f" at {where}" if en and where else (f" di {where}" if where else "")
        if en:
            return f"{av.available} of {av.total} copies available{place}{call}."
        return f"{av.available} dari {av.total} eksemplar tersedia{place}{call}."
    if av.on_loan:
        due = f", earliest return {format_date(av.earliest_due, 'en')}" if en and av.earliest_due else ""
        if not en and av.earliest_due:
            due = f", paling cepat kembali {format_date(av.earliest_due)}"
        ref = ""
        if av.reference:
            ref = (
                " (a reference copy can be read in the library)" if en
                else " (ada eksemplar rujukan yang bisa dibaca di tempat)"
            )
        if en:
            return f"All copies are on loan{due}{ref}{call}."
        return f"Semua sedang dipinjam{due}{ref}{call}."
    if en:
        return f"Reference only: it can be read in the library but not borrowed{call}."
    return f"Hanya untuk dibaca di tempat (koleksi rujukan){call}."
