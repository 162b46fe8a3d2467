"""Telegram with real answers: gateway (and its answer engine) in-process, the stack's real NLU.

Only Telegram's servers are fake (``FakeTelegram``); the update goes webhook → inbox →
router → Rasa NLU → answer engine → knowledge base → outbox → PTB's ``sendMessage``.
"""

from __future__ import annotations

import random
from pathlib import Path

from bot.app import create_app
from bot.cli import upgrade_database
from bot.settings import Settings
from tests.bot.channels.conftest import TG_SECRET, TOKEN, tg_update
from tests.conftest import Stack, load_demo_data
from tests.fakes import FakeTelegram

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}


async def test_telegram_patron_gets_real_catalog_answers_and_buttons(
    stack: Stack, tmp_path: Path, aiohttp_client, fake_telegram: FakeTelegram
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        rasa_url=stack.rasa_url, rasa_token=stack.rasa_token,
        database_url=f"sqlite:///{tmp_path / 'gateway.db'}",
        rasa_timeout=60,
        telegram_token=TOKEN,
        telegram_webhook_secret=TG_SECRET,
        telegram_api_base_url=fake_telegram.base_url,
        telegram_chat_interval=0.0,
    )
    upgrade_database(settings)
    load_demo_data(settings.effective_database_url)  # the engine runs in this gateway, on this database
    client = await aiohttp_client(create_app(settings))
    chat = random.randrange(5_000_000_000, 6_000_000_000)  # a fresh Rasa tracker per run

    response = await client.post(
        "/webhooks/telegram",
        json=tg_update(1001, chat, "ada buku laskar pelangi?"),
        headers=HEADERS,
    )
    assert response.status == 200
    (answer,) = await fake_telegram.wait_for_sent(1, timeout=60)
    assert answer["chat_id"] == chat and answer["parse_mode"] == "HTML"
    assert "Laskar Pelangi" in answer["text"] and "eksemplar" in answer["text"]
    assert "Kak" in answer["text"]

    # A subject with more hits than one page: the "more" button becomes an inline keyboard.
    await client.post(
        "/webhooks/telegram", json=tg_update(1002, chat, "ada buku sejarah?"), headers=HEADERS
    )
    sent = await fake_telegram.wait_for_sent(2, timeout=60)
    listing = sent[1]
    assert "eksemplar" in listing["text"]
    (button,) = listing["reply_markup"]["inline_keyboard"][0]
    assert button["text"] == "Lihat lainnya"
    assert (
        0 < len(button["callback_data"].encode()) <= 64
    )  # long Rasa payload stored under a short key

    # The patron taps it: Telegram sends a callback query; the bot answers it and shows page 2.
    tap = {
        "update_id": 1003,
        "callback_query": {
            "id": "4382001122334455667",
            "from": {"id": chat, "is_bot": False, "first_name": "Ana", "language_code": "id"},
            "message": {
                "message_id": 2001,
                "from": {"id": fake_telegram.bot_id, "is_bot": True, "first_name": "Pustaka Test"},
                "chat": {"id": chat, "first_name": "Ana", "type": "private"},
                "date": 1767000010,
                "text": listing["text"],
                "reply_markup": listing["reply_markup"],
            },
            "chat_instance": "-1234567890123456789",
            "data": button["callback_data"],
        },
    }
    assert (await client.post("/webhooks/telegram", json=tap, headers=HEADERS)).status == 200
    sent = await fake_telegram.wait_for_sent(3, timeout=60)
    assert "eksemplar" in sent[2]["text"] and sent[2]["text"] != listing["text"]
    assert fake_telegram.calls_of("answerCallbackQuery") == [
        {"callback_query_id": "4382001122334455667"}
    ]
