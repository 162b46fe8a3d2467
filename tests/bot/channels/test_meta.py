"""Messenger and Instagram end to end: signed webhooks in, Send API calls out to the fake Graph API."""

from __future__ import annotations

import asyncio
import copy
import time
from datetime import timedelta

from sqlalchemy import func, select

from bot.app import create_app
from bot.channel_models import InboxItem
from bot.keys import outbox_key, sessions_key
from bot.messages import Button, Outgoing
from bot.models import Conversation, Message, utcnow
from tests.bot.channels.conftest import VERIFY_TOKEN, outbox_idle, sign
from tests.fakes import FakeGraph

PSID = "7001234567890123"
IGSID = "1290377716543210"

MESSENGER_TEXT = {
    "object": "page",
    "entry": [{
        "id": "109876543210987",
        "time": 1767000000123,
        "messaging": [{
            "sender": {"id": PSID},
            "recipient": {"id": "109876543210987"},
            "timestamp": 1767000000045,
            "message": {"mid": "m_Xk2f9QvLr8tYw1pZa0bC3dE4fG5hI6jK7lM8nO9pQ", "text": "Kapan perpustakaan tutup hari ini? äöå/"},
        }],
    }],
}
QUICK_REPLY = {
    "object": "page",
    "entry": [{"id": "109876543210987", "time": 1767000060500, "messaging": [{
        "sender": {"id": PSID}, "recipient": {"id": "109876543210987"}, "timestamp": 1767000060410,
        "message": {"mid": "m_Qr7sT8uV9wX0yZ1aB2cD3eF4gH5iJ6kL7mN8oP9qR", "text": "Talk to a librarian", "quick_reply": {"payload": "/request_human"}},
    }]}],
}
POSTBACK = {
    "object": "page",
    "entry": [{"id": "109876543210987", "time": 1767000090800, "messaging": [{
        "sender": {"id": PSID}, "recipient": {"id": "109876543210987"}, "timestamp": 1767000090712,
        "postback": {"mid": "m_Pb1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1wX2yZ3a", "title": "Renew my loans", "payload": "RENEW_ALL"},
    }]}],
}
ECHO = {
    "object": "page",
    "entry": [{"id": "109876543210987", "time": 1767000200100, "messaging": [{
        "sender": {"id": "109876543210987"}, "recipient": {"id": PSID}, "timestamp": 1767000200020,
        "message": {"mid": "m_Ec9hO8sT7aF6fR5eP4lY3bY2hU1mA0nZ9yX8wV7uT", "is_echo": True, "app_id": 263902037430900, "text": "Hi! This is Jo."},
    }]}],
}
READ = {"object": "page", "entry": [{"id": "109876543210987", "time": 1, "messaging": [{
    "sender": {"id": PSID}, "recipient": {"id": "109876543210987"}, "timestamp": 1767000300000, "read": {"watermark": 1767000200020},
}]}]}
DELIVERY = {"object": "page", "entry": [{"id": "109876543210987", "time": 1, "messaging": [{
    "sender": {"id": PSID}, "recipient": {"id": "109876543210987"}, "timestamp": 1767000300001,
    "delivery": {"mids": ["m_x"], "watermark": 1767000200020},
}]}]}
IG_TEXT = {
    "object": "instagram",
    "entry": [{"id": "17841400000000001", "time": 1767000300250, "messaging": [{
        "sender": {"id": IGSID}, "recipient": {"id": "17841400000000001"}, "timestamp": 1767000300101,
        "message": {"mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAxOjc2NTQzMjE", "text": "Is the reading room open on Sunday?"},
    }]}],
}
IG_STORY_REPLY = {
    "object": "instagram",
    "entry": [{"id": "17841400000000001", "time": 1767000400000, "messaging": [{
        "sender": {"id": IGSID}, "recipient": {"id": "17841400000000001"}, "timestamp": 1767000399950,
        "message": {
            "mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAxOjc2NTQzMjM",
            "text": "Is this event free?",
            "reply_to": {"story": {"url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=17990000000000001", "id": "17990000000000001"}},
        },
    }]}],
}
IG_REACTION = {
    "object": "instagram",
    "entry": [{"id": "17841400000000001", "time": 1767000450000, "messaging": [{
        "sender": {"id": IGSID}, "recipient": {"id": "17841400000000001"}, "timestamp": 1767000449900,
        "reaction": {"mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAxOjc2NTQzMjM", "action": "react", "reaction": "love", "emoji": "\u2764\ufe0f"},
    }]}],
}


def fresh(body: dict) -> dict:
    """``body`` with its event timestamps moved to now (the 24-hour window counts from them)."""
    body = copy.deepcopy(body)
    shift = int(time.time() * 1000) - 1767000500000
    for entry in body["entry"]:
        for event in entry.get("messaging", []):
            event["timestamp"] += shift
    return body


# Questions the FAQ answers without the NLU (down in these tests).
SURE = ["jam buka perpustakaan?", "berapa denda keterlambatan?", "syarat daftar anggota apa?", "boleh bawa makanan?"]


async def _post(client, body: dict) -> int:  # noqa: ANN001
    raw, headers = sign(fresh(body))
    response = await client.post("/webhooks/meta", data=raw, headers=headers)
    return response.status


async def _inbox(app) -> int:  # noqa: ANN001
    async with app[sessions_key]() as session:
        return int(await session.scalar(select(func.count()).select_from(InboxItem)) or 0)


async def test_verification_get(aiohttp_client, meta_settings) -> None:
    client = await aiohttp_client(create_app(meta_settings))
    ok = await client.get("/webhooks/meta", params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
    assert ok.status == 200 and await ok.text() == "1158201444"
    bad = await client.get("/webhooks/meta", params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"})
    assert bad.status == 403


async def test_forged_signature_is_403_and_nothing_processed(aiohttp_client, meta_settings, fake_graph: FakeGraph) -> None:
    app = create_app(meta_settings)
    client = await aiohttp_client(app)
    raw, headers = sign(MESSENGER_TEXT, secret="not-the-app-secret")
    assert (await client.post("/webhooks/meta", data=raw, headers=headers)).status == 403
    raw, headers = sign(MESSENGER_TEXT)
    tampered = raw.replace(b"tutup", b"buka!")
    assert (await client.post("/webhooks/meta", data=tampered, headers=headers)).status == 403
    assert (await client.post("/webhooks/meta", data=raw, headers={"Content-Type": "application/json"})).status == 403
    # Refused before anything is stored: there is nothing to wait for.
    assert await _inbox(app) == 0 and fake_graph.calls == []


async def test_messenger_text_is_answered_once_with_typing(aiohttp_client, meta_settings, fake_graph: FakeGraph) -> None:
    app = create_app(meta_settings)
    client = await aiohttp_client(app)
    assert await _post(client, MESSENGER_TEXT) == 200
    assert await _post(client, MESSENGER_TEXT) == 200  # Meta retried
    sent = await fake_graph.wait_for_sent(1)
    await outbox_idle(app)
    assert len(fake_graph.sent) == 1
    assert sent[0]["recipient"] == {"id": PSID}
    assert sent[0]["messaging_type"] == "RESPONSE" and sent[0]["access_token"] == "PAGE-TOKEN"
    assert "Sebentar ya" in sent[0]["message"]["text"]  # the NLU is down: the message waits for it
    assert fake_graph.actions[0]["sender_action"] == "typing_on"
    async with app[sessions_key]() as session:
        msg = await session.scalar(select(Message).where(Message.direction == "in"))
        assert msg is not None and msg.text == "Kapan perpustakaan tutup hari ini? äöå/"


async def test_quick_reply_and_postback_payloads_reach_the_router(aiohttp_client, meta_settings, fake_graph) -> None:
    app = create_app(meta_settings)
    client = await aiohttp_client(app)
    assert await _post(client, QUICK_REPLY) == 200
    assert await _post(client, POSTBACK) == 200
    await fake_graph.wait_for_sent(2)
    async with app[sessions_key]() as session:
        rows = (await session.execute(select(Message.text, Message.payload).where(Message.direction == "in").order_by(Message.id))).all()
    assert rows[0] == ("Talk to a librarian", {"payload": "/request_human"})
    assert rows[1] == ("Renew my loans", {"payload": "RENEW_ALL"})


async def test_echoes_receipts_reactions_and_story_replies_are_not_answered(aiohttp_client, meta_settings, fake_graph) -> None:
    from bot.channel_models import PENDING
    from bot.handoff_models import Handoff

    app = create_app(meta_settings)  # META_APP_ID unset: every echo counts as our own
    client = await aiohttp_client(app)
    for body in (ECHO, READ, DELIVERY, IG_STORY_REPLY, IG_REACTION):
        assert await _post(client, body) == 200
    assert await _inbox(app) == 1  # only the story reply, which goes to the console
    async with asyncio.timeout(10):
        while True:
            async with app[sessions_key]() as session:
                handoff = await session.scalar(select(Handoff))
                pending = await session.scalar(select(func.count()).select_from(InboxItem).where(InboxItem.status == PENDING))
            if handoff is not None and not pending:
                break
            await asyncio.sleep(0.02)
    assert handoff.reason == "story" and handoff.status == "waiting"
    assert fake_graph.calls == []


async def test_instagram_reply_uses_its_token_and_1000_byte_parts(aiohttp_client, meta_settings, fake_graph) -> None:
    app = create_app(meta_settings)
    client = await aiohttp_client(app)
    assert await _post(client, IG_TEXT) == 200
    (reply,) = await fake_graph.wait_for_sent(1)
    assert reply["access_token"] == "IG-TOKEN" and reply["recipient"] == {"id": IGSID}
    async with app[sessions_key]() as session:
        conv = await session.scalar(select(Conversation).where(Conversation.channel == "instagram"))
    text = "Koleksi anak ada di lantai dua, dekat ruang baca. " * 60
    buttons = tuple(Button(f"Pilihan nomor {i} yang panjang sekali", f"/faq{{\"faq_id\":\"f{i}\"}}") for i in range(15))
    await app[outbox_key].enqueue(conv.id, Outgoing(text=text, buttons=buttons))
    sent = await fake_graph.wait_for_sent(4)
    parts = sent[1:]
    assert len(parts) == 3  # 3,000 bytes of 50-byte sentences: 20 sentences (999 bytes) per part
    assert all(len(p["message"]["text"].encode()) <= 1000 for p in parts)
    assert " ".join(p["message"]["text"] for p in parts) == text.strip()
    quick = parts[-1]["message"]["quick_replies"]
    assert len(quick) == 13 and all(len(q["title"]) <= 20 for q in quick)
    assert "quick_replies" not in parts[0]["message"]


async def test_rate_limit_is_retried_and_window_errors_are_final(aiohttp_client, meta_settings, fake_graph) -> None:
    app = create_app(meta_settings)
    client = await aiohttp_client(app)
    fake_graph.fail_next(613)
    assert await _post(client, MESSENGER_TEXT) == 200
    await fake_graph.wait_for_sent(1, timeout=10)
    assert len([c for c in fake_graph.calls if "message" in c]) == 2
    async with app[sessions_key]() as session:
        conv = await session.scalar(select(Conversation).where(Conversation.channel == "messenger"))
    fake_graph.fail_next(10, 2018278)
    outbox = app[outbox_key]
    await outbox.enqueue(conv.id, Outgoing(text="Halo"), author="agent", transcript_id=7)
    for _ in range(50):
        status = (await outbox.statuses([7])).get(7, "")
        if status.startswith("failed:"):
            break
        await asyncio.sleep(0.1)
    assert "24 jam" in status
    assert len([c for c in fake_graph.calls if "message" in c]) == 3  # not retried


async def test_window_bot_24h_staff_human_agent_then_refused(aiohttp_client, meta_settings, fake_graph) -> None:
    app = create_app(meta_settings)
    await aiohttp_client(app)
    outbox = app[outbox_key]
    async with app[sessions_key].begin() as session:
        conv = Conversation(channel="messenger", external_id=PSID, last_inbound_at=utcnow() - timedelta(hours=30))
        old = Conversation(channel="instagram", external_id=IGSID, last_inbound_at=utcnow() - timedelta(days=8))
        session.add_all([conv, old])
    assert await outbox.check_window(conv.id, author="bot")
    assert await outbox.check_window(conv.id, author="agent") is None
    reason = await outbox.check_window(old.id, author="agent")
    assert reason == "Pesan tidak bisa dikirim: sudah lebih dari 7 hari sejak pesan terakhir pemustaka di Instagram."
    await outbox.enqueue(conv.id, Outgoing(text="otomatis"), author="bot", transcript_id=1)
    await outbox.enqueue(conv.id, Outgoing(text="Halo Kak, ini petugas."), author="agent", transcript_id=2)
    await outbox.enqueue(old.id, Outgoing(text="terlambat"), author="agent", transcript_id=3)
    (sent,) = await fake_graph.wait_for_sent(1)
    assert sent["messaging_type"] == "MESSAGE_TAG" and sent["tag"] == "HUMAN_AGENT"
    assert sent["message"]["text"] == "Halo Kak, ini petugas."
    for _ in range(50):
        statuses = await outbox.statuses([1, 2, 3])
        if all(v != "pending" for v in statuses.values()):
            break
        await asyncio.sleep(0.1)
    assert statuses[1].startswith("failed:") and "24 jam" in statuses[1]
    assert statuses[2] == "sent"
    assert statuses[3] == "failed:" + reason


async def test_batched_events_are_processed_in_timestamp_order(aiohttp_client, meta_settings, fake_graph) -> None:
    app = create_app(meta_settings)
    client = await aiohttp_client(app)
    body = copy.deepcopy(MESSENGER_TEXT)
    events = []
    for i in (3, 1, 2):
        event = copy.deepcopy(MESSENGER_TEXT["entry"][0]["messaging"][0])
        event["timestamp"] += i
        event["message"] = {"mid": f"m_batch{i}", "text": SURE[i]}
        events.append(event)
    body["entry"][0]["messaging"] = events
    assert await _post(client, body) == 200
    await fake_graph.wait_for_sent(3)
    async with app[sessions_key]() as session:
        texts = list(await session.scalars(select(Message.text).where(Message.direction == "in").order_by(Message.id)))
    assert texts == [SURE[1], SURE[2], SURE[3]]


async def test_a_person_answering_in_the_page_inbox_pauses_the_bot(aiohttp_client, meta_settings, fake_graph) -> None:
    from bot.channel_models import PENDING
    from bot.handoff_models import Handoff
    from bot.keys import handoff_key
    from tests.bot.handoff.conftest import derive

    app = create_app(derive(meta_settings, meta_app_id="555000111"))
    client = await aiohttp_client(app)
    own = copy.deepcopy(ECHO)
    own["entry"][0]["messaging"][0]["message"].update(app_id=555000111, mid="m_own_echo")
    assert await _post(client, own) == 200  # our own echo: nothing happens
    assert await _inbox(app) == 0
    assert await _post(client, ECHO) == 200  # app 263902037430900: a person in Meta's inbox
    assert await _post(client, MESSENGER_TEXT) == 200  # the patron answers the person
    async with asyncio.timeout(10):
        while True:
            async with app[sessions_key]() as session:
                pending = await session.scalar(
                    select(func.count()).select_from(InboxItem).where(InboxItem.status == PENDING)
                )
            if not pending and await _inbox(app) == 2:
                break
            await asyncio.sleep(0.02)
    async with app[sessions_key]() as session:
        handoff = await session.scalar(select(Handoff))
        lines = (await session.scalars(select(Message).order_by(Message.id))).all()
    assert handoff is not None and handoff.reason == "platform_inbox" and handoff.status == "waiting"
    assert [(m.direction, m.author, m.text) for m in lines] == [
        ("out", "agent", "Hi! This is Jo."),
        ("in", "patron", "Kapan perpustakaan tutup hari ini? äöå/"),
    ]
    assert [c for c in fake_graph.calls if "message" in c] == []  # the bot stays quiet, nothing re-sent
    active, _recent = await app[handoff_key].queue()
    assert [item.reason for item in active] == ["platform_inbox"]
