"""The gateway's side of feedback and analytics: store each bot turn, offer 👍 / 👎, keep what
patrons said (their votes, ratings and comments), each with its conversation."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field, replace
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.engine import FeedbackSignal, TurnOutcome
from actions.feedback import vote_buttons
from bot.feedback_models import Feedback, TurnRecord
from bot.handoff_models import Handoff
from bot.messages import Button, Outgoing

log = logging.getLogger(__name__)

Mode = Literal["off", "every", "sample"]
#: reply buttons a message may carry with the 👍 / 👎 added (WhatsApp's reply-button limit)
MAX_BUTTONS = 3


@dataclass
class FeedbackPolicy:
    """When a FAQ or catalog answer gets the 👍 / 👎 buttons (``PUSTAKABOT_FEEDBACK_MODE``)."""

    mode: Mode = "off"
    sample_rate: float = 0.25
    rng: random.Random = field(default_factory=random.Random)

    def wants(self, turn: TurnOutcome) -> bool:
        """Whether this turn's answer gets the buttons: a FAQ answer or a catalog search that
        found something, in mode every, or a sampled share of them."""
        if self.mode == "off" or turn.kind != "answered":
            return False
        if not (turn.faq_id or (turn.searched and turn.found)):
            return False
        return self.mode == "every" or self.rng.random() < self.sample_rate


async def record_turn(
    session: AsyncSession, conversation_id: int, channel: str, message_id: int | None, turn: TurnOutcome
) -> int:
    """Store one bot turn; returns its id."""
    row = TurnRecord(
        conversation_id=conversation_id, message_id=message_id, channel=channel, kind=turn.kind,
        action=turn.action[:48], faq_id=turn.faq_id, searched_title=turn.searched, found=turn.found,
    )
    session.add(row)
    await session.flush()
    return row.id


def with_votes(messages: list[Outgoing], turn_id: int) -> list[Outgoing]:
    """``messages`` with the 👍 / 👎 buttons on the last one with room for them (an answer followed
    by its "Pertanyaan terkait" buttons gets them on the answer); unchanged when none has room."""
    votes = tuple(Button(title, payload) for title, payload in vote_buttons(turn_id))
    for i in range(len(messages) - 1, -1, -1):
        if len(messages[i].buttons) + len(votes) <= MAX_BUTTONS:
            return [*messages[:i], replace(messages[i], buttons=messages[i].buttons + votes), *messages[i + 1:]]
    return messages


async def store_feedback(session: AsyncSession, conversation_id: int, signal: FeedbackSignal) -> bool:
    """Keep a vote, a rating or a comment on one; False when ``signal`` names a turn or handoff of
    another conversation (a forged payload) or a comment with nothing to attach to."""
    if signal.kind == "answer":
        owner = await session.scalar(select(TurnRecord.conversation_id).where(TurnRecord.id == signal.ref))
        where = Feedback.turn_id == signal.ref
    else:
        owner = await session.scalar(
            select(Handoff.conversation_id).where(Handoff.id == signal.ref, Handoff.status == "resolved")
        )
        where = Feedback.handoff_id == signal.ref
    if owner != conversation_id:
        log.info("feedback for %s %s refused: not of conversation %s", signal.kind, signal.ref, conversation_id)
        return False
    row = await session.scalar(
        select(Feedback).where(Feedback.conversation_id == conversation_id, Feedback.kind == signal.kind, where)
    )
    if signal.comment is not None and signal.value is None:
        if row is None:
            return False
        row.comment = signal.comment
        return True
    if signal.value is None:
        return False
    if row is None:
        session.add(Feedback(
            conversation_id=conversation_id, kind=signal.kind, value=signal.value,
            turn_id=signal.ref if signal.kind == "answer" else None,
            handoff_id=signal.ref if signal.kind == "rating" else None,
        ))
    else:  # tapped again: the latest choice counts
        row.value = signal.value
    return True


__all__ = ["FeedbackPolicy", "record_turn", "store_feedback", "with_votes"]
