"""Live-agent handoff: triggers, the staffed-hours schedule, patron texts and the state machine.

A conversation moves ``bot → waiting → agent → bot`` (or ``waiting → bot`` when the patron
cancels). Every step is a database transaction, so a gateway restart keeps the queue, the
claims and the transcript. Claiming is a conditional update plus an insert into a table whose
primary key is the conversation, so two agents can never hold the same conversation.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.handoff_models import AuditEntry, Claim, Handoff, Note, Staff, WebchatCursor
from bot.messages import Outgoing, Reply
from bot.models import Conversation, ConversationState, Message, utcnow
from bot.staff import StaffUser, audit

log = logging.getLogger(__name__)

WEB_CHANNEL = "web"
REASONS = ("patron_request", "not_understood", "complaint", "staff_takeover", "platform_inbox", "handover", "story")

# --- patron-facing texts -------------------------------------------------------------------

TEXTS: dict[str, tuple[str, str]] = {
    "start.request": (
        "Baik Kak, saya sambungkan dengan pustakawan.",
        "Sure, I'm connecting you with a librarian.",
    ),
    "start.complaint": (
        "Mohon maaf atas ketidaknyamanannya, Kak. Pesan Kakak saya teruskan ke pustakawan.",
        "We're sorry for the trouble. I'm passing your message on to a librarian.",
    ),
    "queue": (
        "Kakak berada di antrean nomor {position}. Pustakawan akan membalas di sini, mohon "
        "ditunggu ya. Ketik \u201cbatal\u201d kalau mau kembali ke asisten otomatis.",
        "You are number {position} in the queue. A librarian will reply here, please wait. "
        "Type \u201ccancel\u201d to go back to the automatic assistant.",
    ),
    "off_hours": (
        "Saat ini di luar jam layanan pustakawan. Pesan Kakak sudah tercatat dan pustakawan akan "
        "membalas di sini pada hari kerja berikutnya, {when}. Ketik \u201cbatal\u201d kalau mau "
        "kembali ke asisten otomatis.",
        "Our librarians are off duty right now. Your message is saved and a librarian will reply "
        "here on the next working day, {when}. Type \u201ccancel\u201d to go back to the automatic "
        "assistant.",
    ),
    "cancelled": (
        "Baik Kak, permintaan bicara dengan pustakawan dibatalkan. Kakak kembali dilayani asisten "
        "otomatis. Ada yang bisa saya bantu?",
        "All right, the request for a librarian is cancelled and you're back with the automatic "
        "assistant. How can I help?",
    ),
    "declined": (
        "Maaf Kak, saat ini sudah terlalu banyak permintaan bicara dengan pustakawan dari jaringan "
        "Kakak. Silakan coba lagi nanti atau hubungi perpustakaan langsung; asisten otomatis tetap "
        "siap membantu.",
        "Sorry, there are too many requests for a librarian from your network right now. Please try "
        "again later or contact the library directly; the automatic assistant is still here to help.",
    ),
    "claimed": (
        "Kakak sekarang terhubung dengan pustakawan {name}.",
        "You are now chatting with {name}, a librarian.",
    ),
    "resolved": (
        "Percakapan dengan pustakawan sudah selesai. Terima kasih, Kak! Kalau ada pertanyaan lain, "
        "asisten otomatis siap membantu.",
        "The conversation with the librarian has ended. Thank you! The automatic assistant is here "
        "if you have other questions.",
    ),
}


def text(key: str, language: str, **values: Any) -> str:
    """Patron text ``key`` in ``language`` ("id" or "en")."""
    id_text, en_text = TEXTS[key]
    return (en_text if language == "en" else id_text).format(**values)


# --- triggers ---------------------------------------------------------------------------------


def normalize(value: str) -> str:
    """Lower case, no accents or punctuation, single spaces."""
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii").lower()
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", value).split())


CANCEL_WORDS = frozenset(
    {"batal", "batalkan", "gak jadi", "ga jadi", "nggak jadi", "tidak jadi", "kembali ke bot",
     "balik ke bot", "cancel", "back to bot", "back to the bot"}
)

_PEOPLE = r"(petugas|pustakawan|admin|orang|manusia|cs|operator|librarian|person|human|staff)"
_REQUEST = re.compile(
    r"\b(bicara|ngobrol|chat|chatting|hubungkan|sambungkan|ketemu|bertemu|ngomong|talk|speak)\b"
    r"( (dengan|sama|ke|with|to))?( (a|an|the|seorang))? " + _PEOPLE + r"\b"
    r"|\b(admin|cs|petugas|operator) (manusia|asli)\b|\breal (person|human)\b"
)
_COMPLAINT = re.compile(
    r"\b(komplain|complain|complaint|keluhan|mengeluh|kecewa|mengecewakan|tidak puas|gak puas|"
    r"ga puas|nggak puas|pelayanan buruk|pelayanan jelek|payah|lapor petugas|melaporkan petugas)\b"
)


_ENGLISH = frozenset(
    "i you the is are do can could please want talk speak with to a an my me what when where how hello hi "
    "person human librarian someone complaint back cancel".split()
)
_INDONESIAN = frozenset(
    "saya aku mau ingin bisa dengan sama ke dong ya kak min tolong minta bicara petugas pustakawan "
    "yang ada tidak gak ga apa kapan".split()
)


def guess_language(message: str) -> str:
    """``"en"`` when ``message`` has more English than Indonesian marker words, else ``"id"``."""
    words = normalize(message).split()
    english = sum(word in _ENGLISH for word in words)
    indonesian = sum(word in _INDONESIAN for word in words)
    return "en" if english > indonesian else "id"


def is_cancel(message: str) -> bool:
    """Whether the patron wants to stop waiting and go back to the bot."""
    return normalize(message) in CANCEL_WORDS


def detect_trigger(message: str) -> str | None:
    """A reason to hand off before asking Rasa: ``"complaint"``, ``"patron_request"`` or None."""
    norm = normalize(message)
    if _COMPLAINT.search(norm):
        return "complaint"
    if _REQUEST.search(norm):
        return "patron_request"
    return None


# --- staffed hours ----------------------------------------------------------------------------

DAYS = ("senin", "selasa", "rabu", "kamis", "jumat", "sabtu", "minggu")
DAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
          "Oktober", "November", "Desember")
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December")


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
        return (f"{DAYS_EN[moment.weekday()]} {moment.day} {MONTHS_EN[moment.month - 1]} "
                f"{moment.year} at {moment:%H:%M} {zone}").strip()
    return (f"{DAYS[moment.weekday()].capitalize()}, {moment.day} {MONTHS[moment.month - 1]} "
            f"{moment.year} pukul {moment:%H.%M} {zone}").strip()


# --- the state machine ------------------------------------------------------------------------


class HandoffError(Exception):
    """A console action that cannot be done now; ``message`` is Indonesian, for the librarian."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class OutboxLike(Protocol):
    """The part of ``bot.outbox.Outbox`` the handoff uses."""

    async def enqueue(
        self, conversation_id: int, message: Outgoing, *, author: str = "bot", transcript_id: int | None = None
    ) -> int:
        """Queue ``message`` for delivery on the conversation's channel."""

    async def statuses(self, transcript_ids: list[int]) -> dict[int, str]:
        """Delivery status per transcript id: pending, sent or failed:<reason>."""

    async def check_window(self, conversation_id: int, *, author: str) -> str | None:
        """Why a message cannot be delivered now (Indonesian), or None."""


Notifier = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class QueueItem:
    """One row of the console's queue."""

    conversation_id: int
    channel: str
    patron: str
    state: str
    reason: str | None
    since: datetime
    agent: str | None
    agent_id: int | None
    last_text: str
    unread: int = 0


@dataclass
class TranscriptLine:
    """One line of the console transcript: a message or an internal note."""

    id: int
    kind: str  # message | note
    author: str  # patron | bot | agent | system | note
    text: str
    at: datetime
    staff: str | None = None
    status: str | None = None
    buttons: list[str] = field(default_factory=list)


@dataclass
class ConversationView:
    """Everything the console shows about one conversation."""

    conversation: Conversation
    handoff: Handoff | None
    agent: str | None
    agent_id: int | None
    lines: list[TranscriptLine]


async def _nothing(_event: dict[str, Any]) -> None:
    return None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class HandoffService:
    """Moves conversations between the bot and librarians, and tells the consoles."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        schedule: ScheduleFile,
        notify: Notifier = _nothing,
        outbox: Callable[[], OutboxLike | None] = lambda: None,
    ) -> None:
        self.sessions = sessions
        self.schedule = schedule
        self.notify = notify
        self._outbox = outbox

    # patron side (called by the router, inside the conversation's lock)

    async def start(self, conversation_id: int, *, reason: str, language: str) -> list[Outgoing]:
        """Queue the conversation for a librarian; returns what to tell the patron."""
        now = utcnow()
        async with self.sessions.begin() as session:
            conv = await session.get(Conversation, conversation_id)
            if conv is None:
                return []
            conv.language = "en" if language == "en" else "id"
            if conv.state is ConversationState.BOT:
                conv.state = ConversationState.WAITING
                handoff = Handoff(conversation_id=conversation_id, reason=reason, status="waiting", requested_at=now)
                session.add(handoff)
                await session.flush()
            await audit(session, "handoff_requested", conversation_id=conversation_id, detail={"reason": reason})
            position = await self._position(session, conversation_id)
            lang = conv.language
        await self.notify({"type": "queue", "conversation_id": conversation_id})
        schedule = self.schedule.current()
        if not schedule.is_open(now):
            opening = schedule.next_opening(now)
            when = format_moment(opening, lang) if opening else ("secepatnya" if lang != "en" else "as soon as possible")
            return [Outgoing(text=text("off_hours", lang, when=when))]
        return [Outgoing(text=text("queue", lang, position=position))]

    async def on_patron_message(self, conversation_id: int, message: str) -> Reply:
        """A patron message while waiting or with an agent: to the console, never to Rasa."""
        if is_cancel(message):
            async with self.sessions.begin() as session:
                conv = await session.get(Conversation, conversation_id)
                lang = conv.language if conv else "id"
                await self._close(session, conversation_id, status="cancelled", staff_id=None)
                await audit(session, "handoff_cancelled_by_patron", conversation_id=conversation_id)
            await self.notify({"type": "queue", "conversation_id": conversation_id})
            return Reply(messages=[Outgoing(text=text("cancelled", lang))], handoff=False)
        await self.notify({"type": "message", "conversation_id": conversation_id, "author": "patron"})
        return Reply(messages=[], handoff=True)

    async def hold(self, conversation_id: int, *, reason: str) -> None:
        """Pause the bot for a conversation and put it in the console queue, telling the patron nothing.

        For events that show a person should look (a story reply, a person answering in the
        platform's own inbox, another app taking the thread); no-op when staff already have it.
        """
        async with self.sessions.begin() as session:
            conv = await session.get(Conversation, conversation_id)
            if conv is None or conv.state is not ConversationState.BOT:
                return
            conv.state = ConversationState.WAITING
            session.add(Handoff(conversation_id=conversation_id, reason=reason, status="waiting", requested_at=utcnow()))
            await audit(session, "handoff_requested", conversation_id=conversation_id, detail={"reason": reason})
        await self.notify({"type": "queue", "conversation_id": conversation_id})

    async def release(self, conversation_id: int, *, reason: str) -> bool:
        """Give a conversation held for ``reason`` back to the bot (e.g. the thread was passed back)."""
        async with self.sessions.begin() as session:
            handoff = await self._active(session, conversation_id)
            if handoff is None or handoff.reason != reason:
                return False
            await self._close(session, conversation_id, status="resolved", staff_id=None)
            await audit(session, "handoff_released", conversation_id=conversation_id, detail={"reason": reason})
        await self.notify({"type": "queue", "conversation_id": conversation_id})
        return True

    async def decline(self, conversation_id: int, *, why: str) -> list[Outgoing]:
        """Take back a handoff just started (over a limit): the conversation returns to the bot.

        Returns what to tell the patron; the transcript row is written here.
        """
        async with self.sessions.begin() as session:
            conv = await session.get(Conversation, conversation_id)
            lang = conv.language if conv else "id"
            await self._close(session, conversation_id, status="declined", staff_id=None)
            await audit(session, "handoff_declined", conversation_id=conversation_id, detail={"why": why})
            message = text("declined", lang)
            session.add(Message(conversation_id=conversation_id, direction="out", author="system", text=message))
        await self.notify({"type": "queue", "conversation_id": conversation_id})
        return [Outgoing(text=message)]

    async def web_conversation(self, external_id: str) -> tuple[int, ConversationState] | None:
        """(id, state) of a web chat conversation; None before its first message."""
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(Conversation.id, Conversation.state).where(
                        Conversation.channel == WEB_CHANNEL, Conversation.external_id == external_id
                    )
                )
            ).first()
        return (row[0], row[1]) if row is not None else None

    async def _position(self, session: AsyncSession, conversation_id: int) -> int:
        mine = await session.scalar(
            select(Handoff.id).where(Handoff.conversation_id == conversation_id, Handoff.status == "waiting")
        )
        if mine is None:
            return 0
        count = await session.scalar(
            select(func.count()).select_from(Handoff).where(Handoff.status == "waiting", Handoff.id <= mine)
        )
        return int(count or 0)

    async def position(self, conversation_id: int) -> int:
        """Place of the conversation in the queue (1 = next), 0 when not waiting."""
        async with self.sessions() as session:
            return await self._position(session, conversation_id)

    # console side

    async def queue(self, *, recent_hours: int = 24) -> tuple[list[QueueItem], list[QueueItem]]:
        """Active handoffs (waiting first, oldest first) and recent bot conversations to take over."""
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(Handoff, Conversation, Staff)
                    .join(Conversation, Conversation.id == Handoff.conversation_id)
                    .outerjoin(Staff, Staff.id == Handoff.claimed_by)
                    .where(Handoff.status.in_(("waiting", "agent")))
                    .order_by(Handoff.status.desc(), Handoff.id)
                )
            ).all()
            active = []
            for handoff, conv, staff in rows:
                last = await self._last_patron_text(session, conv.id)
                unread = await self._unread(session, conv.id, handoff)
                active.append(
                    QueueItem(
                        conversation_id=conv.id, channel=conv.channel, patron=_patron(conv),
                        state=handoff.status, reason=handoff.reason, since=_aware(handoff.requested_at),
                        agent=staff.display_name if staff else None, agent_id=staff.id if staff else None,
                        last_text=last, unread=unread,
                    )
                )
            cutoff = utcnow() - timedelta(hours=recent_hours)
            recent = []
            for conv in await session.scalars(
                select(Conversation)
                .where(Conversation.state == ConversationState.BOT, Conversation.last_inbound_at >= cutoff)
                .order_by(Conversation.last_inbound_at.desc())
                .limit(20)
            ):
                recent.append(
                    QueueItem(
                        conversation_id=conv.id, channel=conv.channel, patron=_patron(conv), state="bot",
                        reason=None, since=_aware(conv.last_inbound_at or conv.created_at), agent=None,
                        agent_id=None, last_text=await self._last_patron_text(session, conv.id),
                    )
                )
        return active, recent

    async def _last_patron_text(self, session: AsyncSession, conversation_id: int) -> str:
        last = await session.scalar(
            select(Message.text)
            .where(Message.conversation_id == conversation_id, Message.author == "patron")
            .order_by(Message.id.desc())
            .limit(1)
        )
        return (last or "")[:120]

    async def _unread(self, session: AsyncSession, conversation_id: int, handoff: Handoff) -> int:
        last_agent = await session.scalar(
            select(func.max(Message.id)).where(Message.conversation_id == conversation_id, Message.author == "agent")
        )
        query = select(func.count()).select_from(Message).where(
            Message.conversation_id == conversation_id,
            Message.author == "patron",
            Message.created_at >= handoff.requested_at,
        )
        if last_agent is not None:
            query = query.where(Message.id > last_agent)
        return int(await session.scalar(query) or 0)

    async def view(self, conversation_id: int) -> ConversationView:
        """The conversation, its active handoff, and the transcript with notes and delivery status.

        Raises:
            HandoffError: no such conversation.
        """
        async with self.sessions() as session:
            conv = await session.get(Conversation, conversation_id)
            if conv is None:
                raise HandoffError("Percakapan tidak ditemukan.")
            handoff = await self._active(session, conversation_id)
            agent = await session.get(Staff, handoff.claimed_by) if handoff and handoff.claimed_by else None
            messages = list(
                await session.scalars(
                    select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
                )
            )
            notes = (
                await session.execute(
                    select(Note, Staff).join(Staff, Staff.id == Note.staff_id)
                    .where(Note.conversation_id == conversation_id).order_by(Note.id)
                )
            ).all()
            names = dict((await session.execute(select(Staff.id, Staff.display_name))).tuples().all())
            staff_of = await self._reply_authors(session, conversation_id)
            seen = await session.scalar(
                select(WebchatCursor.seen_message_id).where(WebchatCursor.conversation_id == conversation_id)
            )
        outbound = [m.id for m in messages if m.direction == "out" and m.author in ("agent", "system")]
        statuses = await self._statuses(conv.channel, outbound, seen or 0)
        lines = [
            TranscriptLine(
                id=m.id, kind="message", author=m.author, text=m.text, at=_aware(m.created_at),
                staff=names.get(staff_of.get(m.id, -1)), status=statuses.get(m.id),
                buttons=[b.get("title", "") for b in (m.payload or {}).get("buttons", [])],
            )
            for m in messages
        ]
        lines += [
            TranscriptLine(id=n.id, kind="note", author="note", text=n.text, at=_aware(n.created_at),
                           staff=s.display_name)
            for n, s in notes
        ]
        lines.sort(key=lambda line: line.at)
        return ConversationView(
            conversation=conv, handoff=handoff, agent=agent.display_name if agent else None,
            agent_id=agent.id if agent else None, lines=lines,
        )

    async def _reply_authors(self, session: AsyncSession, conversation_id: int) -> dict[int, int]:
        rows = await session.execute(
            select(AuditEntry.message_id, AuditEntry.staff_id).where(
                AuditEntry.conversation_id == conversation_id,
                AuditEntry.action == "reply",
                AuditEntry.message_id.is_not(None),
            )
        )
        return {mid: sid for mid, sid in rows.tuples().all() if mid is not None and sid is not None}

    async def _statuses(self, channel: str, ids: list[int], seen: int) -> dict[int, str]:
        if not ids:
            return {}
        if channel == WEB_CHANNEL:
            return {i: ("sent" if i <= seen else "pending") for i in ids}
        outbox = self._outbox()
        if outbox is None:
            return {i: "failed:kanal belum aktif" for i in ids}
        return await outbox.statuses(ids)

    async def _active(self, session: AsyncSession, conversation_id: int) -> Handoff | None:
        return await session.scalar(
            select(Handoff)
            .where(Handoff.conversation_id == conversation_id, Handoff.status.in_(("waiting", "agent")))
            .order_by(Handoff.id.desc())
            .limit(1)
        )

    async def claim(self, conversation_id: int, user: StaffUser) -> None:
        """Take a waiting conversation, or take over one the bot is handling.

        Raises:
            HandoffError: someone else was faster, or the conversation is no longer waiting.
        """
        try:
            channel, lang, takeover = await self._claim(conversation_id, user)
        except IntegrityError as exc:
            raise HandoffError("Percakapan ini sudah diambil pustakawan lain.") from exc
        await self._deliver(conversation_id, channel, text("claimed", lang, name=user.display_name), author="system")
        await self.notify({"type": "queue", "conversation_id": conversation_id})

    async def _claim(self, conversation_id: int, user: StaffUser) -> tuple[str, str, bool]:
        async with self.sessions.begin() as session:
            # Write first: the conditional update decides the race inside one write transaction.
            taken = await session.execute(
                update(Handoff)
                .where(Handoff.conversation_id == conversation_id, Handoff.status == "waiting")
                .values(status="agent", claimed_by=user.id, claimed_at=utcnow())
            )
            takeover = False
            if taken.rowcount != 1:
                moved = await session.execute(
                    update(Conversation)
                    .where(Conversation.id == conversation_id, Conversation.state == ConversationState.BOT)
                    .values(state=ConversationState.AGENT)
                )
                if moved.rowcount != 1:
                    raise HandoffError(await self._why_not(session, conversation_id))
                session.add(Handoff(conversation_id=conversation_id, reason="staff_takeover", status="agent",
                                    claimed_by=user.id, claimed_at=utcnow()))
                takeover = True
            handoff = await self._active(session, conversation_id)
            assert handoff is not None
            # The primary key on the conversation makes a second claim fail at the database.
            session.add(Claim(conversation_id=conversation_id, handoff_id=handoff.id, staff_id=user.id))
            await session.flush()
            conv = await session.get(Conversation, conversation_id)
            assert conv is not None
            conv.state = ConversationState.AGENT
            await audit(session, "takeover" if takeover else "claim", staff_id=user.id,
                        conversation_id=conversation_id)
            return conv.channel, conv.language, takeover

    async def _why_not(self, session: AsyncSession, conversation_id: int) -> str:
        conv = await session.get(Conversation, conversation_id)
        if conv is None:
            return "Percakapan tidak ditemukan."
        handoff = await self._active(session, conversation_id)
        if handoff and handoff.claimed_by:
            staff = await session.get(Staff, handoff.claimed_by)
            return f"Percakapan ini sudah diambil {staff.display_name if staff else 'pustakawan lain'}."
        return "Percakapan ini tidak bisa diambil sekarang."

    async def _holder(self, session: AsyncSession, conversation_id: int, user: StaffUser) -> Conversation:
        conv = await session.get(Conversation, conversation_id)
        if conv is None:
            raise HandoffError("Percakapan tidak ditemukan.")
        claim = await session.get(Claim, conversation_id)
        if claim is None:
            raise HandoffError("Ambil dulu percakapan ini sebelum membalas atau menyelesaikannya.")
        if claim.staff_id != user.id and not user.is_admin:
            raise HandoffError("Percakapan ini sedang ditangani pustakawan lain.")
        return conv

    async def reply(self, conversation_id: int, user: StaffUser, message: str) -> int:
        """Send a librarian's reply through the patron's channel; returns its transcript id.

        Raises:
            HandoffError: not holding the conversation, empty text, or the channel's window closed.
        """
        message = message.strip()
        if not message:
            raise HandoffError("Balasan kosong tidak dikirim.")
        async with self.sessions() as session:
            conv = await self._holder(session, conversation_id, user)
            channel = conv.channel
        if channel != WEB_CHANNEL:
            outbox = self._outbox()
            if outbox is not None:
                blocked = await outbox.check_window(conversation_id, author="agent")
                if blocked:
                    raise HandoffError(f"Balasan tidak bisa dikirim: {blocked}")
        message_id = await self._deliver(conversation_id, channel, message, author="agent", staff_id=user.id)
        await self.notify({"type": "message", "conversation_id": conversation_id, "author": "agent"})
        return message_id

    async def note(self, conversation_id: int, user: StaffUser, message: str) -> None:
        """Add an internal note (never sent to the patron)."""
        message = message.strip()
        if not message:
            raise HandoffError("Catatan kosong tidak disimpan.")
        async with self.sessions.begin() as session:
            if await session.get(Conversation, conversation_id) is None:
                raise HandoffError("Percakapan tidak ditemukan.")
            session.add(Note(conversation_id=conversation_id, staff_id=user.id, text=message))
            await audit(session, "note", staff_id=user.id, conversation_id=conversation_id)
        await self.notify({"type": "message", "conversation_id": conversation_id, "author": "note"})

    async def resolve(self, conversation_id: int, user: StaffUser) -> None:
        """Finish the handoff and give the conversation back to the bot."""
        async with self.sessions.begin() as session:
            conv = await self._holder(session, conversation_id, user)
            channel, lang = conv.channel, conv.language
            await self._close(session, conversation_id, status="resolved", staff_id=user.id)
            await audit(session, "resolve", staff_id=user.id, conversation_id=conversation_id)
        await self._deliver(conversation_id, channel, text("resolved", lang), author="system")
        await self.notify({"type": "queue", "conversation_id": conversation_id})

    async def _close(self, session: AsyncSession, conversation_id: int, *, status: str, staff_id: int | None) -> None:
        handoff = await self._active(session, conversation_id)
        if handoff is not None:
            handoff.status = status
            handoff.closed_at = utcnow()
            handoff.closed_by = staff_id
        claim = await session.get(Claim, conversation_id)
        if claim is not None:
            await session.delete(claim)
        conv = await session.get(Conversation, conversation_id)
        if conv is not None:
            conv.state = ConversationState.BOT

    async def _deliver(
        self, conversation_id: int, channel: str, message: str, *, author: str, staff_id: int | None = None
    ) -> int:
        async with self.sessions.begin() as session:
            row = Message(conversation_id=conversation_id, direction="out", author=author, text=message)
            session.add(row)
            await session.flush()
            message_id = row.id
            if author == "agent":
                await audit(session, "reply", staff_id=staff_id, conversation_id=conversation_id,
                            message_id=message_id, detail={"channel": channel})
        if channel != WEB_CHANNEL:
            outbox = self._outbox()
            if outbox is None:
                log.error("no outbox for channel %s; message %s not delivered", channel, message_id)
            else:
                await outbox.enqueue(conversation_id, Outgoing(text=message), author=author, transcript_id=message_id)
        return message_id

    # web chat side

    async def web_updates(self, external_id: str, after: int | None) -> tuple[list[dict[str, Any]], bool, int]:
        """Librarian and system messages of a web chat after ``after``; marks them delivered.

        Returns:
            The new messages, whether a person has the conversation, and the new cursor.
        """
        async with self.sessions.begin() as session:
            conv = await session.scalar(
                select(Conversation).where(Conversation.channel == WEB_CHANNEL, Conversation.external_id == external_id)
            )
            if conv is None:
                return [], False, 0
            handoff = conv.state is not ConversationState.BOT
            newest = int(await session.scalar(
                select(func.max(Message.id)).where(Message.conversation_id == conv.id)
            ) or 0)
            if after is None:
                return [], handoff, newest
            rows = list(
                await session.scalars(
                    select(Message)
                    .where(Message.conversation_id == conv.id, Message.id > after, Message.direction == "out",
                           Message.author.in_(("agent", "system")))
                    .order_by(Message.id)
                )
            )
            if rows:
                cursor = await session.get(WebchatCursor, conv.id)
                if cursor is None:
                    session.add(WebchatCursor(conversation_id=conv.id, seen_message_id=rows[-1].id))
                else:
                    cursor.seen_message_id = max(cursor.seen_message_id, rows[-1].id)
            conv_id = conv.id
        if rows:
            await self.notify({"type": "message", "conversation_id": conv_id, "author": "delivery"})
        return [{"id": m.id, "text": m.text, "author": m.author} for m in rows], handoff, max(newest, after)


def short_id(external_id: str) -> str:
    """A platform id as staff see it: enough to tell conversations apart, never the whole id."""
    return external_id if len(external_id) <= 6 else f"{external_id[:6]}…"


def _patron(conv: Conversation) -> str:
    return conv.patron_name or f"{conv.channel}:{short_id(conv.external_id)}"
