"""A Telegram patron with the real NLU: asks for events, taps "⏰ Ingatkan", subscribes, stops.

Only Telegram is fake; webhook → inbox → router → Rasa NLU → answer engine → outbox → PTB.
"""

from __future__ import annotations

import random
from pathlib import Path

from sqlalchemy import select

from bot.app import create_app
from bot.cli import upgrade_database
from bot.keys import sessions_key
from bot.settings import Settings
from bot.subscription_models import Reminder
from tests.bot.channels.conftest import TG_SECRET, TOKEN, tg_update
from tests.bot.subscriptions.conftest import active_topics
from tests.conftest import Stack, load_demo_data
from tests.fakes import FakeTelegram

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}


async def test_events_reminder_and_subscription_with_the_real_nlu(
    stack: Stack, tmp_path: Path, aiohttp_client, fake_telegram: FakeTelegram
) -> None:
    settings = Settings(
        data_dir=tmp_path, rasa_url=stack.rasa_url, rasa_token=stack.rasa_token, rasa_timeout=60,
        database_url=f"sqlite:///{tmp_path / 'gateway.db'}",
        telegram_token=TOKEN, telegram_webhook_secret=TG_SECRET, telegram_api_base_url=fake_telegram.base_url,
        telegram_chat_interval=0.0, embedding_model="", scheduler_interval_seconds=3600,
    )
    upgrade_database(settings)
    load_demo_data(settings.effective_database_url)
    app = create_app(settings)
    client = await aiohttp_client(app)
    chat = random.randrange(5_000_000_000, 6_000_000_000)

    await client.post("/webhooks/telegram", json=tg_update(1, chat, "ada acara apa aja bulan ini?"), headers=HEADERS)
    (listing,) = await fake_telegram.wait_for_sent(1, timeout=60)
    assert "Acara perpustakaan" in listing["text"]
    reminders = [row[0] for row in listing["reply_markup"]["inline_keyboard"] if row[0]["text"].startswith("\u23f0")]
    assert reminders, listing
    tap = {
        "update_id": 2,
        "callback_query": {
            "id": "91", "from": {"id": chat, "is_bot": False, "first_name": "Ana"}, "data": reminders[0]["callback_data"],
            "message": {"message_id": 1000, "chat": {"id": chat, "type": "private"}, "date": 1767000000,
                        "text": listing["text"], "reply_markup": listing["reply_markup"]},
        },
    }
    await client.post("/webhooks/telegram", json=tap, headers=HEADERS)
    sent = await fake_telegram.wait_for_sent(2, timeout=60)
    assert "mengingatkan" in sent[1]["text"] or "sebentar lagi dimulai" in sent[1]["text"]
    async with app[sessions_key]() as session:
        assert (await session.scalar(select(Reminder.title))) or "sebentar lagi" in sent[1]["text"]

    await client.post("/webhooks/telegram", json=tg_update(3, chat, "saya mau langganan info acara anak"), headers=HEADERS)
    sent = await fake_telegram.wait_for_sent(3, timeout=60)
    assert "berlangganan: Acara anak" in sent[2]["text"]
    await client.post("/webhooks/telegram", json=tg_update(4, chat, "berhenti"), headers=HEADERS)
    sent = await fake_telegram.wait_for_sent(4, timeout=60)
    assert "berhenti berlangganan" in sent[3]["text"]
    assert await active_topics(app, str(chat)) == []
