"""Handoff rules without I/O: triggers, cancel words, staffed hours and holidays."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.handoff.schedule import Schedule, ScheduleError, ScheduleFile, format_moment
from actions.rules import detect_trigger, is_cancel
from nlu.language import language_of as guess_language
from bot.settings import ROOT

WIB = ZoneInfo("Asia/Jakarta")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mau bicara dengan petugas", "patron_request"),
        ("admin manusia dong", "patron_request"),
        ("Bisa sambungkan ke pustakawan?", "patron_request"),
        ("I want to talk to a librarian", "patron_request"),
        ("saya kecewa dengan pelayanannya", "complaint"),
        ("mau komplain, bukunya rusak", "complaint"),
        ("jam buka perpustakaan?", None),
        ("ada buku laskar pelangi?", None),
        ("pustakawan kerja sampai jam berapa?", None),
    ],
)
def test_triggers(text: str, expected: str | None) -> None:
    assert detect_trigger(text) == expected


def test_cancel_words() -> None:
    assert is_cancel("batal") and is_cancel("Batal!") and is_cancel("kembali ke bot") and is_cancel("cancel")
    assert not is_cancel("batal pinjam buku bisa?")
    assert guess_language("can i talk to a person") == "en"
    assert guess_language("saya mau bicara dengan petugas") == "id"


@pytest.mark.parametrize(
    "text", ["gak jadi deh kak", "batal aja, balik ke bot", "ga jadi kak makasih", "nggak jadi", "cancel please"]
)
def test_natural_cancellations(text: str) -> None:
    assert is_cancel(text)


@pytest.mark.parametrize(
    "text", ["kalau batal pinjam gimana?", "jadi gak sih acaranya?", "saya jadi bingung", "bisa batalkan perpanjangan"]
)
def test_questions_about_cancelling_are_not_cancellations(text: str) -> None:
    assert not is_cancel(text)


def test_the_shipped_schedule_follows_the_library_hours() -> None:
    data = yaml.safe_load((ROOT / "bot" / "console" / "schedule.yml").read_text(encoding="utf-8"))
    schedule = Schedule.parse(data, "Asia/Jakarta")
    monday_morning = datetime(2026, 11, 30, 9, 0, tzinfo=WIB)
    assert schedule.is_open(monday_morning)
    assert not schedule.is_open(datetime(2026, 11, 30, 16, 30, tzinfo=WIB))
    friday_prayer = datetime(2026, 12, 4, 12, 0, tzinfo=WIB)
    assert not schedule.is_open(friday_prayer)
    assert schedule.next_opening(friday_prayer) == datetime(2026, 12, 4, 13, 30, tzinfo=WIB)
    # Saturday 15:00 → Sunday closed → Monday 08:00.
    saturday = datetime(2026, 12, 5, 15, 0, tzinfo=WIB)
    assert schedule.next_opening(saturday) == datetime(2026, 12, 7, 8, 0, tzinfo=WIB)
    # Christmas (a holiday, Friday) at 10:00 → Saturday 08:00.
    christmas = datetime(2026, 12, 25, 10, 0, tzinfo=WIB)
    assert not schedule.is_open(christmas)
    assert schedule.next_opening(christmas) == datetime(2026, 12, 26, 8, 0, tzinfo=WIB)
    # Times in UTC are converted: 02:00 UTC is 09:00 WIB.
    assert schedule.is_open(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    assert format_moment(datetime(2026, 12, 7, 8, 0, tzinfo=WIB), "id") == "Senin, 7 Desember 2026 pukul 08.00 WIB"
    assert format_moment(datetime(2026, 12, 7, 8, 0, tzinfo=WIB), "en") == "Monday 7 December 2026 at 08:00 WIB"


def test_bad_schedules_are_reported_and_the_last_good_one_kept(tmp_path: Path) -> None:
    with pytest.raises(ScheduleError, match="senin"):
        Schedule.parse({"jam": {"senin": "jam delapan"}}, "Asia/Jakarta")
    with pytest.raises(ScheduleError, match="YYYY-MM-DD"):
        Schedule.parse({"jam": {}, "libur": {"besok": "x"}}, "Asia/Jakarta")
    path = tmp_path / "jadwal.yml"
    path.write_text('jam: {senin: "08:00-09:00"}\n', encoding="utf-8")
    live = ScheduleFile(path, "Asia/Jakarta")
    assert live.current().is_open(datetime(2026, 11, 30, 8, 30, tzinfo=WIB))
    path.write_text('jam: {senin: "rusak"}\n', encoding="utf-8")
    import os

    os.utime(path, (1, 1))
    assert live.current().is_open(datetime(2026, 11, 30, 8, 30, tzinfo=WIB))
