"""Patrons' data rights: the privacy notice, "hapus data saya", an admin's export, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.channel_models import InboxItem
from bot.cli import upgrade_database
from bot.db_sessions import gateway_sessions
from bot.feedback_models import Feedback, TurnRecord
from bot.handoff_models import AuditEntry
from bot.keys import sessions_key
from bot.models import Conversation, Message
from bot.privacy import ANONYMISED, PATRON_TABLES, RetentionJob
from bot.settings import Settings
from knowledge.db import make_async_engine
from knowledge.models import PurchaseSuggestion
from tests.bot.handoff.conftest import csrf_of, derive, login, make_staff, patron_says
from tests.bot.insights.conftest import conversation, count, payload_of, transcript
from tests.conftest import API_HEADERS


async def test_first_contact_gets_the_privacy_notice_once(aiohttp_client, handoff_settings: Settings) -> None:
    settings = derive(handoff_settings, privacy_policy_url="https://perpus.example.id/privasi")
    client = await aiohttp_client(create_app(settings))
    first = await (await client.post("/api/chat", json={"sender_id": "n1", "text": "jam buka perpustakaan?"},
                                     headers=API_HEADERS)).json()
    text = first["messages"][0]["text"]  # the answer, its last paragraph the notice
    assert "08.00" in text
    assert "hapus data saya" in text and "180 hari" in text and "https://perpus.example.id/privasi" in text
    again = await (await client.post("/api/chat", json={"sender_id": "n1", "text": "jam buka perpustakaan?"},
                                     headers=API_HEADERS)).json()
    assert not any("hapus data saya" in m["text"] for m in again["messages"])
    english = await (await client.post("/api/chat", json={"sender_id": "n2", "text": "What are the opening hours?"},
                                       headers=API_HEADERS)).json()
    assert "delete my data" in english["messages"][-1]["text"]


async def test_no_notice_when_the_text_is_empty(aiohttp_client, handoff_settings: Settings) -> None:
    client = await aiohttp_client(create_app(derive(handoff_settings, privacy_notice="")))
    reply = await (await client.post("/api/chat", json={"sender_id": "n3", "text": "jam buka perpustakaan?"},
                                     headers=API_HEADERS)).json()
    assert not any("hapus data saya" in m["text"] for m in reply["messages"])


async def test_hapus_data_saya_deletes_the_patrons_data(aiohttp_client, handoff_settings: Settings) -> None:
    app = create_app(derive(handoff_settings, feedback_mode="every"))
    client = await aiohttp_client(app)

    async def say(text: str, payload: str | None = None) -> dict:
        body = {"sender_id": "erase-me", "text": text, **({"payload": payload} if payload else {})}
        response = await client.post("/api/chat", json=body, headers=API_HEADERS)
        assert response.status == 200
        return await response.json()

    answer = await say("jam buka perpustakaan?")
    await say("👎", payload_of(answer, "👎"))
    await say("jamnya beda dengan papan di depan")
    other = await (await client.post("/api/chat", json={"sender_id": "someone-else", "text": "jam buka perpustakaan?"},
                                     headers=API_HEADERS)).json()
    assert other["messages"]
    async with app[sessions_key].begin() as session:
        session.add(PurchaseSuggestion(title="Cantik Itu Luka", patron="web:erase-me"))
    conv = await conversation(app, "erase-me")
    assert conv is not None and await count(app, Feedback, Feedback.conversation_id == conv.id) == 1

    # Asked, the patron first changes their mind: nothing is deleted.
    ask = await say("hapus data saya")
    assert "tidak bisa dikembalikan" in ask["messages"][0]["text"]
    kept = await say("Tidak jadi", payload_of(ask, "Tidak jadi"))
    assert "tidak dihapus" in kept["messages"][0]["text"]
    assert await count(app, Message, Message.conversation_id == conv.id) > 0
    # A confirmation payload typed without the question deletes nothing either.
    await say("ya", '/erase_data{"confirm":"yes"}')
    assert await count(app, Message, Message.conversation_id == conv.id) > 0

    ask = await say("tolong hapus semua data saya")
    done = await say("Ya, hapus data saya", payload_of(ask, "Ya, hapus data saya"))
    assert "sudah kami hapus" in done["messages"][0]["text"]

    assert await count(app, Message, Message.conversation_id == conv.id) == 0
    assert await count(app, Feedback, Feedback.conversation_id == conv.id) == 0
    assert await count(app, TurnRecord, TurnRecord.conversation_id == conv.id) == 0
    assert await count(app, Conversation, Conversation.id == conv.id) == 0
    fresh = await conversation(app, "erase-me")
    assert fresh is not None and fresh.id != conv.id and await transcript(app, fresh.id) == []
    async with app[sessions_key]() as session:
        suggestion = await session.scalar(select(PurchaseSuggestion).where(PurchaseSuggestion.title == "Cantik Itu Luka"))
        assert suggestion is not None and suggestion.patron is None  # the title stays for the librarians
        line = await session.scalar(select(AuditEntry).where(AuditEntry.action == "patron_data_erased"))
        assert line is not None and line.conversation_id is None and line.detail is not None
        assert line.detail["channel"] == "web" and line.detail["by"] == "patron"
        assert "erase-me" not in str(line.detail) and line.detail["rows"]["messages"] >= 6
    # Someone else's conversation is untouched.
    other_conv = await conversation(app, "someone-else")
    assert other_conv is not None and len(await transcript(app, other_conv.id)) == 2

    # The typed "ya" confirms as well.
    await say("hapus data saya")
    done = await say("ya")
    assert "sudah kami hapus" in done["messages"][0]["text"]


def test_every_per_patron_table_is_listed() -> None:
    """Tables with a conversation_id (or a patron's channel + external_id) are in PATRON_TABLES."""
    import bot.channel_models  # noqa: F401
    import bot.feedback_models  # noqa: F401
    import bot.handoff_models  # noqa: F401
    from bot.models import Base

    listed = {t.name for t in PATRON_TABLES}
    for table in Base.metadata.tables.values():
        if table.name == "conversations":
            continue
        if "conversation_id" in table.c and table.name != "audit_log":
            assert table.name in listed, f"{table.name} holds patrons' rows but is not in PATRON_TABLES"
        if {"channel", "external_id"} <= set(table.c.keys()):
            assert table.name in listed, table.name


async def test_admin_exports_one_patrons_data(aiohttp_client, handoff_app) -> None:
    app = handoff_app()
    client = await aiohttp_client(app)
    await make_staff(app, "rina", "Rina", role="admin")
    await make_staff(app, "budi", "Budi")
    await patron_says(app, "export-me", "jam buka perpustakaan?")
    await patron_says(app, "export-me", "terima kasih")
    conv = await conversation(app, "export-me")
    assert conv is not None

    csrf = await login(client, "budi")
    assert (await client.get("/console/privacy")).status == 403
    forbidden = await client.post("/console/privacy/export", data={"_csrf": csrf, "percakapan": str(conv.id)})
    assert forbidden.status == 403
    await client.post("/console/logout", data={"_csrf": csrf})

    csrf = await login(client, "rina")
    page = await client.get("/console/privacy")
    assert page.status == 200 and "Unduh data" in await page.text()
    response = await client.post("/console/privacy/export", data={"_csrf": csrf_of(await page.text()),
                                                                  "percakapan": str(conv.id)})
    assert response.status == 200 and response.content_type == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = await response.json()
    assert data["channel"] == "web" and data["external_id"] == "export-me"
    texts = [m["text"] for m in data["messages"]]
    assert "jam buka perpustakaan?" in texts and "terima kasih" in texts
    assert [t["kind"] for t in data["turns"]] == ["answered", "declined"]  # the NLU is down here
    by_id = await client.post("/console/privacy/export",
                              data={"_csrf": csrf, "saluran": "web", "id_platform": "export-me"})
    assert by_id.status == 200 and (await by_id.json())["messages"] == data["messages"]
    missing = await client.post("/console/privacy/export", data={"_csrf": csrf, "saluran": "web", "id_platform": "nobody"})
    assert missing.status == 404
    empty = await client.post("/console/privacy/export", data={"_csrf": csrf})
    assert empty.status == 400
    async with app[sessions_key]() as session:
        exports = list(await session.scalars(select(AuditEntry).where(AuditEntry.action == "patron_data_exported")))
    assert len(exports) == 2 and all(e.staff_id is not None for e in exports)


async def _retention_case(database_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url, embedding_model="")
    upgrade_database(settings)
    engine = make_async_engine(settings.effective_database_url)
    sessions = gateway_sessions(engine)
    start = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
    try:
        async with sessions.begin() as session:
            old = Conversation(channel="telegram", external_id="111", patron_name="Ana", created_at=start,
                               last_inbound_at=start, context={"topic": "faq"})
            active = Conversation(channel="telegram", external_id="222", patron_name="Budi", created_at=start,
                                  last_inbound_at=start + timedelta(days=200))
            session.add_all([old, active])
            await session.flush()
            session.add_all([
                Message(conversation_id=old.id, direction="in", author="patron", text="nama saya Ana, NIK 123",
                        platform_message_id="m1", created_at=start),
                Message(conversation_id=active.id, direction="in", author="patron", text="pesan lama",
                        created_at=start),
                Message(conversation_id=active.id, direction="in", author="patron", text="pesan baru",
                        created_at=start + timedelta(days=200)),
                TurnRecord(conversation_id=old.id, channel="telegram", kind="answered", action="action_answer_faq",
                           faq_id="jam-buka", created_at=start),
                InboxItem(channel="telegram", platform_id="u1", external_id="111", data={"text": "nama saya Ana"},
                          status="done", received_at=start),
            ])
            await session.flush()
            session.add(Feedback(conversation_id=old.id, kind="answer", value=-1, comment="Ana kecewa",
                                 created_at=start))
        now = start + timedelta(days=170)
        job = RetentionJob(sessions, days=180, interval=3600, clock=lambda: now)
        assert not any((await job.run_once()).values())  # nothing is 180 days old yet
        now = start + timedelta(days=181)
        counts = await job.run_once()
        assert counts["messages"] == 2 and counts["conversations"] == 1 and counts["inbox"] == 1
        async with sessions() as session:
            old_now = await session.get(Conversation, old.id)
            active_now = await session.get(Conversation, active.id)
            assert old_now is not None and active_now is not None
            assert old_now.patron_name is None and old_now.external_id == f"anon-{old.id}"
            assert old_now.context is None and old_now.anonymised_at is not None
            assert active_now.patron_name == "Budi" and active_now.external_id == "222"  # still talking
            texts = {m.text for m in await session.scalars(select(Message).order_by(Message.id))}
            assert texts == {ANONYMISED, "pesan baru"}
            assert (await session.scalar(select(Feedback))).comment is None  # type: ignore[union-attr]
            turn = await session.scalar(select(TurnRecord))
            assert turn is not None and turn.faq_id == "jam-buka"  # the aggregates stay countable
            assert await session.scalar(select(AuditEntry).where(AuditEntry.action == "retention_anonymised"))
        assert not any((await job.run_once()).values())  # idempotent
    finally:
        await engine.dispose()


async def test_retention_job_anonymises_old_transcripts_sqlite(tmp_path: Path) -> None:
    await _retention_case(f"sqlite:///{tmp_path / 'retention.db'}", tmp_path)


async def test_retention_job_anonymises_old_transcripts_postgresql(pg_url: str, tmp_path: Path) -> None:
    await _retention_case(pg_url, tmp_path)


@pytest.mark.parametrize("days", [0])
async def test_retention_off(tmp_path: Path, days: int) -> None:
    settings = Settings(data_dir=tmp_path, embedding_model="")
    upgrade_database(settings)
    engine = make_async_engine(settings.effective_database_url)
    try:
        job = RetentionJob(gateway_sessions(engine), days=days, interval=1,
                           clock=lambda: datetime.now(UTC) + timedelta(days=10_000))
        assert await job.run_once() == {}
    finally:
        await engine.dispose()


async def test_hapus_data_saya_on_telegram(aiohttp_client, tg_settings: Settings, fake_telegram) -> None:
    from tests.bot.channels.conftest import TG_SECRET, tg_update

    app = create_app(tg_settings)
    client = await aiohttp_client(app)
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    chat = 5550001111
    await client.post("/webhooks/telegram", json=tg_update(41, chat, "jam buka perpustakaan?"), headers=headers)
    await client.post("/webhooks/telegram", json=tg_update(42, chat, "hapus data saya"), headers=headers)
    sent = await fake_telegram.wait_for_sent(2, timeout=30)
    assert "08.00" in sent[0]["text"] and "tidak bisa dikembalikan" in sent[1]["text"]
    yes = next(row[0] for row in sent[1]["reply_markup"]["inline_keyboard"] if row[0]["text"] == "Ya, hapus data saya")
    tap = {"update_id": 43, "callback_query": {
        "id": "cb43", "from": {"id": chat, "is_bot": False, "first_name": "Ana"},
        "message": {"message_id": 777, "chat": {"id": chat, "type": "private"}, "date": 1767000010,
                    "text": sent[1]["text"], "reply_markup": sent[1]["reply_markup"]},
        "chat_instance": "-1", "data": yes["callback_data"]}}
    old = await conversation(app, str(chat), channel="telegram")
    assert old is not None
    await client.post("/webhooks/telegram", json=tap, headers=headers)
    sent = await fake_telegram.wait_for_sent(3, timeout=30)
    assert sent[2]["chat_id"] == chat and "sudah kami hapus" in sent[2]["text"]
    assert await count(app, Message, Message.conversation_id == old.id) == 0
    assert await count(app, InboxItem, InboxItem.external_id == str(chat)) == 0
    fresh = await conversation(app, str(chat), channel="telegram")
    assert fresh is not None and fresh.patron_name is None and fresh.context is None
    # The patron writes again: a new conversation, with the privacy notice again.
    await client.post("/webhooks/telegram", json=tg_update(44, chat, "jam buka perpustakaan?"), headers=headers)
    sent = await fake_telegram.wait_for_sent(4, timeout=30)
    assert "08.00" in sent[3]["text"] and "hapus data saya" in sent[3]["text"]


async def test_erasure_on_postgresql_respects_every_foreign_key(pg_url: str, tmp_path: Path) -> None:
    from bot.handoff_models import Claim, Handoff, Note, Staff, WebchatCursor
    from bot.channel_models import OutboxItem
    from bot.privacy import erase_patron, export_patron

    settings = Settings(data_dir=tmp_path, database_url=pg_url, embedding_model="")
    upgrade_database(settings)
    engine = make_async_engine(settings.effective_database_url)
    sessions = gateway_sessions(engine)
    try:
        async with sessions.begin() as session:
            staff = Staff(username="rina", display_name="Rina", password_hash="x")
            conv = Conversation(channel="whatsapp", external_id="6281234", patron_name="Ana")
            session.add_all([staff, conv])
            await session.flush()
            message = Message(conversation_id=conv.id, direction="in", author="patron", text="halo")
            handoff = Handoff(conversation_id=conv.id, reason="patron_request", status="agent", claimed_by=staff.id)
            turn = TurnRecord(conversation_id=conv.id, channel="whatsapp", kind="handed_over", action="trigger")
            session.add_all([message, handoff, turn])
            await session.flush()
            session.add_all([
                Claim(conversation_id=conv.id, handoff_id=handoff.id, staff_id=staff.id),
                Note(conversation_id=conv.id, staff_id=staff.id, text="Ana minta info"),
                WebchatCursor(conversation_id=conv.id, seen_message_id=message.id),
                OutboxItem(conversation_id=conv.id, channel="whatsapp", external_id="6281234", message={"text": "x"}),
                Feedback(conversation_id=conv.id, kind="rating", value=5, handoff_id=handoff.id),
                Feedback(conversation_id=conv.id, kind="answer", value=1, turn_id=turn.id),
                InboxItem(channel="whatsapp", platform_id="wamid.1", external_id="6281234", data={"text": "halo"}),
                AuditEntry(action="claim", staff_id=staff.id, conversation_id=conv.id),
            ])
        async with sessions() as session:
            exported = await export_patron(session, "whatsapp", "6281234")
        assert exported is not None and len(exported["feedback"]) == 2 and exported["handoff_notes"][0]["text"] == "Ana minta info"
        async with sessions.begin() as session:
            counts = await erase_patron(session, "whatsapp", "6281234", staff_id=staff.id)
        assert counts["conversations"] == 1 and counts["feedback"] == 2 and counts["inbox"] == 1
        async with sessions() as session:
            assert await session.scalar(select(Conversation).where(Conversation.external_id == "6281234")) is None
            claim = await session.scalar(select(AuditEntry).where(AuditEntry.action == "claim"))
            assert claim is not None and claim.conversation_id is None
            erased = await session.scalar(select(AuditEntry).where(AuditEntry.action == "patron_data_erased"))
            assert erased is not None and erased.detail is not None and erased.detail["by"] == "admin"
            assert await export_patron(session, "whatsapp", "6281234") is None
    finally:
        await engine.dispose()
