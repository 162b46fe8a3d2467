"""Patrons subscribe and unsubscribe in chat: words, commands, buttons; precedence over the
handoff's cancel words."""

from __future__ import annotations

from sqlalchemy import select

from actions.subscriptions import subscription_command
from bot.app import create_app
from bot.keys import sessions_key
from bot.models import Conversation, ConversationState
from tests.bot.channels.conftest import TG_SECRET, tg_update
from tests.bot.subscriptions.conftest import active_topics, eventually, say, texts

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
CHAT = 5123498877


def test_subscription_words() -> None:
    assert subscription_command("langganan info acara anak").topics == ("acara_anak",)
    assert subscription_command("/langganan").op == "subscribe"
    assert subscription_command("/langganan").topics == ()
    assert subscription_command("mau langganan buku baru karya Tere Liye").topics == ("koleksi_penulis:tere liye",)
    assert subscription_command("langganan buku baru tentang sejarah").topics == ("koleksi_subjek:sejarah",)
    assert subscription_command("berhenti").op == "unsubscribe"
    assert subscription_command("/stop").op == "unsubscribe"
    assert subscription_command("STOP").op == "unsubscribe"
    assert subscription_command("berhenti langganan acara anak").topics == ("acara_anak",)
    assert subscription_command("batal langganan").op == "unsubscribe"
    # Not about subscriptions: the handoff's cancel words, questions that mention the word.
    for other in ("batal", "gak jadi", "cancel", "berapa biaya langganan?", "berhenti merokok", "hapus data saya",
                  "jam buka perpustakaan?"):
        assert subscription_command(other) is None, other


async def test_telegram_patron_subscribes_by_words_and_stops_with_one_word(aiohttp_client, subs_settings, fake_telegram) -> None:
    app = create_app(subs_settings)
    client = await aiohttp_client(app)
    await client.post("/webhooks/telegram", json=tg_update(1, CHAT, "langganan info acara anak"), headers=HEADERS)
    sent = await fake_telegram.wait_for_sent(1)
    assert "berlangganan: Acara anak" in sent[0]["text"]
    assert await active_topics(app, str(CHAT)) == ["acara_anak"]
    # Telegram's /stop command reaches the bot as "stop": one word ends every subscription.
    await client.post("/webhooks/telegram", json=tg_update(2, CHAT, "/stop"), headers=HEADERS)
    sent = await fake_telegram.wait_for_sent(2)
    assert "berhenti berlangganan: Acara anak" in sent[1]["text"]
    assert await active_topics(app, str(CHAT)) == []


async def test_menu_and_button_tap(aiohttp_client, subs_settings, fake_telegram) -> None:
    app = create_app(subs_settings)
    client = await aiohttp_client(app)
    await client.post("/webhooks/telegram", json=tg_update(1, CHAT, "/langganan"), headers=HEADERS)
    menu = (await fake_telegram.wait_for_sent(1))[0]
    assert "Mau berlangganan info apa" in menu["text"]
    keyboard = [row[0] for row in menu["reply_markup"]["inline_keyboard"]]
    workshop = next(b for b in keyboard if b["text"].startswith("Workshop"))
    tap = {
        "update_id": 2,
        "callback_query": {
            "id": "77", "from": {"id": CHAT, "is_bot": False, "first_name": "Ana"}, "data": workshop["callback_data"],
            "message": {"message_id": 1000, "chat": {"id": CHAT, "type": "private"}, "date": 1767000000,
                        "text": menu["text"], "reply_markup": menu["reply_markup"]},
        },
    }
    await client.post("/webhooks/telegram", json=tap, headers=HEADERS)
    sent = await fake_telegram.wait_for_sent(2)
    assert "berlangganan: Workshop dan pelatihan" in sent[1]["text"]
    assert await active_topics(app, str(CHAT)) == ["acara_workshop"]
    # Asking again shows what is subscribed and offers only the other topics.
    await client.post("/webhooks/telegram", json=tg_update(3, CHAT, "langganan"), headers=HEADERS)
    again = (await fake_telegram.wait_for_sent(3))[2]
    assert "Langganan Kakak sekarang: Workshop dan pelatihan" in again["text"]
    assert all(not b[0]["text"].startswith("Workshop") for b in again["reply_markup"]["inline_keyboard"])


async def test_stop_while_waiting_for_a_librarian_keeps_the_queue_and_batal_keeps_subscriptions(
    aiohttp_client, subs_settings, always_open
) -> None:
    from tests.bot.handoff.conftest import derive

    app = create_app(derive(subs_settings, staff_schedule_file=always_open))
    await aiohttp_client(app)
    chat = "700100"
    await say(app, chat, "langganan pengumuman")
    await say(app, chat, "langganan info acara")
    assert await active_topics(app, chat) == ["acara", "pengumuman"]
    reply = await say(app, chat, "saya mau bicara dengan petugas")
    assert reply.handoff

    async def state() -> ConversationState | None:
        async with app[sessions_key]() as session:
            return await session.scalar(select(Conversation.state).where(Conversation.external_id == chat))

    assert await state() is ConversationState.WAITING
    # "batal langganan pengumuman" while waiting: only that topic ends, the patron keeps waiting.
    reply = await say(app, chat, "batal langganan pengumuman")
    assert "berhenti berlangganan: Pengumuman perpustakaan" in texts(reply)
    assert await state() is ConversationState.WAITING
    assert await active_topics(app, chat) == ["acara"]
    # "batal" is the handoff's cancel word: back to the bot, the subscription stays.
    await say(app, chat, "batal")
    assert await state() is ConversationState.BOT
    assert await active_topics(app, chat) == ["acara"]
    # And "berhenti" in the queue ends the rest, still without leaving it.
    await say(app, chat, "tolong sambungkan ke petugas")
    assert await state() is ConversationState.WAITING
    reply = await say(app, chat, "berhenti")
    assert "berhenti berlangganan: Semua acara" in texts(reply)
    assert await state() is ConversationState.WAITING
    assert await active_topics(app, chat) == []
    # Nothing left: "stop" says so.
    await say(app, chat, "batal")
    assert "tidak sedang berlangganan" in texts(await say(app, chat, "stop"))


async def test_web_chat_is_told_to_subscribe_elsewhere(aiohttp_client, subs_settings) -> None:
    app = create_app(subs_settings)
    await aiohttp_client(app)
    reply = await say(app, "web-1", "langganan info acara", channel="web")
    assert "tidak bisa dikirim ke web chat" in texts(reply)
    assert await active_topics(app, "web-1", channel="web") == []


async def test_author_and_subject_topics(aiohttp_client, subs_settings) -> None:
    app = create_app(subs_settings)
    await aiohttp_client(app)
    reply = await say(app, "800200", "langganan buku baru karya Tere Liye")
    assert "Buku baru karya Tere Liye" in texts(reply)
    await say(app, "800200", "langganan buku baru tentang sejarah")
    assert await active_topics(app, "800200") == ["koleksi_penulis:tere liye", "koleksi_subjek:sejarah"]
    assert await eventually(lambda: active_topics(app, "800200"))


def test_questions_that_start_with_the_word_stay_questions() -> None:
    for question in ("langganan koran ada di perpustakaan?", "langganan majalah bobo berapa", "stop kontak ada?"):
        assert subscription_command(question) is None, question
    assert subscription_command("langganan info dong").op == "subscribe"
