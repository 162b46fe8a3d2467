"""The staff console over HTTP: queue, claim, reply, notes, resolve, security, restart."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import WSServerHandshakeError
from sqlalchemy import select

from bot.handoff_models import AuditEntry, Claim
from bot.keys import handoff_key, sessions_key
from bot.models import Conversation, ConversationState, Message
from tests.bot.handoff.conftest import PASSWORD, csrf_of, login, make_staff, patron_says
from tests.conftest import API_HEADERS


async def _state(app, sender: str, channel: str = "web") -> ConversationState:
    async with app[sessions_key]() as session:
        conv = await session.scalar(
            select(Conversation).where(Conversation.channel == channel, Conversation.external_id == sender)
        )
        assert conv is not None
        return conv.state


async def _conv_id(app, sender: str, channel: str = "web") -> int:
    async with app[sessions_key]() as session:
        conv_id = await session.scalar(
            select(Conversation.id).where(Conversation.channel == channel, Conversation.external_id == sender)
        )
        assert conv_id is not None
        return conv_id


async def test_patron_request_queues_and_agent_handles_web_chat_to_the_end(aiohttp_client, handoff_app) -> None:
    app = handoff_app()
    client = await aiohttp_client(app)
    await make_staff(app, "rina", "Rina")

    first = await client.post("/api/chat", json={"sender_id": "pemustaka-1", "text": "mau bicara dengan petugas"}, headers=API_HEADERS)
    data = await first.json()
    assert data["handoff"] is True
    assert "antrean nomor 1" in " ".join(m["text"] for m in data["messages"])
    cursor = data["cursor"]
    second = await patron_says(app, "pemustaka-2", "admin manusia dong")
    assert second.handoff and "antrean nomor 2" in second.messages[-1].text

    # While waiting the patron's messages go to the console, never to Rasa (which is down here).
    held = await client.post("/api/chat", json={"sender_id": "pemustaka-1", "text": "halo, ada orang?"}, headers=API_HEADERS)
    held_data = await held.json()
    assert held_data == {"messages": [], "handoff": True, "cursor": held_data["cursor"]}

    csrf = await login(client, "rina")
    queue = await (await client.get("/console/")).text()
    assert "2 menunggu" in queue and "halo, ada orang?" in queue
    conv_id = await _conv_id(app, "pemustaka-1")

    claimed = await client.post(f"/console/c/{conv_id}/claim", data={"_csrf": csrf}, allow_redirects=False)
    assert claimed.status == 303
    assert await _state(app, "pemustaka-1") is ConversationState.AGENT
    page = await (await client.get(f"/console/c/{conv_id}")).text()
    # The whole history, the bot's earlier turns included.
    assert "mau bicara dengan petugas" in page and "antrean nomor 1" in page and "halo, ada orang?" in page
    assert "Balasan cepat" in page and "Salam pembuka" in page

    sent = await client.post(
        f"/console/c/{conv_id}/reply", data={"_csrf": csrf, "text": "Halo Kak, saya Rina. Ada yang bisa dibantu?"},
        allow_redirects=False,
    )
    assert sent.status == 303
    await client.post(f"/console/c/{conv_id}/note", data={"_csrf": csrf, "text": "pemustaka tanya denda"})

    # The web chat page polls and sees the librarian (not the internal note).
    updates = await (await client.get(f"/api/chat/updates?sender_id=pemustaka-1&after={cursor}", headers=API_HEADERS)).json()
    texts = [m["text"] for m in updates["messages"]]
    assert updates["handoff"] is True
    assert "Kakak sekarang terhubung dengan pustakawan Rina." in texts
    assert "Halo Kak, saya Rina. Ada yang bisa dibantu?" in texts
    assert not any("denda" in t for t in texts)
    transcript = await (await client.get(f"/console/c/{conv_id}/transcript")).text()
    assert "terkirim" in transcript and "pemustaka tanya denda" in transcript and "Catatan internal" in transcript

    resolved = await client.post(f"/console/c/{conv_id}/resolve", data={"_csrf": csrf}, allow_redirects=False)
    assert resolved.status == 303
    assert await _state(app, "pemustaka-1") is ConversationState.BOT
    after = await (await client.get(f"/api/chat/updates?sender_id=pemustaka-1&after={updates['cursor']}", headers=API_HEADERS)).json()
    assert after["handoff"] is False and "sudah selesai" in after["messages"][0]["text"]
    # Back to the bot: the engine answers again (the NLU is down here; the FAQ is sure of this one).
    back = await (await client.post("/api/chat", json={"sender_id": "pemustaka-1", "text": "jam buka perpustakaan?"}, headers=API_HEADERS)).json()
    assert back["handoff"] is False and "08.00" in back["messages"][0]["text"]

    async with app[sessions_key]() as session:
        actions = [a for a, in (await session.execute(select(AuditEntry.action))).all()]
        reply_audit = await session.scalar(select(AuditEntry).where(AuditEntry.action == "reply"))
    assert {"login", "claim", "reply", "note", "resolve"} <= set(actions)
    assert reply_audit is not None and reply_audit.conversation_id == conv_id and reply_audit.message_id


async def test_patron_can_cancel_and_complaints_are_handed_off(aiohttp_client, handoff_app) -> None:
    app = handoff_app()
    await aiohttp_client(app)
    reply = await patron_says(app, "p-cancel", "saya mau ngobrol sama pustakawan")
    assert reply.handoff
    cancelled = await patron_says(app, "p-cancel", "Batal!")
    assert not cancelled.handoff and "dibatalkan" in cancelled.messages[0].text
    assert await _state(app, "p-cancel") is ConversationState.BOT
    assert await app[handoff_key].position(await _conv_id(app, "p-cancel")) == 0

    complaint = await patron_says(app, "p-complain", "saya kecewa, bukunya rusak semua")
    assert complaint.handoff and "Mohon maaf" in complaint.messages[0].text
    assert await _state(app, "p-complain") is ConversationState.WAITING
    english = await patron_says(app, "p-en", "can i talk to a librarian please")
    assert "queue" in english.messages[-1].text
    back = await patron_says(app, "p-en", "back to bot")
    assert "cancelled" in back.messages[0].text


async def test_outside_staffed_hours_the_patron_is_told_the_next_working_day(
    aiohttp_client, handoff_app, tmp_path
) -> None:
    closed = tmp_path / "closed.yml"
    closed.write_text('jam: {senin: "08:00-08:01"}\nlibur: {}\n', encoding="utf-8")
    app = handoff_app(staff_schedule_file=closed)
    await aiohttp_client(app)
    reply = await patron_says(app, "p-night", "mau bicara dengan petugas")
    text = reply.messages[-1].text
    assert "di luar jam layanan" in text and "Senin" in text and "pukul 08.00" in text
    assert await _state(app, "p-night") is ConversationState.WAITING


async def test_patron_text_is_escaped_everywhere(aiohttp_client, handoff_app) -> None:
    app = handoff_app()
    client = await aiohttp_client(app)
    await make_staff(app, "rina", "Rina")
    await patron_says(app, "p-xss", "mau bicara dengan petugas")
    await patron_says(app, "p-xss", "<script>alert(1)</script>")
    await login(client, "rina")
    conv_id = await _conv_id(app, "p-xss")
    for url in ("/console/", f"/console/c/{conv_id}", f"/console/c/{conv_id}/transcript", "/console/queue"):
        html = await (await client.get(url)).text()
        assert "<script>alert(1)</script>" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url
    response = await client.get("/console/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


async def test_every_form_needs_the_csrf_token_and_our_origin(aiohttp_client, handoff_app) -> None:
    app = handoff_app()
    client = await aiohttp_client(app)
    await make_staff(app, "rina", "Rina")
    await patron_says(app, "p-csrf", "mau bicara dengan petugas")
    conv_id = await _conv_id(app, "p-csrf")

    no_token = await client.post("/console/login", data={"username": "rina", "password": PASSWORD})
    assert no_token.status == 403
    csrf = await login(client, "rina")
    for data in ({}, {"_csrf": "salah"}):
        response = await client.post(f"/console/c/{conv_id}/claim", data=data)
        assert response.status == 403
        assert "CSRF" in await response.text()
    foreign = await client.post(
        f"/console/c/{conv_id}/claim", data={"_csrf": csrf}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status == 403
    assert await _state(app, "p-csrf") is ConversationState.WAITING
    ok = await client.post(f"/console/c/{conv_id}/claim", data={"_csrf": csrf}, allow_redirects=False)
    assert ok.status == 303


async def test_two_agents_racing_to_claim_only_one_wins(aiohttp_client, handoff_app) -> None:
    app = handoff_app()
    client_a = await aiohttp_client(app)
    client_b = await aiohttp_client(client_a.server)  # same server, own cookie jar
    await make_staff(app, "rina", "Rina")
    await make_staff(app, "budi", "Budi")
    csrf_a = await login(client_a, "rina")
    csrf_b = await login(client_b, "budi")
    for round_ in range(5):
        sender = f"p-race-{round_}"
        await patron_says(app, sender, "mau bicara dengan petugas")
        conv_id = await _conv_id(app, sender)
        a, b = await asyncio.gather(
            client_a.post(f"/console/c/{conv_id}/claim", data={"_csrf": csrf_a}, allow_redirects=False),
            client_b.post(f"/console/c/{conv_id}/claim", data={"_csrf": csrf_b}, allow_redirects=False),
        )
        assert sorted([a.status, b.status]) == [303, 409], (a.status, b.status)
        loser = b if b.status == 409 else a
        assert "sudah diambil" in await loser.text()
        async with app[sessions_key]() as session:
            claims = list(await session.scalars(select(Claim).where(Claim.conversation_id == conv_id)))
            notices = list(await session.scalars(
                select(Message).where(Message.conversation_id == conv_id, Message.text.like("%terhubung%"))
            ))
        assert len(claims) == 1 and len(notices) == 1
    # The loser cannot reply or resolve either.
    winner_csrf, loser_client = (csrf_a, client_b) if a.status == 303 else (csrf_b, client_a)
    loser_csrf = csrf_b if loser_client is client_b else csrf_a
    refused = await loser_client.post(f"/console/c/{conv_id}/reply", data={"_csrf": loser_csrf, "text": "hai"})
    assert refused.status == 409 and "ditangani pustakawan lain" in await refused.text()
    assert winner_csrf


async def test_login_is_rate_limited_and_cookies_are_safe(aiohttp_client, handoff_app) -> None:
    app = handoff_app()
    client = await aiohttp_client(app)
    await make_staff(app, "rina", "Rina")
    page = await client.get("/console/login")
    assert "HttpOnly" in page.headers["Set-Cookie"] and "SameSite=Strict" in page.headers["Set-Cookie"]
    for _ in range(5):
        page = await client.get("/console/login")
        wrong = await client.post(
            "/console/login", data={"_csrf": csrf_of(await page.text()), "username": "rina", "password": "salah"}
        )
        assert wrong.status == 401 and "salah" in await wrong.text()
    page = await client.get("/console/login")
    blocked = await client.post(
        "/console/login", data={"_csrf": csrf_of(await page.text()), "username": "rina", "password": PASSWORD}
    )
    assert blocked.status == 429 and "Terlalu banyak percobaan" in await blocked.text()

    secure_app = handoff_app(console_cookie_secure="true")
    secure_client = await aiohttp_client(secure_app)
    page = await secure_client.get("/console/login")
    cookie = page.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/console/" in cookie


async def test_pages_need_a_login_and_the_audit_log_an_admin(aiohttp_client, handoff_app) -> None:
    app = handoff_app()
    client = await aiohttp_client(app)
    response = await client.get("/console/", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].endswith("/console/login")
    await make_staff(app, "rina", "Rina")
    await make_staff(app, "kepala", "Bu Kepala", role="admin")
    await login(client, "rina")
    assert (await client.get("/console/audit")).status == 403
    admin = await aiohttp_client(client.server)
    await login(admin, "kepala")
    audit_page = await admin.get("/console/audit")
    assert audit_page.status == 200 and "login" in await audit_page.text()


async def test_websocket_pushes_updates_and_checks_origin(aiohttp_client, handoff_app) -> None:
    app = handoff_app()
    client = await aiohttp_client(app)
    await make_staff(app, "rina", "Rina")
    with pytest.raises(WSServerHandshakeError):
        await client.ws_connect("/console/ws")  # not logged in
    await login(client, "rina")
    origin = f"http://{client.host}:{client.port}"
    with pytest.raises(WSServerHandshakeError):
        await client.ws_connect("/console/ws", headers={"Origin": "https://evil.example"})
    ws = await client.ws_connect("/console/ws", headers={"Origin": origin})
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    await patron_says(app, "p-ws", "mau bicara dengan petugas")
    event = await ws.receive_json(timeout=5)
    assert event["type"] == "queue" and event["conversation_id"] == await _conv_id(app, "p-ws")
    await patron_says(app, "p-ws", "halo?")
    assert (await ws.receive_json(timeout=5)) == {
        "type": "message", "conversation_id": event["conversation_id"], "author": "patron"
    }
    await ws.close()


async def test_restart_keeps_queue_claims_messages_and_sessions(aiohttp_client, handoff_app) -> None:
    app = handoff_app()
    client = await aiohttp_client(app)
    await make_staff(app, "rina", "Rina")
    await patron_says(app, "p-keep-1", "mau bicara dengan petugas")
    await patron_says(app, "p-keep-2", "mau bicara dengan petugas")
    await patron_says(app, "p-keep-2", "pesan kedua")
    csrf = await login(client, "rina")
    conv_1 = await _conv_id(app, "p-keep-1")
    await client.post(f"/console/c/{conv_1}/claim", data={"_csrf": csrf})
    await client.post(f"/console/c/{conv_1}/reply", data={"_csrf": csrf, "text": "balasan sebelum restart"})
    cookies = {c.key: c.value for c in client.session.cookie_jar}
    before = await (await client.get("/console/queue")).text()
    await client.close()

    app2 = handoff_app()
    client2 = await aiohttp_client(app2, cookies=cookies)
    after = await (await client2.get("/console/queue")).text()  # same session, no new login
    assert "ditangani <strong>Rina</strong>" in after and "1 menunggu" in after
    assert "pesan kedua" in after and before.count("<li") == after.count("<li")
    page = await (await client2.get(f"/console/c/{conv_1}")).text()
    assert "balasan sebelum restart" in page and "Selesai" in page
    assert await app2[handoff_key].position(await _conv_id(app2, "p-keep-2")) == 1
    held = await patron_says(app2, "p-keep-2", "masih menunggu")
    assert held.handoff and held.messages == []


async def test_staff_can_take_over_a_bot_conversation(aiohttp_client, handoff_app) -> None:
    app = handoff_app()
    client = await aiohttp_client(app)
    await make_staff(app, "rina", "Rina")
    await patron_says(app, "p-live", "ada buku laskar pelangi?")  # the bot (down here) answers
    assert await _state(app, "p-live") is ConversationState.BOT
    csrf = await login(client, "rina")
    queue = await (await client.get("/console/")).text()
    assert "Sedang dilayani bot" in queue and "ada buku laskar pelangi?" in queue
    conv_id = await _conv_id(app, "p-live")
    page = await (await client.get(f"/console/c/{conv_id}")).text()
    assert "Ambil alih dari bot" in page
    taken = await client.post(f"/console/c/{conv_id}/claim", data={"_csrf": csrf}, allow_redirects=False)
    assert taken.status == 303
    assert await _state(app, "p-live") is ConversationState.AGENT
    held = await patron_says(app, "p-live", "oh halo")
    assert held.handoff and held.messages == []
    async with app[sessions_key]() as session:
        assert await session.scalar(select(AuditEntry.action).where(AuditEntry.action == "takeover")) == "takeover"


async def test_disabling_an_account_ends_its_session(aiohttp_client, handoff_app) -> None:
    from bot.staff import set_active

    app = handoff_app()
    client = await aiohttp_client(app)
    await make_staff(app, "rina", "Rina")
    await login(client, "rina")
    async with app[sessions_key].begin() as session:
        await set_active(session, "rina", False)
    response = await client.get("/console/", allow_redirects=False)
    assert response.status == 303
    page = await client.get("/console/login")
    denied = await client.post(
        "/console/login", data={"_csrf": csrf_of(await page.text()), "username": "rina", "password": PASSWORD}
    )
    assert denied.status == 401


async def test_while_waiting_the_knowledge_still_answers_and_the_request_stands(
    aiohttp_client, handoff_app, tmp_path
) -> None:
    """Issue 14 item 6: outside staffed hours a waiting patron's FAQ question is answered, with
    a line that the request for a librarian stands; small talk goes to the librarian only; a
    natural cancellation takes the patron back to the bot."""
    closed = tmp_path / "closed.yml"
    closed.write_text('jam: {senin: "08:00-08:01"}\nlibur: {}\n', encoding="utf-8")
    app = handoff_app(staff_schedule_file=closed)
    await aiohttp_client(app)
    assert (await patron_says(app, "p-wait", "mau bicara dengan petugas")).handoff
    answer = await patron_says(app, "p-wait", "jam buka perpustakaan hari sabtu?")
    texts = [m.text for m in answer.messages]
    assert answer.handoff and any("Sabtu" in t and "08.00" in t for t in texts), texts
    assert "tetap tercatat" in texts[-1]
    assert await _state(app, "p-wait") is ConversationState.WAITING
    chat = await patron_says(app, "p-wait", "halo kak")
    assert chat.handoff and chat.messages == []
    cancelled = await patron_says(app, "p-wait", "gak jadi deh kak, balik ke bot aja")
    assert not cancelled.handoff and "dibatalkan" in cancelled.messages[0].text
    assert await _state(app, "p-wait") is ConversationState.BOT
    async with app[sessions_key]() as session:
        conv_id = await _conv_id(app, "p-wait")
        rows = (await session.scalars(select(Message).where(Message.conversation_id == conv_id).order_by(Message.id))).all()
    # Every patron message and every reply is in the transcript once.
    assert [r.direction for r in rows].count("in") == 4
    assert sum("tetap tercatat" in (r.text or "") for r in rows) == 1
