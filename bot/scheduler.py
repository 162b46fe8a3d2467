"""The gateway's periodic sender: due announcements, event reminders, the weekly digest.

One :meth:`Scheduler.tick` does everything that is due at ``now``; :meth:`Scheduler.run` calls
it every ``SCHEDULER_INTERVAL_SECONDS``. Everything it sends goes through the outbox with an
idempotency key (``deliveries.key``), so ticks may overlap, repeat, or follow a crash: nothing
is sent twice. The clock is injected (tests advance it; nothing sleeps). Kept small and
self-contained so it can run behind a leader lock when the gateway has replicas.

- **Reminders** ("Ingatkan saya"): at ``due_at``, set when the patron tapped the button
  (``REMINDER_HOUR`` o'clock the day before the event, library time; see
  ``actions.subscriptions.reminder_time``).
- **Weekly digest**: on ``DIGEST_WEEKDAY`` at ``DIGEST_HOUR`` (library time), the catalog records
  added since the previous digest (the first tick only records where the catalog stands), matched
  to each subscriber's new-arrival topics; one message per patron, only when something matches.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actions.subscriptions import AUTHOR_PREFIX, SUBJECT_PREFIX, say, when_text
from bot import announcements
from bot.messages import Outgoing
from bot.models import Conversation
from bot.outbox import CONFIRMED_EVENT_UPDATE, MESSAGE_TAG_KEY, Outbox
from bot.subscription_models import QUEUED, SKIPPED, Digest, Reminder, Subscription
from knowledge.arrivals import NewRecord
from knowledge.kb import KnowledgeBase
from knowledge.text import fold

if TYPE_CHECKING:
    from bot.replicas.leader import LeaderLock

log = logging.getLogger(__name__)

BASELINE = "baseline"
DIGEST_MAX_TITLES = 8
_CHILDREN = ("anak", "cerita anak", "dongeng", "buku anak", "children", "juvenile", "picture book")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def week_key(moment: datetime, zone: ZoneInfo) -> str:
    """"2026-W49": the ISO week of ``moment`` in library time."""
    year, week, _ = moment.astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


def digest_moment(moment: datetime, zone: ZoneInfo, weekday: int, hour: int) -> datetime:
    """This ISO week's digest time (``weekday`` 0 = Monday, ``hour`` library time)."""
    local = moment.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime.combine(monday + timedelta(days=weekday), time(hour), zone)


def matches(topic: str, record: NewRecord) -> bool:
    """Whether a new record belongs to a new-arrival ``topic``."""
    if topic == "koleksi_baru":
        return True
    if topic == "koleksi_anak":
        subjects = " | ".join(fold(s) for s in record.subjects)
        return any(word in subjects for word in _CHILDREN) or (record.classification or "").upper().startswith("A")
    if topic.startswith(SUBJECT_PREFIX):
        wanted = fold(topic.removeprefix(SUBJECT_PREFIX))
        return any(wanted in fold(s) for s in record.subjects) or wanted in fold(record.title)
    if topic.startswith(AUTHOR_PREFIX):
        wanted = fold(topic.removeprefix(AUTHOR_PREFIX))
        return any(wanted in fold(a) or all(w in fold(a) for w in wanted.split()) for a in record.authors)
    return False


def digest_message(records: list[NewRecord], lang: str) -> Outgoing:
    """The digest text: up to ``DIGEST_MAX_TITLES`` titles."""
    lines = [say("digest.intro", lang)]
    for r in records[:DIGEST_MAX_TITLES]:
        by = f" \u2014 {', '.join(r.authors[:2])}" if r.authors else ""
        lines.append(f"\u2022 {r.title}{by}")
    if len(records) > DIGEST_MAX_TITLES:
        lines.append(say("digest.more", lang, n=len(records) - DIGEST_MAX_TITLES))
    lines.append(say("digest.outro", lang))
    return Outgoing(text="\n".join(lines))


class Scheduler:
    """Sends what is due; see the module's docstring."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        kb: KnowledgeBase,
        *,
        zone: ZoneInfo,
        interval: float = 60.0,
        digest_weekday: int = 0,
        digest_hour: int = 9,
        clock: Callable[[], datetime] = _utc_now,
        leader: LeaderLock | None = None,
    ) -> None:
        self.sessions = sessions
        #: with several replicas, only the holder of this lease ticks (bot/replicas/leader.py);
        #: double ticks would be harmless (unique delivery keys), only wasted work
        self.leader = leader
        self.outbox = outbox
        self.kb = kb
        self.zone = zone
        self.interval = interval
        self.digest_weekday = digest_weekday
        self.digest_hour = digest_hour
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Tick now and then every ``interval`` seconds, in the background."""
        self._task = asyncio.get_running_loop().create_task(self.run(), name="scheduler")

    async def stop(self) -> None:
        """Stop ticking (a tick under way is cancelled; what it did not finish, the next one does).

        The loop also ends by the ``_stopping`` flag: a cancellation swallowed on its way (seen
        with a tick cancelled while SQLAlchemy's async session was committing) must not leave
        the task waiting for the next interval and the shutdown hanging on it.
        """
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.leader is not None:
            await asyncio.to_thread(self.leader.release)

    def kick(self) -> None:
        """Tick as soon as possible (a librarian just pressed "Kirim sekarang")."""
        self._wake.set()

    async def run(self) -> None:
        """Tick until :meth:`stop`, every ``interval`` seconds or sooner after :meth:`kick`."""
        while not self._stopping:
            self._wake.clear()
            try:
                if self.leader is None or await asyncio.to_thread(self.leader.acquire):
                    await self.tick()
            except Exception:  # noqa: BLE001 - keep ticking
                log.exception("scheduler tick failed; trying again in %.0f s", self.interval)
            if self._stopping:
                break
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
            except TimeoutError:
                pass

    # --- work ------------------------------------------------------------------------------

    async def tick(self, now: datetime | None = None) -> dict[str, int]:
        """Do what is due at ``now`` (default: the clock); returns what this tick queued."""
        now = (now or self.clock()).astimezone(UTC)  # stored times are UTC (SQLite keeps no offset)
        done = {"announcements": 0, "reminders": 0, "digests": 0}
        for announcement_id in await announcements.due(self.sessions, now):
            done["announcements"] += await announcements.send_announcement(
                self.sessions, self.outbox, announcement_id, now=now
            )
        done["reminders"] = await self._reminders(now)
        done["digests"] = await self._digest(now)
        return done

    async def _reminders(self, now: datetime) -> int:
        async with self.sessions() as session:
            rows = list(await session.scalars(
                select(Reminder).where(Reminder.status == "pending", Reminder.due_at <= now).order_by(Reminder.due_at)
            ))
        sent = 0
        for row in rows:
            starts = row.starts_at if row.starts_at.tzinfo else row.starts_at.replace(tzinfo=UTC)
            if starts <= now:
                message = None  # the event began while the gateway was down: too late to remind
            else:
                place = f" di {row.location}" if row.location and row.language != "en" else (
                    f" at {row.location}" if row.location else "")
                text = say("remind.message", row.language, title=row.title, start=when_text(starts, self.zone, row.language),
                           place=place)
                # On Messenger after 24 h it goes out with the CONFIRMED_EVENT_UPDATE tag (the
                # patron asked for this reminder); Instagram and WhatsApp only inside the window.
                message = Outgoing(text=text, custom={MESSAGE_TAG_KEY: CONFIRMED_EVENT_UPDATE})
            sent += await announcements.queue_delivery(
                self.sessions, self.outbox, key=f"reminder:{row.id}", kind="reminder", conversation=row.conversation_id,
                message=message, status=QUEUED if message else SKIPPED,
                reason=None if message else "Acara sudah dimulai sebelum pengingat terkirim.",
            )
            async with self.sessions.begin() as session:
                await session.execute(update(Reminder).where(Reminder.id == row.id).values(status="queued"))
        return sent

    async def _digest(self, now: datetime) -> int:
        async with self.sessions() as session:
            weeks = {d.week: d for d in await session.scalars(select(Digest).order_by(Digest.id))}
        if not weeks:  # first run: new arrivals count from here on
            await self._record_digest(BASELINE, await asyncio.to_thread(self.kb.max_record_id))
            return 0
        week = week_key(now, self.zone)
        if now < digest_moment(now, self.zone, self.digest_weekday, self.digest_hour):
            return 0
        digest = weeks.get(week)
        if digest is not None and digest.finished_at is not None:
            return 0
        previous = max((d.max_record_id for w, d in weeks.items() if w != week), default=0)
        if digest is None:
            newest = await asyncio.to_thread(self.kb.max_record_id)
            if not await self._record_digest(week, newest):
                return 0  # another scheduler took this week
            digest_top = newest
        else:
            digest_top = digest.max_record_id  # resumed after a crash: same records, same keys
        records = [r for r in await asyncio.to_thread(self.kb.new_records, previous, limit=500) if r.id <= digest_top]
        sent = await self._send_digest(week, records, now) if records else 0
        async with self.sessions.begin() as session:
            await session.execute(update(Digest).where(Digest.week == week).values(finished_at=now))
        return sent

    async def _send_digest(self, week: str, records: list[NewRecord], now: datetime) -> int:
        async with self.sessions() as session:
            subs = (await session.execute(
                select(Subscription.conversation_id, Subscription.topic, Conversation)
                .join(Conversation, Conversation.id == Subscription.conversation_id)
                .where(Subscription.ended_at.is_(None), Subscription.topic.like("koleksi%"))
                .order_by(Subscription.conversation_id)
            )).all()
        topics: dict[int, tuple[Conversation, list[str]]] = {}
        for conv_id, topic, conv in subs:
            topics.setdefault(conv_id, (conv, []))[1].append(topic)
        channels = set(self.outbox.channels)
        sent = 0
        for conv_id, (conv, wanted) in topics.items():
            chosen = [r for r in records if any(matches(t, r) for t in wanted)]
            if not chosen:
                continue
            key = f"digest:{week}:{conv_id}"
            reason = announcements.window_reason(conv, channels, now)
            lang = "en" if conv.language == "en" or (conv.context or {}).get("language") == "en" else "id"
            sent += await announcements.queue_delivery(
                self.sessions, self.outbox, key=key, kind="digest", conversation=conv_id,
                message=None if reason else digest_message(chosen, lang),
                status=SKIPPED if reason else QUEUED, reason=reason,
            )
        return sent

    async def _record_digest(self, week: str, max_record_id: int) -> bool:
        try:
            async with self.sessions.begin() as session:
                session.add(Digest(week=week, max_record_id=max_record_id))
        except IntegrityError:
            return False
        return True
