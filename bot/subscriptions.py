"""The gateway's subscription store: subscriptions and reminders per conversation (patron and
channel), read and written for the answer engine's actions (``actions.subscriptions``).

A Telegram 403 ("bot was blocked by the user") ends every subscription of that conversation
(:meth:`GatewaySubscriptions.blocked`, called by the outbox).
"""

from __future__ import annotations

import logging
from datetime import UTC

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actions.subscriptions import ReminderRequest, valid_topic
from bot.models import Conversation, utcnow
from bot.subscription_models import (
    BLOCKED,
    ENDED_BLOCKED,
    ENDED_BY_PATRON,
    Delivery,
    Reminder,
    Subscription,
)

log = logging.getLogger(__name__)


def split_sender(sender: str) -> tuple[str, str]:
    """("telegram", "123") from "telegram:123"."""
    channel, _, external_id = sender.partition(":")
    return channel, external_id


async def conversation_id(session: AsyncSession, sender: str) -> int | None:
    """The conversation of a sender key, if it exists."""
    channel, external_id = split_sender(sender)
    return await session.scalar(
        select(Conversation.id).where(Conversation.channel == channel, Conversation.external_id == external_id)
    )


class GatewaySubscriptions:
    """:class:`actions.subscriptions.SubscriptionStore` on the gateway's database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def topics(self, sender: str) -> list[str]:
        async with self.sessions() as session:
            conv = await conversation_id(session, sender)
            if conv is None:
                return []
            return list(await session.scalars(
                select(Subscription.topic)
                .where(Subscription.conversation_id == conv, Subscription.ended_at.is_(None))
                .order_by(Subscription.id)
            ))

    async def subscribe(self, sender: str, topics: list[str]) -> list[str]:
        added: list[str] = []
        async with self.sessions.begin() as session:
            conv = await conversation_id(session, sender)
            if conv is None:
                return []
            rows = {
                s.topic: s for s in await session.scalars(
                    select(Subscription).where(Subscription.conversation_id == conv, Subscription.topic.in_(topics))
                )
            }
            for topic in topics:
                if not valid_topic(topic):
                    continue
                row = rows.get(topic)
                if row is None:
                    session.add(Subscription(conversation_id=conv, topic=topic))
                    added.append(topic)
                elif row.ended_at is not None:
                    row.ended_at, row.ended_reason, row.created_at = None, None, utcnow()
                    added.append(topic)
        return added

    async def unsubscribe(self, sender: str, topics: list[str] | None) -> list[str]:
        async with self.sessions.begin() as session:
            conv = await conversation_id(session, sender)
            if conv is None:
                return []
            return await end(session, conv, topics, reason=ENDED_BY_PATRON)

    async def remind(self, sender: str, event: ReminderRequest) -> bool:
        try:
            async with self.sessions.begin() as session:
                conv = await conversation_id(session, sender)
                if conv is None:
                    return False
                existing = await session.scalar(
                    select(Reminder.id).where(Reminder.conversation_id == conv, Reminder.event_id == event.event_id)
                )
                if existing is not None:
                    return False
                session.add(Reminder(
                    conversation_id=conv, event_id=event.event_id, title=event.title[:500], location=event.location,
                    # UTC: SQLite keeps no offset, and the scheduler compares with UTC times
                    starts_at=event.starts_at.astimezone(UTC), due_at=event.due_at.astimezone(UTC),
                    language=event.language,
                ))
        except IntegrityError:  # the same button tapped twice at once
            return False
        return True

    async def blocked(self, session: AsyncSession, conversation: int, outbox_id: int) -> None:
        """The platform says the patron blocked the bot: end their subscriptions, mark the delivery.

        Runs in the outbox's transaction that records the row ``failed`` (``session``), so a
        report never sees the row failed while its delivery is not yet ``blocked``.
        """
        ended = await end(session, conversation, None, reason=ENDED_BLOCKED)
        await session.execute(update(Delivery).where(Delivery.outbox_id == outbox_id).values(status=BLOCKED))
        if ended:
            log.info("conversation %s blocked the bot: %d subscriptions ended", conversation, len(ended))


async def end(session: AsyncSession, conversation: int, topics: list[str] | None, *, reason: str) -> list[str]:
    """End the active subscriptions of ``conversation`` (``topics`` None: all); returns their topics."""
    where = [Subscription.conversation_id == conversation, Subscription.ended_at.is_(None)]
    if topics is not None:
        where.append(Subscription.topic.in_(topics))
    rows = list(await session.scalars(select(Subscription).where(*where).order_by(Subscription.id)))
    now = utcnow()
    for row in rows:
        row.ended_at, row.ended_reason = now, reason
    return [row.topic for row in rows]
