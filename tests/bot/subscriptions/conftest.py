"""Subscription fixtures: a gateway with Telegram (the fake Bot API) and Messenger (the fake
Graph API) on a migrated SQLite database with the demo knowledge; the NLU is down (subscription
words and buttons need none)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from bot.keys import router_key, sessions_key
from bot.messages import Incoming, Reply
from bot.models import Conversation
from bot.settings import Settings
from bot.subscription_models import Subscription
from tests.bot.channels.conftest import (  # noqa: F401 - fixtures used by these tests
    APP_SECRET,
    TG_SECRET,
    TOKEN,
    VERIFY_TOKEN,
    channel_settings,
    fake_graph,
    fake_telegram,
)
from tests.bot.handoff.conftest import always_open  # noqa: F401 - fixture
from tests.conftest import load_demo_data
from tests.fakes import FakeGraph, FakeTelegram


@pytest.fixture
def subs_settings(tmp_path: Path, dead_port: int, fake_telegram: FakeTelegram, fake_graph: FakeGraph) -> Settings:
    settings = channel_settings(
        tmp_path, dead_port,
        telegram_token=TOKEN, telegram_webhook_secret=TG_SECRET, telegram_api_base_url=fake_telegram.base_url,
        meta_app_secret=APP_SECRET, meta_verify_token=VERIFY_TOKEN, meta_page_token="PAGE-TOKEN",
        graph_api_base_url=fake_graph.base_url,
        scheduler_interval_seconds=3600,  # the tests tick the scheduler themselves, with their clock
    )
    load_demo_data(settings.effective_database_url)
    return settings


async def say(app: web.Application, chat: str, text: str = "", *, payload: str | None = None,
              channel: str = "telegram", when: datetime | None = None) -> Reply:
    """A patron message through the router, as the channels' inbox hands it over."""
    return await app[router_key].handle(Incoming(
        channel=channel, conversation_id=chat, patron_id=chat, text=text or (payload or ""), payload=payload,
        patron_name=f"Pemustaka {chat[-3:]}", timestamp=when,
    ))


def texts(reply: Reply) -> str:
    return "\n".join(m.text for m in reply.messages)


async def active_topics(app: web.Application, chat: str, channel: str = "telegram") -> list[str]:
    async with app[sessions_key]() as session:
        return sorted(await session.scalars(
            select(Subscription.topic).join(Conversation, Conversation.id == Subscription.conversation_id)
            .where(Conversation.external_id == chat, Conversation.channel == channel, Subscription.ended_at.is_(None))
        ))


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 15.0) -> Any:
    """Poll ``check`` until it returns something truthy (or fail after ``timeout``)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met in {timeout}s (last value {value!r})")
        await asyncio.sleep(0.05)


@pytest.fixture
def subs_pg_settings(tmp_path: Path, dead_port: int, fake_telegram: FakeTelegram, pg_url: str) -> Settings:
    """Like ``subs_settings`` (Telegram only) on a throw-away PostgreSQL database."""
    settings = channel_settings(
        tmp_path, dead_port, database_url=pg_url,
        telegram_token=TOKEN, telegram_webhook_secret=TG_SECRET, telegram_api_base_url=fake_telegram.base_url,
        scheduler_interval_seconds=3600,
    )
    load_demo_data(settings.effective_database_url)
    return settings
