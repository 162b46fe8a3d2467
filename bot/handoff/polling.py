"""The web chat's polling for librarian and system messages (other channels get them pushed)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.handoff.base import WEB_CHANNEL, Notifier
from bot.handoff_models import WebchatCursor
from bot.models import Conversation, ConversationState, Message


class WebchatPolling:
    """Web chat updates; mixed into :class:`bot.handoff.service.HandoffService`."""

    sessions: async_sessionmaker[AsyncSession]
    notify: Notifier

    async def web_updates(self, external_id: str, after: int | None) -> tuple[list[dict[str, Any]], bool, int]:
        """Librarian and system messages of a web chat after ``after``; marks them delivered.

        Returns:
            The new messages, whether a person has the conversation, and the new cursor.
        """
        if after is None:
            handoff, newest = await self._web_state(external_id)
            return [], handoff, newest
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
        return [_update(m) for m in rows], handoff, max(newest, after)

    async def _web_state(self, external_id: str) -> tuple[bool, int]:
        """Whether a person has the web chat ``external_id`` and its newest message id (one read,
        no write transaction: the web chat asks it after every answer)."""
        async with self.sessions() as session:
            row = (await session.execute(
                select(Conversation.state, func.max(Message.id))
                .select_from(Conversation)
                .outerjoin(Message, Message.conversation_id == Conversation.id)
                .where(Conversation.channel == WEB_CHANNEL, Conversation.external_id == external_id)
                .group_by(Conversation.id)
            )).first()
        if row is None:
            return False, 0
        return row[0] is not ConversationState.BOT, int(row[1] or 0)


def _update(message: Message) -> dict[str, Any]:
    """One update as the web chat shows it (with its buttons, e.g. the rating after a handoff)."""
    data: dict[str, Any] = {"id": message.id, "text": message.text, "author": message.author}
    buttons = (message.payload or {}).get("buttons") if isinstance(message.payload, dict) else None
    if buttons:
        data["buttons"] = buttons
    return data
