"""Feedback as patrons give it: 👍 / 👎 on real answers (the stack's Rasa NLU, the engine, the
knowledge base) through the web chat API and Telegram (the fake Bot API), comments, and the
1–5 rating after a librarian resolved the conversation."""

from __future__ import annotations

import asyncio

import json
import random
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import create_app
from bot.cli import upgrade_database
from bot.feedback import FeedbackPolicy
from bot.feedback_models import Feedback, TurnRecord
from bot.keys import router_key, sessions_key
from bot.messages import Incoming
from bot.settings import Settings
from actions.engine import TurnOutcome
from tests.bot.channels.conftest import TG_SECRET, TOKEN, tg_update
from tests.bot.handoff.conftest import csrf_of, login, make_staff, patron_says
from tests.bot.insights.conftest import conversation, payload_of
from tests.conftest import API_HEADERS, Stack, load_demo_data
from tests.fakes import FakeTelegram


def real_settings(stack: Stack, tmp_path: Path, **values: Any) -> Settings:
    """An in-process gateway on its own database with the demo catalog, asking the stack's NLU."""
    settings = Settings(
        data_dir=tmp_path, rasa_url=stack.rasa_url, rasa_token=stack.rasa_token,
        database_url=f"sqlite:///{tmp_path / 'gateway.db'}", rasa_timeout=60, embedding_model="",
        chat_api_keys="test-integration-key-4f1c", **values,
    )
    upgrade_database(settings)
    load_demo_data(settings.effective_database_url)
    return settings


async def _chat(client: TestClient, sender: str, text: str, payload: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"sender_id": sender, "text": text}
    if payload:
        body["payload"] = payload
    response = await client.post("/api/chat", json=body, headers=API_HEADERS)
    assert response.status == 200, await response.text()
    return await response.json()


async def _turns(client: TestClient, conv_id: int) -> list[TurnRecord]:
    async with client.app[sessions_key]() as session:
        return list(await session.scalars(select(TurnRecord).where(TurnRecord.conversation_id == conv_id)
                                          .order_by(TurnRecord.id)))


async def _feedback(client: TestClient, conv_id: int) -> list[Feedback]:
    async with client.app[sessions_key]() as session:
        return list(await session.scalars(select(Feedback).where(Feedback.conversation_id == conv_id)
                                          .order_by(Feedback.id)))


async def test_votes_and_comments_through_the_web_chat_api(stack: Stack, tmp_path: Path, aiohttp_client) -> None:
    client = await aiohttp_client(create_app(real_settings(stack, tmp_path, feedback_mode="every")))
    sender = f"fb-{random.randrange(10**9)}"

    faq = await _chat(client, sender, "jam buka perpustakaan?")
    assert "08.00" in faq["messages"][0]["text"]
    up = payload_of(faq, "👍")
    thanks = await _chat(client, sender, "👍", up)
    assert "Terima kasih" in thanks["messages"][0]["text"]

    book = await _chat(client, sender, "ada buku laskar pelangi?")
    assert "Laskar Pelangi" in book["messages"][0]["text"]
    down = payload_of(book, "👎")
    ask = await _chat(client, sender, "👎", down)
    assert "apa yang kurang" in ask["messages"][0]["text"]
    noted = await _chat(client, sender, "saya cari edisi bahasa inggrisnya")
    assert "masukannya" in noted["messages"][0]["text"]
    # Tapping again changes the vote; it is one vote per answer.
    await _chat(client, sender, "👍", up)

    conv = await conversation(client.app, sender)
    assert conv is not None
    turns = await _turns(client, conv.id)
    assert [(t.kind, t.faq_id) for t in turns] == [("answered", "jam-buka"), ("answered", None)]
    assert turns[1].searched_title and "laskar pelangi" in turns[1].searched_title.lower() and turns[1].found
    votes = await _feedback(client, conv.id)
    assert [(f.kind, f.turn_id, f.value, f.comment) for f in votes] == [
        ("answer", turns[0].id, 1, None), ("answer", turns[1].id, -1, "saya cari edisi bahasa inggrisnya"),
    ]

    # After a 👎 the patron may just ask the next question: it is answered, not taken as a comment.
    faq2 = await _chat(client, sender, "berapa denda keterlambatan?")
    await _chat(client, sender, "👎", payload_of(faq2, "👎"))
    moved_on = await _chat(client, sender, "jam buka perpustakaan?")
    assert "08.00" in moved_on["messages"][0]["text"]
    assert [f.comment for f in await _feedback(client, conv.id)][-1] is None

    # A payload naming another conversation's answer is refused.
    other = f"fb-{random.randrange(10**9)}"
    await _chat(client, other, "👎", down)
    other_conv = await conversation(client.app, other)
    assert other_conv is not None and await _feedback(client, other_conv.id) == []
    assert len(await _feedback(client, conv.id)) == 3


async def test_feedback_off_shows_no_buttons(stack: Stack, tmp_path: Path, aiohttp_client) -> None:
    client = await aiohttp_client(create_app(real_settings(stack, tmp_path, feedback_mode="off")))
    reply = await _chat(client, f"fb-{random.randrange(10**9)}", "jam buka perpustakaan?")
    # (related-question buttons may follow an answer; no 👍 / 👎)
    assert not any(b["payload"].startswith("/feedback") for m in reply["messages"] for b in m.get("buttons") or [])


def test_sample_mode_asks_a_share_of_answers() -> None:
    answered = TurnOutcome("answered", "action_answer_faq", faq_id="jam-buka")
    asked = TurnOutcome("asked_back", "action_answer_faq")
    sample = FeedbackPolicy("sample", 0.25, random.Random(7))
    share = sum(sample.wants(answered) for _ in range(2000)) / 2000
    assert 0.2 < share < 0.3
    assert not any(sample.wants(asked) for _ in range(50))  # only answers get the buttons
    assert all(FeedbackPolicy("every").wants(answered) for _ in range(20))
    assert not any(FeedbackPolicy("off").wants(answered) for _ in range(20))
    missing = TurnOutcome("answered", "action_search_catalog", searched="buku langka", found=False)
    assert not FeedbackPolicy("every").wants(missing)


async def test_votes_on_telegram(stack: Stack, tmp_path: Path, aiohttp_client, fake_telegram: FakeTelegram) -> None:
    settings = real_settings(
        stack, tmp_path, feedback_mode="every", telegram_token=TOKEN, telegram_webhook_secret=TG_SECRET,
        telegram_api_base_url=fake_telegram.base_url, telegram_chat_interval=0.0,
    )
    client = await aiohttp_client(create_app(settings))
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    chat = random.randrange(5_000_000_000, 6_000_000_000)
    assert (await client.post("/webhooks/telegram", json=tg_update(3001, chat, "jam buka perpustakaan?"),
                              headers=headers)).status == 200
    (answer,) = await fake_telegram.wait_for_sent(1, timeout=60)
    assert "08.00" in answer["text"] and "hapus data saya" in answer["text"]  # with the privacy notice
    keyboard = [row[0] for row in answer["reply_markup"]["inline_keyboard"]]
    down = next(b for b in keyboard if b["text"] == "👎")
    assert json.loads(down["callback_data"].removeprefix("/feedback"))["vote"] == "down"

    def tap(update_id: int, data: str, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "update_id": update_id,
            "callback_query": {
                "id": f"cb{update_id}", "from": {"id": chat, "is_bot": False, "first_name": "Ana"},
                "message": {"message_id": 9000 + update_id, "chat": {"id": chat, "type": "private"},
                            "date": 1767000010, "text": message["text"], "reply_markup": message["reply_markup"]},
                "chat_instance": "-1", "data": data,
            },
        }

    assert (await client.post("/webhooks/telegram", json=tap(3002, down["callback_data"], answer),
                              headers=headers)).status == 200
    # (the answer may be followed by its "Pertanyaan terkait" message: count from the end)
    answered = await _sent_after(fake_telegram, "apa yang kurang")
    await client.post("/webhooks/telegram", json=tg_update(3003, chat, "jam sabtu tidak disebut"), headers=headers)
    await _sent_after(fake_telegram, "masukannya", after=answered)
    conv = await conversation(client.app, str(chat), channel="telegram")
    assert conv is not None
    (vote,) = await _feedback(client, conv.id)
    assert (vote.value, vote.comment) == (-1, "jam sabtu tidak disebut")
    assert {"callback_query_id": "cb3002"} in fake_telegram.calls_of("answerCallbackQuery")


async def _sent_after(fake, words: str, *, after: int = 0, timeout: float = 60.0) -> int:
    """Wait until a message containing ``words`` was sent after the first ``after`` ones; its count."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        sent = [p for p in fake.sent if "text" in p]
        if any(words in str(p["text"]) for p in sent[after:]):
            return len(sent)
        assert asyncio.get_running_loop().time() < deadline, f"no message with {words!r} sent"
        await asyncio.sleep(0.05)


async def test_rating_after_a_librarian_resolved(aiohttp_client, handoff_app) -> None:
    app = handoff_app(feedback_mode="every")
    client = await aiohttp_client(app)
    await make_staff(app, "sari", "Sari")
    await patron_says(app, "rate-me", "mau bicara dengan petugas")
    conv = await conversation(app, "rate-me")
    assert conv is not None
    csrf = await login(client, "sari")
    assert (await client.post(f"/console/c/{conv.id}/claim", data={"_csrf": csrf}, allow_redirects=False)).status == 303
    await client.post(f"/console/c/{conv.id}/reply", data={"_csrf": csrf, "text": "Ruang baca anak di lantai 2."})
    assert (await client.post(f"/console/c/{conv.id}/resolve", data={"_csrf": csrf}, allow_redirects=False)).status == 303

    updates = await (await client.get("/api/chat/updates", params={"sender_id": "rate-me", "after": "0"},
                                      headers=API_HEADERS)).json()
    resolved = updates["messages"][-1]
    assert "sudah selesai" in resolved["text"] and "nilai 1" in resolved["text"]
    assert [b["title"] for b in resolved["buttons"]] == ["1 ⭐", "2 ⭐", "3 ⭐", "4 ⭐", "5 ⭐"]
    four = next(b["payload"] for b in resolved["buttons"] if b["title"] == "4 ⭐")
    # The patron taps "4 ⭐".
    reply = await app[router_key].handle(Incoming(channel="web", conversation_id="rate-me", text="4 ⭐", payload=four))
    assert "penilaiannya" in reply.messages[0].text
    comment = await patron_says(app, "rate-me", "petugasnya ramah, terima kasih")
    assert "masukannya" in comment.messages[0].text
    async with app[sessions_key]() as session:
        (rating,) = list(await session.scalars(select(Feedback).where(Feedback.kind == "rating")))
    assert (rating.value, rating.comment, rating.conversation_id) == (4, "petugasnya ramah, terima kasih", conv.id)

    # The analytics show it, without the patron.
    page = await client.get("/console/analytics")
    html = await page.text()
    assert page.status == 200 and "Rata-rata: 4.0" in html and "petugasnya ramah" in html
    assert "rate-me" not in html
    assert csrf_of(html)
