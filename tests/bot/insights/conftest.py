"""Fixtures of the feedback, analytics and data-rights tests: gateways on a migrated database."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from bot.keys import sessions_key
from bot.models import Conversation, Message
from bot.messages import Reply
from tests.bot.channels.conftest import fake_telegram, tg_settings  # noqa: F401  (fixtures)
from tests.bot.handoff.conftest import always_open, handoff_app, handoff_settings  # noqa: F401  (fixtures)


def payload_of(reply: Reply | dict[str, Any], title: str) -> str:
    """The payload of the button titled ``title`` in a reply (router Reply or web chat JSON)."""
    if isinstance(reply, Reply):
        buttons = [(b.title, b.payload) for m in reply.messages for b in m.buttons]
    else:
        buttons = [(b["title"], b["payload"]) for m in reply["messages"] for b in m.get("buttons") or []]
    matches = [p for t, p in buttons if t == title]
    assert matches, f"no button {title!r} in {buttons}"
    return matches[-1]


async def count(app: web.Application, model: Any, *where: Any) -> int:
    """Rows of ``model`` matching ``where``."""
    async with app[sessions_key]() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def conversation(app: web.Application, external_id: str, channel: str = "web") -> Conversation | None:
    async with app[sessions_key]() as session:
        return await session.scalar(
            select(Conversation).where(Conversation.channel == channel, Conversation.external_id == external_id)
        )


async def transcript(app: web.Application, conv_id: int) -> list[Message]:
    async with app[sessions_key]() as session:
        return list(await session.scalars(select(Message).where(Message.conversation_id == conv_id).order_by(Message.id)))
