"""Day and month names from Babel (knowledge/datenames.py)."""

from __future__ import annotations

from datetime import date

import pytest

from knowledge.availability import format_date
from knowledge.datenames import day_name, day_names, month_name, month_names


def test_indonesian_and_english_names() -> None:
    assert day_names("id") == ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
    assert day_names("en")[0] == "Monday" and day_names("en")[6] == "Sunday"
    assert month_names("id") == (
        "Januari", "Februari", "Maret", "April", "Mei", "Juni",
        "Juli", "Agustus", "September", "Oktober", "November", "Desember",
    )
    assert month_names("id", "abbreviated")[7] == "Agu"
    assert month_names("en")[4] == "May"


@pytest.mark.parametrize(("day", "lang", "expected"), [(date(2026, 12, 7), "id", "Senin"),
                                                        (date(2026, 12, 4), "id", "Jumat"),
                                                        (date(2026, 12, 6), "en", "Sunday")])
def test_day_name_follows_date_weekday(day: date, lang: str, expected: str) -> None:
    assert day_name(day.weekday(), lang) == expected


def test_month_name_and_loan_dates() -> None:
    assert month_name(2) == "Februari" and month_name(2, "en") == "February"
    this_year = date.today().year
    assert format_date(date(this_year, 8, 17)) == "17 Agustus"
    assert format_date(date(this_year, 8, 17), "en") == "17 August"
    assert format_date(date(this_year + 1, 12, 1)) == f"1 Desember {this_year + 1}"
