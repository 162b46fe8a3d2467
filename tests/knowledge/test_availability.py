"""Availability said the way a librarian says it."""

from __future__ import annotations

from datetime import date

from knowledge.availability import availability, describe
from knowledge.models import Copy, CopyStatus


def _copy(status: CopyStatus, due: date | None = None, where: str = "Rak Fiksi Lantai 2") -> Copy:
    return Copy(barcode="b", call_number="899.221 3 HIR l", location=where, status=status, due_date=due)


def test_librarian_phrasing() -> None:
    year = date.today().year
    two_of_four = [
        _copy(CopyStatus.AVAILABLE), _copy(CopyStatus.AVAILABLE),
        _copy(CopyStatus.ON_LOAN, date(year, 12, 8)), _copy(CopyStatus.ON_LOAN, date(year, 11, 28)),
    ]
    assert describe(availability(two_of_four)) == (
        "2 dari 4 eksemplar tersedia di Rak Fiksi Lantai 2, no. panggil 899.221 3 HIR l."
    )
    all_out = [_copy(CopyStatus.ON_LOAN, date(year, 12, 8)), _copy(CopyStatus.ON_LOAN, date(year, 11, 28))]
    assert describe(availability(all_out)).startswith("Semua sedang dipinjam, paling cepat kembali 28 November")
    assert describe(availability(all_out), "en").startswith("All copies are on loan, earliest return 28 November")
    assert "rujukan" in describe(availability([_copy(CopyStatus.REFERENCE)]))
    assert describe(availability([_copy(CopyStatus.LOST)])) == "Belum ada eksemplar yang bisa dipinjam saat ini."
