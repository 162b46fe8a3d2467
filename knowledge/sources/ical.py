"""Events from iCalendar (.ics file or URL), recurring events expanded in the library's zone."""

from __future__ import annotations

import urllib.request
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.models import Event
from knowledge.sources.report import SyncReport


def _as_datetime(value: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    return datetime.combine(value, time(0, 0), tzinfo=zone)


def read_calendar(location: str) -> bytes:
    """Bytes of an .ics file path or http(s) URL."""
    if location.startswith(("http://", "https://")):
        with urllib.request.urlopen(location, timeout=30) as response:  # noqa: S310
            return response.read()
    return Path(location).read_bytes()


def import_ics(
    sessions: sessionmaker[Session],
    location: str,
    *,
    tz: str = "Asia/Jakarta",
    now: datetime | None = None,
    days_ahead: int = 365,
    source: str = "ical",
) -> SyncReport:
    """Expand the calendar's events in ``[now - 1 day, now + days_ahead)`` and upsert them.

    Occurrences are keyed by ``UID@start``; occurrences of this source that are no longer in the
    calendar (cancelled, moved) and still lie in the future are deleted.
    """
    zone = ZoneInfo(tz)
    now = now or datetime.now(zone)
    start, end = now - timedelta(days=1), now + timedelta(days=days_ahead)
    report = SyncReport(source=f"{source}:{Path(location).name}")
    calendar = icalendar.Calendar.from_ical(read_calendar(location))
    occurrences = {}
    for index, component in enumerate(recurring_ical_events.of(calendar).between(start, end)):
        uid = str(component.get("UID") or f"no-uid-{index}")
        try:
            starts = _as_datetime(component.decoded("DTSTART"), zone)
            ends_raw = component.get("DTEND")
            ends = _as_datetime(component.decoded("DTEND"), zone) if ends_raw else None
        except (KeyError, ValueError) as exc:
            report.skip(uid, f"waktu acara tidak valid: {exc}")
            continue
        key = f"{uid}@{starts.astimezone(timezone.utc).isoformat()}"
        occurrences[key] = {
            "title": str(component.get("SUMMARY") or "Acara perpustakaan"),
            "description": str(component.get("DESCRIPTION") or "") or None,
            "location": str(component.get("LOCATION") or "") or None,
            "starts_at": starts.astimezone(timezone.utc),
            "ends_at": ends.astimezone(timezone.utc) if ends else None,
        }
    with sessions.begin() as session:
        existing = {e.source_id: e for e in session.scalars(select(Event).where(Event.source == source))}
        for key, values in occurrences.items():
            event = existing.pop(key, None)
            if event is None:
                session.add(Event(source=source, source_id=key, **values))
                report.added += 1
                continue
            old_start = event.starts_at if event.starts_at.tzinfo else event.starts_at.replace(tzinfo=timezone.utc)
            event_values = dict(values)
            if old_start == values["starts_at"]:
                event_values.pop("starts_at")
            old_end = event.ends_at.replace(tzinfo=timezone.utc) if event.ends_at and not event.ends_at.tzinfo else event.ends_at
            if old_end == values["ends_at"]:
                event_values.pop("ends_at")
            changed = {k: v for k, v in event_values.items() if getattr(event, k) != v}
            if changed:
                for k, v in changed.items():
                    setattr(event, k, v)
                report.updated += 1
            else:
                report.unchanged += 1
        for stale in existing.values():
            stale_start = stale.starts_at if stale.starts_at.tzinfo else stale.starts_at.replace(tzinfo=timezone.utc)
            if stale_start >= now:
                session.delete(stale)
                report.deleted += 1
    return report
