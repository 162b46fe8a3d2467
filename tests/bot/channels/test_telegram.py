"""Telegram end to end: the real gateway and the real PTB client against the fake Bot API.

Rasa is down in these tests, so every patron message gets the gateway's degraded reply: the
point here is delivery (verify, persist, dedupe, order, retry, restart, split), not answers.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

from bot.app import create_app
from bot.channel_models import InboxItem, OutboxItem
from bot.cli import main
from bot.keys import inbox_key, outbox_key, sessions_key
from bot.messages import Button, Incoming, Outgoing
from bot.models import Conversation, Message
from bot.render import incoming_to_json
from tests.bot.channels.conftest import TG_SECRET, TOKEN, channel_settings, outbox_idle, tg_update

# Questions the FAQ answers without the NLU (down in these tests), so each gets a real answer.
SURE = [
    "jam buka perpustakaan?", "berapa denda keterlambatan?", "syarat daftar anggota apa?",
    "bisa perpanjang pinjaman online?", "wifi perpus passwordnya apa?", "boleh bawa makanan?",
    "berapa lama boleh pinjam buku?", "kartu anggota hilang gimana?",
]
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
CHAT = 5123498877


async def _count(app, model, *where) -> int:  # noqa: ANN001
    async with app[sessions_key]() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _conversation(app, external_id: str = str(CHAT), channel: str = "telegram") -> int:  # noqa: ANN001
    async with app[sessions_key].begin() as session:
        conv = Conversation(channel=channel, external_id=external_id)
        session.add(conv)
        await session.flush()
        return conv.id


async def test_wrong_or_missing_secret_is_403_and_nothing_is_processed(aiohttp_client, tg_settings, fake_telegram) -> None:
    app = create_app(tg_settings)
    client = await aiohttp_client(app)
    update = tg_update(804211537, CHAT, "halo")
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET + "x"}):
        response = await client.post("/webhooks/telegram", json=update, headers=headers)
        assert response.status == 403
    response = await client.post("/webhooks/telegram", data=b"update_id=1", headers={**HEADERS, "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 403
    # Refused before anything is stored: there is nothing to wait for.
    assert await _count(app, InboxItem) == 0
    assert fake_telegram.calls_of("sendMessage") == []


async def test_same_update_twice_gets_one_reply(aiohttp_client, tg_settings, fake_telegram) -> None:
    app = create_app(tg_settings)
    client = await aiohttp_client(app)
    update = tg_update(804211537, CHAT, "Do you have any copies of Middlemarch available?")
    for _ in range(3):
        response = await client.post("/webhooks/telegram", json=update, headers=HEADERS)
        assert response.status == 200
    sent = await fake_telegram.wait_for_sent(1)
    await outbox_idle(app)
    assert len(fake_telegram.sent) == 1
    assert sent[0]["chat_id"] == CHAT
    assert "One moment" in sent[0]["text"]  # the English notice: the NLU is down, the message waits for it
    assert await _count(app, InboxItem) == 1
    assert fake_telegram.calls_of("sendChatAction")[0]["action"] == "typing"


async def test_messages_of_one_chat_are_answered_in_order(aiohttp_client, tg_settings, fake_telegram) -> None:
    app = create_app(tg_settings)
    client = await aiohttp_client(app)
    chats = [CHAT, CHAT + 1, CHAT + 2]
    update_id = 100

    async def patron(chat: int) -> None:
        nonlocal update_id
        for i in range(8):
            update_id += 1
            response = await client.post("/webhooks/telegram", json=tg_update(update_id, chat, SURE[i]), headers=HEADERS)
            assert response.status == 200

    await asyncio.gather(*(patron(chat) for chat in chats))
    await fake_telegram.wait_for_sent(24, timeout=20)
    async with app[sessions_key]() as session:
        for chat in chats:
            conv = await session.scalar(select(Conversation).where(Conversation.external_id == str(chat)))
            assert conv is not None
            texts = list(
                await session.scalars(
                    select(Message.text).where(Message.conversation_id == conv.id, Message.direction == "in").order_by(Message.id)
                )
            )
            assert texts == SURE
    assert sorted(s["chat_id"] for s in fake_telegram.sent) == sorted(chats * 8)


async def test_429_is_retried_after_retry_after(aiohttp_client, tg_settings, fake_telegram) -> None:
    app = create_app(tg_settings)
    client = await aiohttp_client(app)
    fake_telegram.fail_next("sendMessage", 429, retry_after=1)
    started = asyncio.get_running_loop().time()
    await client.post("/webhooks/telegram", json=tg_update(7, CHAT, "halo"), headers=HEADERS)
    await fake_telegram.wait_for_sent(1, timeout=10)
    elapsed = asyncio.get_running_loop().time() - started
    assert elapsed >= 0.95
    assert len(fake_telegram.calls_of("sendMessage")) == 2
    for _ in range(50):
        async with app[sessions_key]() as session:
            row = await session.scalar(select(OutboxItem))
        if row is not None and row.status == "sent":
            break
        await asyncio.sleep(0.05)
    assert row is not None and row.status == "sent" and row.attempts == 2


async def test_blocked_bot_is_recorded_not_retried(aiohttp_client, tg_settings, fake_telegram) -> None:
    app = create_app(tg_settings)
    await aiohttp_client(app)
    conv_id = await _conversation(app)
    fake_telegram.fail_next("sendMessage", 403)
    outbox = app[outbox_key]
    await outbox.enqueue(conv_id, Outgoing(text="Halo Kak"), author="agent", transcript_id=41)
    for _ in range(50):
        status = (await outbox.statuses([41])).get(41, "")
        if status.startswith("failed:"):
            break
        await asyncio.sleep(0.1)
    assert status.startswith("failed:") and "memblokir" in status
    await outbox_idle(app)  # 'failed' is final: the row is not retried
    assert len(fake_telegram.calls_of("sendMessage")) == 1
    assert await outbox.check_window(conv_id, author="agent") is None  # Telegram has no window


async def test_unsent_outbox_and_inbox_are_delivered_after_restart(aiohttp_client, tg_settings, fake_telegram) -> None:
    # First life: Telegram answers 502 twice, the gateway stops with the reply still pending.
    fake_telegram.fail_next("sendMessage", 502)
    fake_telegram.fail_next("sendMessage", 502)
    fake_telegram.fail_next("sendMessage", 502)
    first = create_app(tg_settings)
    client = await aiohttp_client(first)
    await client.post("/webhooks/telegram", json=tg_update(9, CHAT, "halo"), headers=HEADERS)
    for _ in range(100):
        if fake_telegram.calls_of("sendMessage"):
            break
        await asyncio.sleep(0.05)
    # A second message was persisted but the process died before processing it.
    async with first[sessions_key].begin() as session:
        session.add(
            InboxItem(
                channel="telegram",
                platform_id="10",
                external_id=str(CHAT + 5),
                data=incoming_to_json(Incoming(channel="telegram", conversation_id=str(CHAT + 5), text="halo juga", platform_message_id="10")),
                status="pending",
                attempts=0,
            )
        )
    await client.close()
    assert fake_telegram.sent == []
    fake_telegram._failures.clear()  # Telegram is healthy again
    second = create_app(tg_settings)
    await aiohttp_client(second)
    # The outbox resumes at once; the inbox backlog waits for the NLU (down in this test), and
    # is taken the moment the NLU answers: that is this call.
    await fake_telegram.wait_for_sent(1, timeout=15)
    await second[inbox_key].resume()
    sent = await fake_telegram.wait_for_sent(2, timeout=15)
    assert sorted(s["chat_id"] for s in sent) == [CHAT, CHAT + 5]
    await outbox_idle(second)
    assert len(fake_telegram.sent) == 2


async def test_long_answer_is_split_on_sentences(aiohttp_client, tg_settings, fake_telegram) -> None:
    app = create_app(tg_settings)
    await aiohttp_client(app)
    conv_id = await _conversation(app)
    sentence = "Perpustakaan buka Senin sampai Jumat pukul 08.00–16.00 <kecuali> hari libur & cuti bersama. "
    text = sentence * 120  # ≈ 11,000 characters
    await app[outbox_key].enqueue(conv_id, Outgoing(text=text, buttons=(Button("Lagi", "/faq"),)))
    sent = await fake_telegram.wait_for_sent(3, timeout=10)
    assert len(sent) == 3
    for part in sent:
        plain = part["text"].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        assert len(plain) <= 4096
        assert plain.endswith("cuti bersama.")
    assert " ".join(p["text"] for p in sent).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == text.strip()
    assert "reply_markup" not in sent[0] and sent[2]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "/faq"


async def test_long_button_payload_round_trips_through_callback_query(aiohttp_client, tg_settings, fake_telegram) -> None:
    app = create_app(tg_settings)
    client = await aiohttp_client(app)
    conv_id = await _conversation(app)
    payload = '/search_book{"title":"Bumi Manusia dan Anak Semua Bangsa","author":"Pramoedya","page":"2"}'
    assert len(payload.encode()) > 64
    await app[outbox_key].enqueue(conv_id, Outgoing(text="Hasil lainnya?", buttons=(Button("Berikutnya ▶", payload),)))
    (sent,) = await fake_telegram.wait_for_sent(1)
    button = sent["reply_markup"]["inline_keyboard"][0][0]
    assert len(button["callback_data"].encode()) <= 64 and button["callback_data"] != payload
    update = {
        "update_id": 804211538,
        "callback_query": {
            "id": "2200450361237485902",
            "from": {"id": CHAT, "is_bot": False, "first_name": "Ana", "username": "ana_reads", "language_code": "id"},
            "message": {
                "message_id": 312,
                "from": {"id": 7000111222, "is_bot": True, "first_name": "City Library", "username": "city_library_bot"},
                "chat": {"id": CHAT, "first_name": "Ana", "username": "ana_reads", "type": "private"},
                "date": 1767000004,
                "text": "Hasil lainnya?",
                "reply_markup": sent["reply_markup"],
            },
            "chat_instance": "-4718331056927341987",
            "data": button["callback_data"],
        },
    }
    response = await client.post("/webhooks/telegram", json=update, headers=HEADERS)
    assert response.status == 200
    await fake_telegram.wait_for_sent(2)
    assert fake_telegram.calls_of("answerCallbackQuery") == [{"callback_query_id": "2200450361237485902"}]
    async with app[sessions_key]() as session:
        msg = await session.scalar(select(Message).where(Message.direction == "in"))
        assert msg is not None and msg.payload == {"payload": payload} and msg.text == "Berikutnya ▶"


async def test_start_greets_and_edits_groups_channel_posts_are_ignored(aiohttp_client, tg_settings, fake_telegram) -> None:
    app = create_app(tg_settings)
    client = await aiohttp_client(app)
    edited = tg_update(3, CHAT, "diedit")
    edited["edited_message"] = {**edited.pop("message"), "edit_date": 1767000031}
    group = tg_update(4, -100123, "halo grup")
    group["message"]["chat"] = {"id": -100123, "title": "Klub Buku", "type": "supergroup"}
    post = {"update_id": 5, "channel_post": {"message_id": 1, "chat": {"id": -100999, "title": "Info", "type": "channel"}, "date": 1767000000, "text": "info"}}
    sticker = tg_update(6, CHAT, "x")
    del sticker["message"]["text"]
    sticker["message"]["sticker"] = {"file_id": "f", "file_unique_id": "u", "type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False}
    for update in (edited, group, post):
        response = await client.post("/webhooks/telegram", json=update, headers=HEADERS)
        assert response.status == 200
    assert await _count(app, InboxItem) == 0
    # A sticker is no text: the patron gets the short text-only reply, not silence.
    assert (await client.post("/webhooks/telegram", json=sticker, headers=HEADERS)).status == 200
    (text_only,) = await fake_telegram.wait_for_sent(1)
    assert "hanya bisa membaca pesan teks" in text_only["text"]
    start = tg_update(7, CHAT, "/start")
    start["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
    await client.post("/webhooks/telegram", json=start, headers=HEADERS)
    await fake_telegram.wait_for_sent(2)
    async with app[sessions_key]() as session:
        rows = (await session.scalars(select(Message).where(Message.direction == "in").order_by(Message.id))).all()
    assert rows[0].text == "[Stiker]" and rows[1].payload == {"payload": "/greet"}


async def test_pacing_keeps_one_chat_at_the_configured_interval(tmp_path: Path, dead_port: int, aiohttp_client, fake_telegram) -> None:
    settings = channel_settings(
        tmp_path, dead_port, telegram_token=TOKEN, telegram_webhook_secret=TG_SECRET,
        telegram_api_base_url=fake_telegram.base_url, telegram_chat_interval=0.3,
    )
    app = create_app(settings)
    await aiohttp_client(app)
    conv_id = await _conversation(app)
    for i in range(4):
        await app[outbox_key].enqueue(conv_id, Outgoing(text=f"pesan {i}"))
    sent = await fake_telegram.wait_for_sent(4)
    assert [s["text"] for s in sent] == [f"pesan {i}" for i in range(4)]
    gaps = [b - a for a, b in zip(fake_telegram.sent_at, fake_telegram.sent_at[1:], strict=False)]
    assert min(gaps) >= 0.3  # the fake receives them apart: the next slot counts from the reply


async def test_polling_mode_feeds_the_same_inbox(tmp_path: Path, dead_port: int, aiohttp_client, fake_telegram) -> None:
    settings = channel_settings(
        tmp_path, dead_port, telegram_token=TOKEN, telegram_mode="polling", telegram_api_base_url=fake_telegram.base_url,
    )
    fake_telegram.queue_update(tg_update(55, CHAT, "halo dari polling"))
    app = create_app(settings)
    client = await aiohttp_client(app)
    sent = await fake_telegram.wait_for_sent(1, timeout=15)
    assert sent[0]["chat_id"] == CHAT
    assert fake_telegram.calls_of("deleteWebhook")  # PTB removes a webhook before polling
    response = await client.post("/webhooks/telegram", json=tg_update(56, CHAT, "x"), headers=HEADERS)
    assert response.status in (404, 405)  # no webhook route in polling mode


async def test_cli_sets_inspects_and_deletes_the_webhook(fake_telegram, monkeypatch, tmp_path: Path) -> None:
    env = {
        "PUSTAKABOT_DATA_DIR": str(tmp_path),
        "PUSTAKABOT_TELEGRAM_TOKEN": TOKEN,
        "PUSTAKABOT_TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
        "PUSTAKABOT_TELEGRAM_API_BASE_URL": fake_telegram.base_url,
        "PUSTAKABOT_PUBLIC_URL": "https://bot.perpus.example.id/",
    }
    runner = CliRunner()
    result = await asyncio.to_thread(runner.invoke, main, ["telegram", "set-webhook"], env=env)
    assert result.exit_code == 0, result.output
    assert fake_telegram.webhook["url"] == "https://bot.perpus.example.id/webhooks/telegram"
    assert fake_telegram.webhook["secret_token"] == TG_SECRET
    assert fake_telegram.webhook["allowed_updates"] == ["message", "edited_message", "callback_query"]
    result = await asyncio.to_thread(runner.invoke, main, ["telegram", "info"], env=env)
    assert result.exit_code == 0, result.output
    assert "https://bot.perpus.example.id/webhooks/telegram" in result.output and "@pustaka_test_bot" in result.output
    result = await asyncio.to_thread(runner.invoke, main, ["telegram", "delete-webhook"], env=env)
    assert result.exit_code == 0 and fake_telegram.webhook == {}
    assert TG_SECRET not in result.output
    assert os.environ.get("PUSTAKABOT_TELEGRAM_TOKEN") is None


async def test_odd_updates_are_acknowledged_and_a_lone_surrogate_still_gets_an_answer(
    aiohttp_client, tg_settings, fake_telegram
) -> None:
    import json

    app = create_app(tg_settings)
    client = await aiohttp_client(app)
    number = tg_update(20, CHAT, "x")
    number["message"]["text"] = 5
    obj = tg_update(21, CHAT, "x")
    obj["message"]["text"] = {"bold": "halo"}
    callback = {"update_id": 22, "callback_query": {"id": "q1", "data": {"x": 1}, "from": {"id": CHAT},
                                                    "message": {"chat": {"id": CHAT, "type": "private"}}}}
    not_an_update = {"update_id": "23", "message": {}}
    for update in (number, obj, callback, not_an_update):
        response = await client.post("/webhooks/telegram", json=update, headers=HEADERS)
        assert response.status == 200
    assert await _count(app, InboxItem) == 0
    surrogate = json.dumps(tg_update(24, CHAT, "halo")).replace('"halo"', '"halo \\ud800"')
    response = await client.post(
        "/webhooks/telegram", data=surrogate, headers={**HEADERS, "Content-Type": "application/json"}
    )
    assert response.status == 200
    (answer,) = await fake_telegram.wait_for_sent(1)  # answered once, not failed three times
    assert "Sebentar ya" in answer["text"]
    async with app[sessions_key]() as session:
        row = await session.scalar(select(Message).where(Message.direction == "in"))
    assert row is not None and row.text == "halo \ufffd"
