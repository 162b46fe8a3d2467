"""Indonesian date expressions resolved to date ranges (actions/dates.py)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from actions.dates import default_period, parse_period
from actions.events import format_event
from knowledge.events import EventInfo

WED = date(2026, 11, 25)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("acara hari ini?", date(2026, 11, 25), date(2026, 11, 26), "hari ini"),
        ("besok ada acara?", date(2026, 11, 26), date(2026, 11, 27), "besok"),
        ("kalau lusa?", date(2026, 11, 27), date(2026, 11, 28), "lusa"),
        ("acara minggu ini", date(2026, 11, 25), date(2026, 11, 30), "minggu ini"),
        ("kegiatan minggu depan", date(2026, 11, 30), date(2026, 12, 7), "minggu depan"),
        ("pekan depan ada apa", date(2026, 11, 30), date(2026, 12, 7), "minggu depan"),
        ("sabtu ini ada dongeng?", date(2026, 11, 28), date(2026, 11, 29), None),
        ("sabtu depan", date(2026, 12, 5), date(2026, 12, 6), None),
        ("kalau hari minggu?", date(2026, 11, 29), date(2026, 11, 30), None),
        ("akhir pekan ini", date(2026, 11, 28), date(2026, 11, 30), "akhir pekan ini"),
        ("bulan depan", date(2026, 12, 1), date(2027, 1, 1), "bulan depan"),
        ("bulan ini ada apa", date(2026, 11, 25), date(2026, 12, 1), "bulan ini"),
        ("acara tanggal 28", date(2026, 11, 28), date(2026, 11, 29), None),
        ("tgl 3", date(2026, 12, 3), date(2026, 12, 4), None),  # already past: next month
        ("17 Agustus", date(2027, 8, 17), date(2027, 8, 18), None),  # past this year: next year
        ("tanggal 1 desember", date(2026, 12, 1), date(2026, 12, 2), None),
        ("17/12", date(2026, 12, 17), date(2026, 12, 18), None),
        ("any events tomorrow?", date(2026, 11, 26), date(2026, 11, 27), "besok"),
        ("next week", date(2026, 11, 30), date(2026, 12, 7), "minggu depan"),
        ("on saturday", date(2026, 11, 28), date(2026, 11, 29), None),
        ("bulan januari", date(2027, 1, 1), date(2027, 2, 1), "bulan Januari"),
        ("hari jum'at buka?", date(2026, 11, 27), date(2026, 11, 28), None),
        ("kalau jumat?", date(2026, 11, 27), date(2026, 11, 28), None),
        ("hari ahad ada acara?", date(2026, 11, 29), date(2026, 11, 30), None),
        ("5 Des", date(2026, 12, 5), date(2026, 12, 6), None),
        ("5 nopember 2027", date(2027, 11, 5), date(2027, 11, 6), None),
        ("events on 5 aug", date(2027, 8, 5), date(2027, 8, 6), None),
    ],
)
def test_periods(text: str, start: date, end: date, label: str | None) -> None:
    period = parse_period(text, WED)
    assert period is not None
    assert (period.start, period.end) == (start, end)
    if label:
        assert period.label("id") == label


def test_labels_in_both_languages() -> None:
    period = parse_period("sabtu ini", WED)
    assert period is not None
    assert period.label("id") == "pada Sabtu, 28 November"
    assert period.label("en") == "on Saturday, 28 November"
    assert parse_period("besok", WED).label("en") == "tomorrow"  # type: ignore[union-attr]


def test_no_date_and_invalid_dates() -> None:
    assert parse_period("ada acara apa?", WED) is None
    assert parse_period("31 februari", WED) is None
    assert default_period(WED).end == date(2026, 12, 9)


def test_sunday_is_this_weekend_and_weekday_today() -> None:
    sunday = date(2026, 11, 29)
    assert parse_period("akhir pekan", sunday).start == sunday  # type: ignore[union-attr]
    saturday = date(2026, 11, 28)
    assert parse_period("sabtu ini", saturday).start == saturday  # type: ignore[union-attr]


def test_event_lines_name_the_day_and_month() -> None:
    wib = ZoneInfo("Asia/Jakarta")
    event = EventInfo("Dongeng Anak", None, "Ruang Anak", datetime(2026, 11, 28, 9, 0, tzinfo=wib), None)
    assert format_event(event, "id", wib) == "\u2022 Sabtu, 28 November, 09.00 \u2014 Dongeng Anak (Ruang Anak)"
    assert format_event(event, "en", wib) == "\u2022 Saturday, 28 November, 09.00 \u2014 Dongeng Anak (Ruang Anak)"
    august = EventInfo("Lomba", None, None, datetime(2027, 8, 17, 8, 30, tzinfo=wib), None)
    assert format_event(august, "id", wib) == "\u2022 Selasa, 17 Agustus, 08.30 \u2014 Lomba"
