"""Staff replies reach the patron's own channel through the outbox (Telegram on the fake Bot API)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.keys import sessions_key
from bot.models import Conversation
from bot.settings import Settings
from tests.bot.channels.conftest import TG_SECRET, TOKEN, tg_update
from tests.bot.handoff.conftest import derive, login, make_staff
from tests.fakes import FakeTelegram

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
CHAT = 5123498877


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """A fake Bot API server."""
    async with FakeTelegram(token=TOKEN) as fake:
        yield fake


async def test_librarian_reply_goes_out_on_telegram_with_delivery_status(
    aiohttp_client, handoff_settings: Settings, fake_telegram: FakeTelegram
) -> None:
    settings = derive(
        handoff_settings, telegram_token=TOKEN, telegram_webhook_secret=TG_SECRET,
        telegram_api_base_url=fake_telegram.base_url, telegram_chat_interval=0.0,
    )
    app = create_app(settings)
    client = await aiohttp_client(app)
    await make_staff(app, "rina", "Rina")
    response = await client.post("/webhooks/telegram", json=tg_update(1, CHAT, "mau bicara dengan petugas"), headers=HEADERS)
    assert response.status == 200
    sent = await fake_telegram.wait_for_sent(2, timeout=10)
    assert "antrean nomor 1" in sent[1]["text"]
    await client.post("/webhooks/telegram", json=tg_update(2, CHAT, "buku saya hilang"), headers=HEADERS)

    csrf = await login(client, "rina")
    # The webhook acknowledges before the inbox has processed the update: wait for it to show.
    deadline = asyncio.get_running_loop().time() + 10
    queue = ""
    while "buku saya hilang" not in queue and asyncio.get_running_loop().time() < deadline:
        queue = await (await client.get("/console/")).text()
        if "buku saya hilang" not in queue:
            await asyncio.sleep(0.05)
    assert "Ana Silva" in queue and "Telegram" in queue and "buku saya hilang" in queue
    async with app[sessions_key]() as session:
        conv_id = await session.scalar(select(Conversation.id).where(Conversation.external_id == str(CHAT)))
    await client.post(f"/console/c/{conv_id}/claim", data={"_csrf": csrf})
    await client.post(f"/console/c/{conv_id}/reply", data={"_csrf": csrf, "text": "Baik Kak Ana, saya bantu cek."})
    sent = await fake_telegram.wait_for_sent(4, timeout=10)
    assert sent[2]["text"] == "Kakak sekarang terhubung dengan pustakawan Rina."
    assert sent[3]["text"] == "Baik Kak Ana, saya bantu cek." and sent[3]["chat_id"] == CHAT
    transcript = await (await client.get(f"/console/c/{conv_id}/transcript")).text()
    assert transcript.count("terkirim") == 2

    fake_telegram.fail_next("sendMessage", 403)
    await client.post(f"/console/c/{conv_id}/reply", data={"_csrf": csrf, "text": "Halo?"})
    for _ in range(50):
        transcript = await (await client.get(f"/console/c/{conv_id}/transcript")).text()
        if "gagal" in transcript:
            break
        await asyncio.sleep(0.1)
    assert "status-failed" in transcript
