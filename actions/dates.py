"""Indonesian (and simple English) date expressions resolved to date ranges.

"hari ini", "besok", "lusa", "minggu ini", "minggu depan", "akhir pekan", "sabtu ini",
"sabtu depan", "bulan ini", "bulan depan", "tanggal 17", "17 Agustus", "17/8". A range is
``[start, end)`` in dates; the caller adds the library's time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from knowledge.datenames import day_name, day_names, month_name, month_names
from knowledge.text import fold


def _lookup(names: list[tuple[str, ...]], extra: dict[str, int], *, first: int) -> dict[str, int]:
    table: dict[str, int] = {}
    for group in names:
        for number, name in enumerate(group, start=first):
            table.setdefault(fold(name), number)
    table.update((spelling, number) for spelling, number in extra.items() if spelling not in table)
    return table


# Day and month names a patron may type (folded, as ``parse_period`` compares them): Babel's
# Indonesian then English names, plus chat and old spellings ("jum'at" folds to "jum at").
DAYS = _lookup([day_names("id"), day_names("en")], {"ahad": 6, "jum at": 4}, first=0)
MONTHS = _lookup(
    [month_names("id"), month_names("id", "abbreviated"), month_names("en"), month_names("en", "abbreviated")],
    {"pebruari": 2, "agt": 8, "ags": 8, "sept": 9, "nopember": 11},
    first=1,
)


@dataclass(frozen=True)
class DateRange:
    """Dates ``[start, end)`` and how to say them."""

    start: date
    end: date
    label_id: str
    label_en: str

    def label(self, lang: str) -> str:
        """The phrase for ``lang`` ("minggu ini" / "this week")."""
        return self.label_en if lang == "en" else self.label_id


def _next_weekday(today: date, weekday: int, *, skip_this_week: bool) -> date:
    delta = (weekday - today.weekday()) % 7
    result = today + timedelta(days=delta)
    if skip_this_week:
        # "sabtu depan": the one in next week.
        monday_next = today - timedelta(days=today.weekday()) + timedelta(days=7)
        result = monday_next + timedelta(days=weekday)
    return result


def _month_range(year: int, month: int) -> tuple[date, date]:
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return start, end


def parse_period(text: str, today: date) -> DateRange | None:
    """The date range a patron means, or ``None`` when the text names no date."""
    words = fold(text)
    padded = f" {words} "
    one = timedelta(days=1)

    def day(d: date, label_id: str, label_en: str) -> DateRange:
        return DateRange(d, d + one, label_id, label_en)

    def on(d: date) -> tuple[str, str]:
        return (
            f"pada {day_name(d.weekday())}, {d.day} {month_name(d.month)}",
            f"on {day_name(d.weekday(), 'en')}, {d.day} {month_name(d.month, 'en')}",
        )

    # "17 agustus", "17 agt 2027"
    m = re.search(r"\b(\d{1,2}) (" + "|".join(MONTHS) + r")\b(?: (\d{4}))?", words)
    if m:
        d_num, month = int(m.group(1)), MONTHS[m.group(2)]
        year = int(m.group(3)) if m.group(3) else today.year
        try:
            d = date(year, month, d_num)
        except ValueError:
            return None
        if not m.group(3) and d < today:
            d = date(year + 1, month, d_num)
        return day(d, *on(d))
    # "17/8", "17-08"
    m = re.search(r"\b(\d{1,2})[/-](\d{1,2})(?:[/-](\d{2,4}))?\b", text)
    if m:
        d_num, month = int(m.group(1)), int(m.group(2))
        year = int(m.group(3)) if m.group(3) else today.year
        year += 2000 if year < 100 else 0
        try:
            d = date(year, month, d_num)
        except ValueError:
            return None
        if not m.group(3) and d < today:
            d = date(year + 1, month, d_num)
        return day(d, *on(d))
    # "tanggal 17" (this month, or next month when already past)
    m = re.search(r"\b(?:tanggal|tgl|tgl\.) ?(\d{1,2})\b", words)
    if m:
        d_num = int(m.group(1))
        year, month = today.year, today.month
        if d_num < today.day:
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        try:
            d = date(year, month, d_num)
        except ValueError:
            return None
        return day(d, *on(d))
    if " hari ini " in padded or " today " in padded or " sekarang " in padded:
        return day(today, "hari ini", "today")
    if " lusa " in padded:
        return day(today + 2 * one, "lusa", "the day after tomorrow")
    if " besok " in padded or " tomorrow " in padded or " besuk " in padded:
        return day(today + one, "besok", "tomorrow")
    if any(k in padded for k in (" akhir pekan ", " weekend ", " akhir minggu ", " wiken ")):
        sat = _next_weekday(today, 5, skip_this_week=" depan " in padded or " next " in padded)
        if today.weekday() == 6 and " depan " not in padded:
            return day(today, "akhir pekan ini", "this weekend")
        return DateRange(sat, sat + 2 * one, "akhir pekan ini", "this weekend")
    for name, weekday in DAYS.items():
        if name == "minggu" and re.search(r"\bminggu (ini|depan|lalu)\b", words):
            continue  # "minggu ini" is a week, not Sunday
        if f" {name} " in padded:
            nxt = " depan " in padded or " next " in padded
            d = _next_weekday(today, weekday, skip_this_week=nxt)
            return day(d, *on(d))
    if re.search(r"\b(minggu|pekan) depan\b", words) or " next week " in padded:
        start = today - timedelta(days=today.weekday()) + timedelta(days=7)
        return DateRange(start, start + 7 * one, "minggu depan", "next week")
    if re.search(r"\b(minggu|pekan) ini\b", words) or " this week " in padded:
        end = today - timedelta(days=today.weekday()) + timedelta(days=7)
        return DateRange(today, end, "minggu ini", "this week")
    if re.search(r"\bbulan depan\b", words) or " next month " in padded:
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        start, end = _month_range(year, month)
        return DateRange(start, end, "bulan depan", "next month")
    if re.search(r"\bbulan ini\b", words) or " this month " in padded:
        _, end = _month_range(today.year, today.month)
        return DateRange(today, end, "bulan ini", "this month")
    for name, month in MONTHS.items():
        if len(name) > 3 and re.search(rf"\b(bulan )?{name}\b", words):
            year = today.year + (month < today.month)
            start, end = _month_range(year, month)
            start = max(start, today)
            return DateRange(start, end, f"bulan {month_name(month)}", f"in {month_name(month, 'en')}")
    return None


def default_period(today: date) -> DateRange:
    """The next two weeks, when a patron names no date."""
    return DateRange(today, today + timedelta(days=14), "dalam dua minggu ke depan", "in the next two weeks")
