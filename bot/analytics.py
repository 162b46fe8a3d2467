"""What the librarians' analytics page shows, computed with SQL over the gateway's tables.

Every figure is an aggregate over a period: counts per day and channel, shares of turn kinds,
top FAQ entries and searched titles, handoff times, ratings. Question texts are shown (they are
what the library needs to answer), never who asked them: no names, conversation or platform ids.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.feedback_models import KINDS, Feedback, TurnRecord
from bot.handoff_models import Handoff
from bot.models import Conversation, Message
from knowledge.models import PurchaseSuggestion
from knowledge.text import fold, terms

#: rapidfuzz similarity (0-100) above which two questions are one group
GROUP_SIMILARITY = 70.0


@dataclass(frozen=True)
class Period:
    """Local days ``first``..``last`` (inclusive) in the library's time zone."""

    first: date
    last: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), self.zone).astimezone(UTC)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


@dataclass
class QuestionGroup:
    """Similar questions the bot did not answer (or answered with a 👎)."""

    questions: list[str]
    count: int
    unanswered: int = 0
    disliked: int = 0
    comments: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.questions[0]


@dataclass
class HandoffTimes:
    """Waiting (request to claim) and handling (claim to resolve) times, in minutes."""

    count: int = 0
    resolved: int = 0
    cancelled: int = 0
    waiting_median: float | None = None
    waiting_p90: float | None = None
    handling_median: float | None = None
    handling_p90: float | None = None


@dataclass
class Report:
    """The analytics of one period."""

    period: Period
    channels: list[str]
    per_day: dict[date, dict[str, int]]
    kinds: dict[str, int]
    top_faq: list[tuple[str, int, int, int]]  # entry id, answers, 👍, 👎
    top_titles: list[tuple[str, int, int]]  # title, searches, found
    missing_titles: list[tuple[str, int, int]]  # title, searches, purchase suggestions
    groups: list[QuestionGroup]
    handoffs: HandoffTimes
    ratings: dict[int, int]
    rating_comments: list[str]
    votes: dict[int, int]

    @property
    def messages(self) -> int:
        return sum(sum(v.values()) for v in self.per_day.values())

    @property
    def turns(self) -> int:
        return sum(self.kinds.values())

    def share(self, kind: str) -> float:
        return self.kinds.get(kind, 0) / self.turns if self.turns else 0.0

    @property
    def rating_mean(self) -> float | None:
        total = sum(self.ratings.values())
        return sum(k * v for k, v in self.ratings.items()) / total if total else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _minutes(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return round(statistics.median(ordered), 1), round(p90, 1)


#: most recent unanswered / disliked questions grouped per page (older ones are still counted)
MAX_GROUPED = 3000


def group_questions(items: list[tuple[str, str, str | None]], *, limit: int = 30) -> list[QuestionGroup]:
    """Group ``(question, why, comment)`` items (why: "unanswered" or "disliked") by similarity
    of their content words (rapidfuzz ``token_set_ratio`` >= :data:`GROUP_SIMILARITY`), biggest
    groups first."""
    keys: list[str] = []  # one per group, parallel to ``groups``
    groups: list[QuestionGroup] = []
    where: dict[str, int] = {}  # a question's key -> its group
    for question, why, comment in items[-MAX_GROUPED:]:
        key = " ".join(terms(question)) or fold(question)
        if not key:
            continue
        index = where.get(key)
        if index is None:
            best = process.extractOne(key, keys, scorer=fuzz.token_set_ratio, score_cutoff=GROUP_SIMILARITY)
            if best is None:
                keys.append(key)
                groups.append(QuestionGroup(questions=[], count=0))
                index = len(groups) - 1
            else:
                index = best[2]
            where[key] = index
        group = groups[index]
        if question not in group.questions:
            group.questions.append(question)
        group.count += 1
        if why == "disliked":
            group.disliked += 1
        else:
            group.unanswered += 1
        if comment:
            group.comments.append(comment)
    return sorted(groups, key=lambda g: (-g.count, g.label))[:limit]


async def report(session: AsyncSession, period: Period) -> Report:
    """Every figure of the analytics page for ``period``."""
    start, end = period.start, period.end
    zone = period.zone
    # Messages per local day and channel (patrons' messages).
    per_day: dict[date, dict[str, int]] = {d: {} for d in period.days()}
    channels: set[str] = set()
    rows = await session.execute(
        select(Message.created_at, Conversation.channel)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.direction == "in", Message.author == "patron", Message.created_at >= start,
               Message.created_at < end)
    )
    for created, channel in rows:
        day = _aware(created).astimezone(zone).date()
        if day in per_day:
            per_day[day][channel] = per_day[day].get(channel, 0) + 1
            channels.add(channel)
    in_period = (TurnRecord.created_at >= start, TurnRecord.created_at < end)
    kinds = {kind: 0 for kind in KINDS}
    for kind, count in await session.execute(
        select(TurnRecord.kind, func.count()).where(*in_period).group_by(TurnRecord.kind)
    ):
        kinds[kind] = int(count)
    # Top FAQ entries with their votes.
    votes_of: dict[str, Counter[int]] = defaultdict(Counter)
    for faq_id, value, count in await session.execute(
        select(TurnRecord.faq_id, Feedback.value, func.count())
        .join(Feedback, Feedback.turn_id == TurnRecord.id)
        .where(*in_period, TurnRecord.faq_id.is_not(None), Feedback.kind == "answer")
        .group_by(TurnRecord.faq_id, Feedback.value)
    ):
        votes_of[faq_id][int(value)] = int(count)
    top_faq = [
        (faq_id, int(count), votes_of[faq_id][1], votes_of[faq_id][-1])
        for faq_id, count in await session.execute(
            select(TurnRecord.faq_id, func.count().label("n"))
            .where(*in_period, TurnRecord.kind == "answered", TurnRecord.faq_id.is_not(None))
            .group_by(TurnRecord.faq_id).order_by(func.count().desc(), TurnRecord.faq_id).limit(15)
        )
    ]
    # Searched titles (folded, so "Laskar pelangi" and "laskar Pelangi" count as one).
    searched: dict[str, list[int]] = {}
    shown: dict[str, str] = {}
    for title, found, count in await session.execute(
        select(TurnRecord.searched_title, TurnRecord.found, func.count())
        .where(*in_period, TurnRecord.searched_title.is_not(None))
        .group_by(TurnRecord.searched_title, TurnRecord.found)
    ):
        key = fold(title)
        shown.setdefault(key, title)
        tally = searched.setdefault(key, [0, 0])
        tally[0] += int(count)
        tally[1] += int(count) if found else 0
    suggestions: Counter[str] = Counter()
    for title, count in await session.execute(
        select(PurchaseSuggestion.title, func.count())
        .where(PurchaseSuggestion.created_at >= start, PurchaseSuggestion.created_at < end)
        .group_by(PurchaseSuggestion.title)
    ):
        key = fold(title)
        shown.setdefault(key, title)
        suggestions[key] += int(count)
    top_titles = sorted(((shown[k], n, f) for k, (n, f) in searched.items()), key=lambda r: (-r[1], r[0]))[:15]
    missing_keys = {k for k, (n, f) in searched.items() if f < n} | set(suggestions)
    missing = sorted(
        ((shown[k], searched.get(k, [0, 0])[0] - searched.get(k, [0, 0])[1], suggestions[k]) for k in missing_keys),
        key=lambda r: (-(r[1] + r[2]), r[0]),
    )[:15]
    # Unanswered and disliked questions, grouped.
    items: list[tuple[str, str, str | None]] = []
    for text, kind in await session.execute(
        select(Message.text, TurnRecord.kind)
        .join(Message, Message.id == TurnRecord.message_id)
        .where(*in_period, TurnRecord.kind.in_(("asked_back", "declined")))
        .order_by(TurnRecord.id)
    ):
        items.append((text, "unanswered", None))
    for text, comment in await session.execute(
        select(Message.text, Feedback.comment)
        .join(TurnRecord, TurnRecord.id == Feedback.turn_id)
        .join(Message, Message.id == TurnRecord.message_id)
        .where(Feedback.kind == "answer", Feedback.value < 0, Feedback.created_at >= start, Feedback.created_at < end)
        .order_by(Feedback.id)
    ):
        items.append((text, "disliked", comment))
    from bot.privacy import ANONYMISED

    groups = group_questions([i for i in items if i[0].strip() and i[0] != ANONYMISED])
    # Handoffs requested in the period.
    waiting: list[float] = []
    handling: list[float] = []
    times = HandoffTimes()
    for requested, claimed, closed, status in await session.execute(
        select(Handoff.requested_at, Handoff.claimed_at, Handoff.closed_at, Handoff.status)
        .where(Handoff.requested_at >= start, Handoff.requested_at < end)
    ):
        times.count += 1
        times.resolved += status == "resolved"
        times.cancelled += status == "cancelled"
        if claimed is not None:
            waiting.append((_aware(claimed) - _aware(requested)).total_seconds() / 60)
            if closed is not None and status == "resolved":
                handling.append((_aware(closed) - _aware(claimed)).total_seconds() / 60)
    times.waiting_median, times.waiting_p90 = _minutes(waiting)
    times.handling_median, times.handling_p90 = _minutes(handling)
    in_feedback = (Feedback.created_at >= start, Feedback.created_at < end)
    ratings = {score: 0 for score in range(1, 6)}
    for value, count in await session.execute(
        select(Feedback.value, func.count()).where(*in_feedback, Feedback.kind == "rating").group_by(Feedback.value)
    ):
        ratings[int(value)] = int(count)
    rating_comments = list(await session.scalars(
        select(Feedback.comment).where(*in_feedback, Feedback.kind == "rating", Feedback.comment.is_not(None))
        .order_by(Feedback.id.desc()).limit(10)
    ))
    votes = {1: 0, -1: 0}
    for value, count in await session.execute(
        select(Feedback.value, func.count()).where(*in_feedback, Feedback.kind == "answer").group_by(Feedback.value)
    ):
        votes[int(value)] = int(count)
    return Report(
        period=period, channels=sorted(channels), per_day=per_day, kinds=kinds, top_faq=top_faq,
        top_titles=top_titles, missing_titles=missing, groups=groups, handoffs=times, ratings=ratings,
        rating_comments=rating_comments, votes=votes,
    )


def csv_rows(data: Report) -> list[list[str]]:
    """The report as CSV rows ``bagian, label, saluran, nilai`` (one table, every section)."""
    rows = [["bagian", "label", "saluran", "nilai"]]
    for day, per_channel in data.per_day.items():
        for channel in data.channels:
            rows.append(["pesan_per_hari", day.isoformat(), channel, str(per_channel.get(channel, 0))])
    for kind, count in data.kinds.items():
        rows.append(["jenis_jawaban", kind, "", str(count)])
    for faq_id, count, up, down in data.top_faq:
        rows += [["faq_teratas", faq_id, "", str(count)], ["faq_suka", faq_id, "", str(up)],
                 ["faq_tidak_suka", faq_id, "", str(down)]]
    for title, count, found in data.top_titles:
        rows += [["judul_dicari", title, "", str(count)], ["judul_ditemukan", title, "", str(found)]]
    for title, misses, suggested in data.missing_titles:
        rows += [["judul_tidak_ada", title, "", str(misses)], ["usulan_pembelian", title, "", str(suggested)]]
    for group in data.groups:
        rows.append(["pertanyaan_belum_terjawab", group.label, "", str(group.count)])
    h = data.handoffs
    for label, value in (("jumlah", h.count), ("selesai", h.resolved), ("dibatalkan", h.cancelled),
                         ("menunggu_median_menit", h.waiting_median), ("menunggu_p90_menit", h.waiting_p90),
                         ("ditangani_median_menit", h.handling_median), ("ditangani_p90_menit", h.handling_p90)):
        rows.append(["handoff", label, "", "" if value is None else str(value)])
    for score, count in data.ratings.items():
        rows.append(["penilaian", str(score), "", str(count)])
    rows += [["suka_jawaban", "suka", "", str(data.votes[1])], ["suka_jawaban", "tidak_suka", "", str(data.votes[-1])]]
    return rows
