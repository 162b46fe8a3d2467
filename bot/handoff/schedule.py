"""Staffed hours: the weekly schedule and holidays from ``schedule.yml``, and how to say a moment."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from knowledge.datenames import day_name, day_names, month_name

log = logging.getLogger(__name__)

# The day keys of ``schedule.yml``: "senin" … "minggu", Monday first.
DAYS = tuple(name.lower() for name in day_names("id"))


class ScheduleError(ValueError):
    """The schedule file is malformed; the message says where, in Indonesian."""


@dataclass(frozen=True)
class Schedule:
    """Weekly staffed hours plus holidays, in one time zone."""

    hours: tuple[tuple[tuple[time, time], ...], ...]  # 7 days, Monday first
    holidays: dict[date, str]
    tz: ZoneInfo

    @classmethod
    def parse(cls, data: Any, tz: str) -> Schedule:
        """Build from the YAML structure of ``schedule.yml``."""
        if not isinstance(data, dict):
            raise ScheduleError("Berkas jadwal harus berisi 'jam' dan 'libur'.")
        raw_hours = data.get("jam") or {}
        days: list[tuple[tuple[time, time], ...]] = []
        for day in DAYS:
            spec = raw_hours.get(day, "tutup")
            days.append(_parse_ranges(day, spec))
        holidays: dict[date, str] = {}
        for key, name in (data.get("libur") or {}).items():
            try:
                holidays[key if isinstance(key, date) else date.fromisoformat(str(key))] = str(name)
            except ValueError as exc:
                raise ScheduleError(f"Tanggal libur {key!r} harus berformat YYYY-MM-DD.") from exc
        return cls(hours=tuple(days), holidays=holidays, tz=ZoneInfo(tz))

    @classmethod
    def always_open(cls, tz: str = "Asia/Jakarta") -> Schedule:
        """Staffed around the clock (tests, or libraries with a night desk)."""
        day = ((time(0, 0), time(23, 59, 59, 999999)),)
        return cls(hours=(day,) * 7, holidays={}, tz=ZoneInfo(tz))

    def is_open(self, when: datetime) -> bool:
        """Whether a librarian is on duty at ``when``."""
        local = when.astimezone(self.tz)
        if local.date() in self.holidays:
            return False
        return any(start <= local.time() < end for start, end in self.hours[local.weekday()])

    def next_opening(self, when: datetime) -> datetime | None:
        """The next moment staff are on duty after ``when`` (None if never within 60 days)."""
        local = when.astimezone(self.tz)
        for offset in range(61):
            day = local.date() + timedelta(days=offset)
            if day in self.holidays:
                continue
            for start, _end in self.hours[day.weekday()]:
                moment = datetime.combine(day, start, tzinfo=self.tz)
                if moment > local:
                    return moment
        return None


def _parse_ranges(day: str, spec: Any) -> tuple[tuple[time, time], ...]:
    if spec is None or str(spec).strip().lower() in ("tutup", "libur", "-", ""):
        return ()
    ranges = []
    for part in str(spec).split(","):
        match = re.fullmatch(r"\s*(\d{1,2})[:.](\d{2})\s*-\s*(\d{1,2})[:.](\d{2})\s*", part)
        if not match:
            raise ScheduleError(f"Jam hari {day} ({part.strip()!r}) harus berformat HH:MM-HH:MM.")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        end = time(23, 59, 59, 999999) if (h2, m2) == (24, 0) else time(h2, m2)
        ranges.append((time(h1, m1), end))
    return tuple(ranges)


class ScheduleFile:
    """``schedule.yml`` re-read whenever it changes (librarians edit it without a restart)."""

    def __init__(self, path: Path | None, tz: str) -> None:
        self.path = path
        self.tz = tz
        self._mtime: float | None = None
        self._schedule = Schedule.always_open(tz)
        self.current()

    def current(self) -> Schedule:
        """The schedule as the file says now (the last good one if the file became invalid)."""
        if self.path is None:
            return self._schedule
        try:
            mtime = self.path.stat().st_mtime
            if mtime != self._mtime:
                data = yaml.safe_load(self.path.read_text(encoding="utf-8"))
                self._schedule = Schedule.parse(data, self.tz)
                self._mtime = mtime
        except (OSError, yaml.YAMLError, ScheduleError) as exc:
            log.warning("staffed-hours file %s unusable (%s); keeping the previous schedule", self.path, exc)
            self._mtime = None
        return self._schedule


def format_moment(moment: datetime, language: str) -> str:
    """``Senin, 1 Desember 2026 pukul 08.00 WIB`` (or the English equivalent)."""
    zone = moment.tzname() or ""
    if language == "en":
        return (f"{day_name(moment.weekday(), 'en')} {moment.day} {month_name(moment.month, 'en')} "
                f"{moment.year} at {moment:%H:%M} {zone}").strip()
    return (f"{day_name(moment.weekday())}, {moment.day} {month_name(moment.month)} "
            f"{moment.year} pukul {moment:%H.%M} {zone}").strip()
