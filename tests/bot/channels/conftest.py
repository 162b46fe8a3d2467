"""Channel fixtures: the fake Telegram and Graph servers and gateway settings pointing at them."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.cli import upgrade_database
from bot.settings import Settings
from tests.fakes import FakeGraph, FakeTelegram, FakeWhatsApp
from tests.fakes.whatsapp import PHONE_NUMBER_ID

TOKEN = "123:ABC"
TG_SECRET = "test-secret_123"
APP_SECRET = "meta-app-secret"
VERIFY_TOKEN = "verify-me"


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """A fake Bot API server for token 123:ABC."""
    async with FakeTelegram(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def fake_graph() -> AsyncIterator[FakeGraph]:
    """A fake Graph API Send API."""
    async with FakeGraph() as fake:
        yield fake


@pytest.fixture
async def fake_whatsapp() -> AsyncIterator[FakeWhatsApp]:
    """A fake WhatsApp Cloud API messages endpoint (token WA-TOKEN)."""
    async with FakeWhatsApp() as fake:
        yield fake


WA_APP_SECRET = "wa-app-secret"
WA_VERIFY_TOKEN = "wa-verify-me"


def whatsapp_settings(tmp_path: Path, dead_port: int, fake: FakeWhatsApp, **overrides: Any) -> Settings:
    """Gateway settings with WhatsApp pointed at ``fake`` (no staff-reply template unless given)."""
    values: dict[str, Any] = {
        "whatsapp_token": fake.token,
        "whatsapp_phone_number_id": PHONE_NUMBER_ID,
        "whatsapp_app_secret": WA_APP_SECRET,
        "whatsapp_verify_token": WA_VERIFY_TOKEN,
        "whatsapp_api_base_url": fake.base_url,
        **overrides,
    }
    return channel_settings(tmp_path, dead_port, **values)


def channel_settings(tmp_path: Path, dead_port: int, **overrides: Any) -> Settings:
    """Settings with a migrated SQLite database in ``tmp_path``; Rasa down unless overridden."""
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "rasa_url": f"http://127.0.0.1:{dead_port}",
        "rasa_timeout": 3,
        "embedding_model": "",
        # The NLU is down in these tests: a message the knowledge alone is not sure of waits for
        # it, and the patron gets the "sebentar ya" notice at once (a reply to test the channel with).
        "hold_notice_seconds": 0,
        "telegram_chat_interval": 0.0,
        **overrides,
    }
    settings = Settings(**values)
    upgrade_database(settings)
    return settings


@pytest.fixture
def tg_settings(tmp_path: Path, dead_port: int, fake_telegram: FakeTelegram) -> Settings:
    """Gateway settings with Telegram (webhook mode) pointed at the fake."""
    return channel_settings(
        tmp_path,
        dead_port,
        telegram_token=TOKEN,
        telegram_webhook_secret=TG_SECRET,
        telegram_api_base_url=fake_telegram.base_url,
    )


@pytest.fixture
def meta_settings(tmp_path: Path, dead_port: int, fake_graph: FakeGraph) -> Settings:
    """Gateway settings with Messenger and Instagram pointed at the fake Graph API."""
    return channel_settings(
        tmp_path,
        dead_port,
        meta_app_secret=APP_SECRET,
        meta_verify_token=VERIFY_TOKEN,
        meta_page_token="PAGE-TOKEN",
        instagram_token="IG-TOKEN",
        graph_api_base_url=fake_graph.base_url,
    )


def sign(body: dict[str, Any], secret: str = APP_SECRET) -> tuple[bytes, dict[str, str]]:
    """Body bytes exactly as Meta sends them (escaped unicode) and the signed headers."""
    raw = json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"Content-Type": "application/json", "X-Hub-Signature-256": signature}


def tg_update(update_id: int, chat_id: int, text: str, *, message_id: int | None = None, date: int = 1767000000) -> dict[str, Any]:
    """A private-chat text update shaped like Telegram's."""
    user = {"id": chat_id, "is_bot": False, "first_name": "Ana", "last_name": "Silva", "username": "ana_reads", "language_code": "id"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id or update_id,
            "from": user,
            "chat": {"id": chat_id, "first_name": "Ana", "last_name": "Silva", "username": "ana_reads", "type": "private"},
            "date": date,
            "text": text,
        },
    }


async def outbox_idle(app: Any, timeout: float = 15.0) -> None:
    """Wait until no outbox row is pending or being sent: nothing more goes out by itself."""
    import asyncio
    import time

    from sqlalchemy import func, select

    from bot.channel_models import OutboxItem
    from bot.keys import sessions_key
    from bot.outbox import OPEN

    deadline = time.monotonic() + timeout
    while True:
        async with app[sessions_key]() as session:
            open_rows = await session.scalar(
                select(func.count()).select_from(OutboxItem).where(OutboxItem.status.in_(OPEN))
            )
        if not open_rows:
            return
        assert time.monotonic() < deadline, f"{open_rows} outbox rows still open after {timeout} s"
        await asyncio.sleep(0.05)
