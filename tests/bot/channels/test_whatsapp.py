"""WhatsApp end to end with Rasa down: signed Cloud API webhooks in, messages out to the fake Cloud API."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import receipts
from bot.app import create_app
from bot.channel_models import FAILED, InboxItem, OutboxItem, Receipt
from bot.channels.whatsapp import template_message
from bot.keys import outbox_key, sessions_key, whatsapp_key
from bot.messages import Button, LinkButton, Outgoing
from bot.models import Conversation, ConversationState, Message, utcnow
from bot.render import render_whatsapp
from tests.bot.channels.conftest import WA_APP_SECRET, WA_VERIFY_TOKEN, whatsapp_settings
from tests.bot.handoff.conftest import ALWAYS_OPEN, csrf_of, login, make_staff
from tests.fakes import FakeWhatsApp
from tests.fakes.whatsapp import (
    MEDIA,
    button_reply,
    inbound,
    list_reply,
    post_signed,
    sign,
    status,
    text_message,
)

WA_ID = "6281234567890"
NOW = int(time.time())  # the 24-hour window counts from the messages' timestamps


async def _post(client, body) -> int:  # noqa: ANN001
    return await post_signed(client, body, WA_APP_SECRET)


async def _count(app, model) -> int:  # noqa: ANN001
    async with app[sessions_key]() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _conversation(app, wa_id: str = WA_ID) -> Conversation:  # noqa: ANN001
    async with app[sessions_key]() as session:
        conv = await session.scalar(
            select(Conversation).where(Conversation.channel == "whatsapp", Conversation.external_id == wa_id)
        )
    assert conv is not None
    return conv


async def _new_conversation(app, *, hours_ago: float, wa_id: str = WA_ID) -> int:  # noqa: ANN001
    async with app[sessions_key].begin() as session:
        conv = Conversation(channel="whatsapp", external_id=wa_id, last_inbound_at=utcnow() - timedelta(hours=hours_ago))
        session.add(conv)
        await session.flush()
        return conv.id


async def _settled(outbox, ids: list[int], timeout: float = 10.0) -> dict[int, str]:  # noqa: ANN001
    """Wait until no transcript id in ``ids`` is pending; returns their statuses."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        statuses = await outbox.statuses(ids)
        if len(statuses) == len(ids) and all(v != "pending" for v in statuses.values()):
            return statuses
        if loop.time() > deadline:
            raise TimeoutError(f"still pending: {statuses}")
        await asyncio.sleep(0.05)


async def _until(check, timeout: float = 10.0):  # noqa: ANN001, ANN202
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := await check()):
        if loop.time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.05)
    return result


@pytest.fixture
def wa_settings(tmp_path: Path, dead_port: int, fake_whatsapp: FakeWhatsApp):  # noqa: ANN201
    return whatsapp_settings(tmp_path, dead_port, fake_whatsapp)


async def test_verification_handshake(aiohttp_client, wa_settings) -> None:
    client = await aiohttp_client(create_app(wa_settings))
    ok = await client.get(
        "/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": WA_VERIFY_TOKEN, "hub.challenge": "1158201444"}
    )
    assert ok.status == 200 and await ok.text() == "1158201444"
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "salah", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": WA_VERIFY_TOKEN, "hub.challenge": "1"},
        {},
    ):
        assert (await client.get("/webhooks/whatsapp", params=params)).status == 403


async def test_channel_is_off_when_not_configured(aiohttp_client, tmp_path, dead_port, fake_whatsapp) -> None:
    settings = whatsapp_settings(tmp_path, dead_port, fake_whatsapp, whatsapp_token="")
    app = create_app(settings)
    client = await aiohttp_client(app)
    assert (await client.get("/webhooks/whatsapp")).status == 404
    assert whatsapp_key not in app


async def test_bad_signature_is_403_and_nothing_processed(aiohttp_client, wa_settings, fake_whatsapp) -> None:
    app = create_app(wa_settings)
    client = await aiohttp_client(app)
    body = text_message(WA_ID, "jam buka hari ini?")
    raw, headers = sign(body, "bukan-rahasia-aplikasi")
    assert (await client.post("/webhooks/whatsapp", data=raw, headers=headers)).status == 403
    raw, headers = sign(body, WA_APP_SECRET)
    assert (await client.post("/webhooks/whatsapp", data=raw.replace(b"buka", b"tutup"), headers=headers)).status == 403
    assert (await client.post("/webhooks/whatsapp", data=raw, headers={"Content-Type": "application/json"})).status == 403
    headers["X-Hub-Signature-256"] = headers["X-Hub-Signature-256"].removeprefix("sha256=")
    assert (await client.post("/webhooks/whatsapp", data=raw, headers=headers)).status == 403
    assert await _count(app, InboxItem) == 0 and fake_whatsapp.calls == []


async def test_text_is_answered_once_through_the_cloud_api(aiohttp_client, wa_settings, fake_whatsapp) -> None:
    app = create_app(wa_settings)
    client = await aiohttp_client(app)
    body = text_message(WA_ID, "Kapan perpustakaan tutup hari ini? äöå", wamid="wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFjNFQjBDMA==")
    assert await _post(client, body) == 200
    assert await _post(client, body) == 200  # WhatsApp retried the same wamid
    (reply,) = await fake_whatsapp.wait_for_sent(1)
    assert reply["messaging_product"] == "whatsapp" and reply["to"] == WA_ID
    assert reply["recipient_type"] == "individual" and reply["token"] == "WA-TOKEN"
    assert reply["type"] == "text" and "Sebentar ya" in reply["text"]["body"]  # the NLU is down: it waits
    assert await _count(app, InboxItem) == 1
    conv = await _conversation(app)
    assert conv.patron_name == "Siti Aminah" and conv.last_inbound_at is not None
    async with app[sessions_key]() as session:
        texts = list(await session.scalars(select(Message.text).where(Message.direction == "in")))
    assert texts == ["Kapan perpustakaan tutup hari ini? äöå"]
    # The bot's answer is recorded with the wamid the API returned (for later status reports).
    await _until(lambda: _count(app, Receipt))


async def test_button_and_list_replies_reach_the_router_as_payloads(aiohttp_client, wa_settings, fake_whatsapp) -> None:
    app = create_app(wa_settings)
    client = await aiohttp_client(app)
    assert await _post(client, button_reply(WA_ID, "/request_human", "Bicara dgn petugas", at=NOW + 1)) == 200
    assert await _post(client, list_reply(WA_ID, '/faq{"faq_id":"jam-buka"}', "Jam buka", "Senin-Sabtu", at=NOW + 2)) == 200
    rows = await _until(lambda: _rows(app))
    assert rows[0] == ("Bicara dgn petugas", {"payload": "/request_human"})
    assert rows[1] == ("Jam buka", {"payload": '/faq{"faq_id":"jam-buka"}'})


async def _rows(app):  # noqa: ANN001, ANN202
    async with app[sessions_key]() as session:
        rows = (
            await session.execute(
                select(Message.text, Message.payload).where(Message.direction == "in").order_by(Message.id)
            )
        ).all()
    return [tuple(r) for r in rows] if len(rows) >= 2 else None


async def test_media_gets_a_short_text_only_reply_and_reactions_none(aiohttp_client, wa_settings, fake_whatsapp) -> None:
    app = create_app(wa_settings)
    client = await aiohttp_client(app)
    reaction = inbound(WA_ID, {"type": "reaction", "reaction": {"message_id": "wamid.x", "emoji": "\U0001f44d"}})
    assert await _post(client, reaction) == 200
    # The captioned image last: its caption is answered as text (here, with the NLU down, the
    # patron is told to wait), and a conversation's later messages wait behind it.
    kinds = [k for k in MEDIA if k != "image"] + ["image"]
    for i, kind in enumerate(kinds):
        assert await _post(client, inbound(WA_ID, MEDIA[kind], at=NOW + i)) == 200
    sent = await fake_whatsapp.wait_for_sent(len(MEDIA))
    labels = ["stiker", "pesan suara", "video", "dokumen", "lokasi", "kontak"]
    for reply, label in zip(sent, labels, strict=False):
        assert reply["type"] == "text"
        assert reply["text"]["body"].startswith(f"Maaf Kak, saya belum bisa membuka {label}.")
        assert "hanya bisa membaca pesan teks" in reply["text"]["body"]  # the same reply as every channel's
    last = sent[-1]  # the caption's own reply: a text, or an interactive message when it offers choices
    body = (last.get("text") or {}).get("body") or ((last.get("interactive") or {}).get("body") or {}).get("text", "")
    assert body and "belum bisa membuka" not in body
    async with app[sessions_key]() as session:
        inbound_texts = list(await session.scalars(select(Message.text).where(Message.direction == "in").order_by(Message.id)))
    assert inbound_texts[0] == "[Stiker]" and inbound_texts[1] == "[Pesan suara]" and inbound_texts[3] == "[Dokumen]"
    assert inbound_texts[-1] == "ini sampulnya"
    assert len(inbound_texts) == len(MEDIA)  # the reaction was not a message
    assert (await _conversation(app)).last_inbound_at is not None  # media opens the 24-hour window


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[1, 2, 3]",
        json.dumps({"object": "whatsapp_business_account", "entry": "x"}).encode(),
        json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [1, {"value": None}]}]}).encode(),
        json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {
            "metadata": "odd", "contacts": [{"profile": "x", "wa_id": 5}], "messages": [{"from": 62, "id": None}, "x"],
            "statuses": [{"id": 5}, {"status": "read"}]}}]}]}).encode(),
        json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {
            "messages": [{"from": WA_ID, "id": "wamid.odd1", "type": "text", "text": "not an object", "timestamp": "soon"},
                         {"from": WA_ID, "id": "wamid.odd2", "type": "interactive", "interactive": {"type": "nfm_reply"}}],
        }}]}]}).encode(),
        json.dumps({"object": "page", "entry": []}).encode(),
    ],
)
async def test_odd_signed_bodies_are_acknowledged_and_skipped(aiohttp_client, wa_settings, fake_whatsapp, raw: bytes) -> None:
    app = create_app(wa_settings)
    client = await aiohttp_client(app)
    assert await _post(client, raw) == 200
    # Only the well-formed-enough interactive message (an unsupported kind) is answered politely.
    if b"wamid.odd2" in raw:
        (reply,) = await fake_whatsapp.wait_for_sent(1)
        assert "belum bisa membuka jenis pesan ini" in reply["text"]["body"]
    else:
        assert await _count(app, InboxItem) == 0


async def test_status_callbacks_update_the_outbox_row(aiohttp_client, wa_settings, fake_whatsapp) -> None:
    app = create_app(wa_settings)
    client = await aiohttp_client(app)
    outbox = app[outbox_key]
    conv_id = await _new_conversation(app, hours_ago=1)
    await outbox.enqueue(conv_id, Outgoing(text="Halo Kak, ini Rina."), author="agent", transcript_id=11)
    await outbox.enqueue(conv_id, Outgoing(text="Bukunya sudah kami siapkan."), author="agent", transcript_id=12)
    first, second = await fake_whatsapp.wait_for_sent(2)
    assert await _settled(outbox, [11, 12]) == {11: "sent", 12: "sent"}
    for state in ("sent", "delivered", "read"):
        assert await _post(client, status(first["wamid"], state, WA_ID)) == 200
    assert await _post(client, status(second["wamid"], "failed", WA_ID, error=131026)) == 200
    assert await _post(client, status(second["wamid"], "delivered", WA_ID)) == 200  # late, out of order
    statuses = await outbox.statuses([11, 12])
    assert statuses[11] == "sent"
    assert statuses[12].startswith("failed:Pesan tidak sampai: nomor ini tidak bisa menerima pesan WhatsApp")
    async with app[sessions_key]() as session:
        states = dict((await session.execute(select(Receipt.platform_id, Receipt.status))).tuples().all())
    assert states == {first["wamid"]: "read", second["wamid"]: "failed"}
    # A report on a message this gateway never sent is stored, harmlessly.
    assert await _post(client, status("wamid.unknown", "read", WA_ID)) == 200


async def test_a_failed_report_before_the_send_returned_still_fails_the_row(wa_settings) -> None:
    from bot.db_sessions import gateway_sessions
    from knowledge.db import make_async_engine

    engine = make_async_engine(wa_settings.effective_database_url)
    sessions = gateway_sessions(engine)
    try:
        async with sessions.begin() as session:
            conv = Conversation(channel="whatsapp", external_id=WA_ID, last_inbound_at=utcnow())
            session.add(conv)
            await session.flush()
            item = OutboxItem(conversation_id=conv.id, channel="whatsapp", external_id=WA_ID, message={"text": "x"}, status="sent")
            session.add(item)
            await session.flush()
            assert await receipts.apply_status(session, "whatsapp", "wamid.early", "failed", "ditolak") is None
            await receipts.record_sent(session, "whatsapp", item.id, ["wamid.early"])
            item_id = item.id
        async with sessions() as session:
            row = await session.get(OutboxItem, item_id)
            assert row is not None and row.status == FAILED and row.reason == "ditolak"
        async with sessions.begin() as session:  # the outbox sweeper forgets old receipts
            assert await receipts.expire(session, utcnow() - timedelta(days=30)) == 0
            assert await receipts.expire(session, utcnow() + timedelta(seconds=1)) == 1
    finally:
        await engine.dispose()


async def test_rate_limit_is_retried_and_permanent_errors_are_final(aiohttp_client, wa_settings, fake_whatsapp) -> None:
    app = create_app(wa_settings)
    await aiohttp_client(app)
    outbox = app[outbox_key]
    conv_id = await _new_conversation(app, hours_ago=1)
    fake_whatsapp.fail_next(130429)
    fake_whatsapp.fail_next(429, status=429)  # HTTP 429 with a throttling body
    await outbox.enqueue(conv_id, Outgoing(text="Halo"), author="agent", transcript_id=21)
    await fake_whatsapp.wait_for_sent(1, timeout=15)
    assert len(fake_whatsapp.calls) == 3
    assert (await _settled(outbox, [21]))[21] == "sent"
    fake_whatsapp.fail_next(131026)
    await outbox.enqueue(conv_id, Outgoing(text="Halo lagi"), author="agent", transcript_id=22)
    statuses = await _settled(outbox, [22])
    assert statuses[22].startswith("failed:Pesan tidak sampai")
    assert len(fake_whatsapp.calls) == 4  # not retried
    fake_whatsapp.fail_next(131047)
    await outbox.enqueue(conv_id, Outgoing(text="Halo ketiga"), author="agent", transcript_id=23)
    assert "24 jam" in (await _settled(outbox, [23]))[23]


async def test_buttons_lists_and_long_texts_fit_the_cloud_api(aiohttp_client, wa_settings, fake_whatsapp) -> None:
    app = create_app(wa_settings)
    await aiohttp_client(app)
    outbox = app[outbox_key]
    conv_id = await _new_conversation(app, hours_ago=1)
    three = tuple(Button(t, f"/pilih{i}") for i, t in enumerate(("Ya", "Tidak", "Bicara dgn petugas")))
    await outbox.enqueue(conv_id, Outgoing(text="Mau diperpanjang, Kak?", buttons=three))
    many = tuple(Button(f"Buku sejarah Indonesia jilid ke-{i}", f"/buku{i}") for i in range(12))
    long = "Koleksi anak ada di lantai dua, dekat ruang baca. " * 100
    await outbox.enqueue(conv_id, Outgoing(text=long, buttons=many))
    sent = await fake_whatsapp.wait_for_sent(4)
    assert sent[0]["type"] == "interactive" and sent[0]["interactive"]["type"] == "button"
    assert [b["reply"] for b in sent[0]["interactive"]["action"]["buttons"]] == [
        {"id": "/pilih0", "title": "Ya"}, {"id": "/pilih1", "title": "Tidak"}, {"id": "/pilih2", "title": "Bicara dgn petugas"}
    ]
    first_list, second_list = sent[2], sent[3]
    assert sent[1]["type"] == "text" and len(sent[1]["text"]["body"]) <= 4096
    assert sent[1]["text"]["body"].endswith("ruang baca.")  # cut on a sentence boundary
    body = sent[1]["text"]["body"] + " " + first_list["interactive"]["body"]["text"]
    assert body == long.strip()  # the rest of the text rides on the list
    rows = first_list["interactive"]["action"]["sections"][0]["rows"]
    assert len(rows) == 10 and rows[0]["id"] == "/buku0" and len(rows[0]["title"]) <= 24
    assert rows[0]["description"] == "Buku sejarah Indonesia jilid ke-0"
    assert second_list["interactive"]["body"]["text"] == "Pilihan lainnya:"
    assert [r["id"] for r in second_list["interactive"]["action"]["sections"][0]["rows"]] == ["/buku10", "/buku11"]


def test_render_whatsapp_limits() -> None:
    long_title = (Button("Perpanjang semua pinjaman saya", "/renew"),)
    (part,) = render_whatsapp(Outgoing(text="Pilih:", buttons=long_title))
    assert part["interactive"]["type"] == "list"  # a title over 20 characters: a list row keeps 24
    body = "Kalimat pendek di sini. " * 60  # 1,440 characters: over the 1,024 of a button body
    parts = render_whatsapp(Outgoing(text=body, buttons=(Button("Ya", "/ya"),)))
    assert parts[0]["type"] == "text" and len(parts[-1]["interactive"]["body"]["text"]) <= 1024
    (only,) = render_whatsapp(Outgoing(buttons=(Button("Ya", "/ya"), Button("Ya lagi", "/ya"))))
    assert only["interactive"]["body"]["text"] == "Silakan pilih:"
    assert len(only["interactive"]["action"]["buttons"]) == 1  # duplicate ids are refused by WhatsApp
    (_text, image) = render_whatsapp(Outgoing(text="Sampulnya:", image="https://example.id/sampul.jpg"))
    assert image == {"type": "image", "image": {"link": "https://example.id/sampul.jpg"}}
    (link,) = render_whatsapp(Outgoing(text="Katalog:", link_buttons=(LinkButton("OPAC", "https://opac.example.id"),)))
    assert link["interactive"]["type"] == "cta_url" and link["interactive"]["body"]["text"] == "Katalog:"


async def test_after_24_hours_staff_replies_go_as_the_template(aiohttp_client, tmp_path, dead_port, fake_whatsapp) -> None:
    settings = whatsapp_settings(
        tmp_path, dead_port, fake_whatsapp,
        whatsapp_template_staff_reply="balasan_pustakawan", whatsapp_template_language="id",
    )
    app = create_app(settings)
    await aiohttp_client(app)
    outbox = app[outbox_key]
    conv_id = await _new_conversation(app, hours_ago=30)
    assert await outbox.check_window(conv_id, author="agent") is None
    assert "24 jam" in (await outbox.check_window(conv_id, author="bot") or "")
    await outbox.enqueue(conv_id, Outgoing(text="otomatis"), author="bot", transcript_id=31)
    await outbox.enqueue(conv_id, Outgoing(text="Halo Kak,\nbukunya sudah ada.\tSilakan diambil."), author="agent", transcript_id=32)
    (sent,) = await fake_whatsapp.wait_for_sent(1)
    assert sent["type"] == "template"
    assert sent["template"] == {
        "name": "balasan_pustakawan",
        "language": {"code": "id"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Halo Kak, bukunya sudah ada. Silakan diambil."}]}],
    }
    statuses = await _settled(outbox, [31, 32])
    assert statuses[31].startswith("failed:Pesan otomatis tidak bisa dikirim: sudah lebih dari 24 jam")
    assert statuses[32] == "sent"
    # A template the operator mistyped: WhatsApp's 132001 is recorded with the template's name.
    fake_whatsapp.fail_next(132001)
    await outbox.enqueue(conv_id, Outgoing(text="Halo lagi"), author="agent", transcript_id=33)
    assert "Template WhatsApp balasan_pustakawan ditolak (kode 132001" in (await _settled(outbox, [33]))[33]


async def test_reminder_templates_go_out_any_time(aiohttp_client, wa_settings, fake_whatsapp) -> None:
    app = create_app(wa_settings)
    await aiohttp_client(app)
    outbox = app[outbox_key]
    conv_id = await _new_conversation(app, hours_ago=24 * 10)
    reminder = template_message("pengingat_jatuh_tempo", ["Siti", "Laskar Pelangi", "5 Desember 2026"], text="Pengingat")
    await outbox.enqueue(conv_id, reminder, author="system", transcript_id=41)
    (sent,) = await fake_whatsapp.wait_for_sent(1)
    assert sent["template"]["name"] == "pengingat_jatuh_tempo" and sent["template"]["language"] == {"code": "id"}
    params = sent["template"]["components"][0]["parameters"]
    assert [p["text"] for p in params] == ["Siti", "Laskar Pelangi", "5 Desember 2026"]
    assert (await _settled(outbox, [41]))[41] == "sent"
    wamid = await app[whatsapp_key].send_template(WA_ID, "pengumuman", ["Perpustakaan tutup 25 Desember"], language="id")
    assert wamid.startswith("wamid.") and fake_whatsapp.sent[-1]["template"]["name"] == "pengumuman"


async def test_patron_handed_to_librarian_and_back_and_no_template_after_24h(
    aiohttp_client, tmp_path, dead_port, fake_whatsapp
) -> None:
    schedule = tmp_path / "schedule.yml"
    schedule.write_text(ALWAYS_OPEN, encoding="utf-8")
    settings = whatsapp_settings(
        tmp_path, dead_port, fake_whatsapp, staff_schedule_file=schedule, console_cookie_secure="false"
    )
    app = create_app(settings)
    client = await aiohttp_client(app)
    await make_staff(app, "rina", "Rina")
    assert await _post(client, text_message(WA_ID, "mau bicara dengan petugas", at=NOW + 1)) == 200
    sent = await fake_whatsapp.wait_for_sent(2)
    assert "antrean nomor 1" in " ".join(m["text"]["body"] for m in sent)
    conv = await _conversation(app)
    assert conv.state is ConversationState.WAITING

    csrf = await login(client, "rina")
    queue = await (await client.get("/console/")).text()
    assert "WhatsApp" in queue and "Siti Aminah" in queue
    assert (await client.post(f"/console/c/{conv.id}/claim", data={"_csrf": csrf}, allow_redirects=False)).status == 303
    reply = await client.post(
        f"/console/c/{conv.id}/reply", data={"_csrf": csrf, "text": "Halo Kak Siti, saya Rina."}, allow_redirects=False
    )
    assert reply.status == 303
    await _until(lambda: _sent_with(fake_whatsapp, "Halo Kak Siti, saya Rina."))
    transcript = await _until(lambda: _transcript_with(client, conv.id, "terkirim"))
    assert "Halo Kak Siti, saya Rina." in transcript

    # A day and a half later, without a staff-reply template, the console refuses and says why.
    async with app[sessions_key].begin() as session:
        row = await session.get(Conversation, conv.id)
        assert row is not None
        row.last_inbound_at = utcnow() - timedelta(hours=36)
    page = await client.post(f"/console/c/{conv.id}/reply", data={"_csrf": csrf, "text": "Masih ada, Kak?"})
    assert page.status == 409
    text = await page.text()
    assert "lebih dari 24 jam" in text and "template balasan pustakawan belum diatur" in text

    # The patron writes again: the window is open again and the librarian hands back to the bot.
    assert await _post(client, text_message(WA_ID, "maaf baru balas", at=NOW + 500)) == 200
    await _until(lambda: _transcript_with(client, conv.id, "maaf baru balas"))
    csrf = csrf_of(await (await client.get(f"/console/c/{conv.id}")).text())
    assert (await client.post(f"/console/c/{conv.id}/resolve", data={"_csrf": csrf}, allow_redirects=False)).status == 303
    await _until(lambda: _sent_with(fake_whatsapp, "sudah selesai"))
    assert (await _conversation(app)).state is ConversationState.BOT


def _body(message: dict) -> str:
    """The text a patron reads: a text message's body, or an interactive message's (e.g. the
    "selesai" message with its rating list)."""
    return message.get("text", {}).get("body", "") or message.get("interactive", {}).get("body", {}).get("text", "")


async def _sent_with(fake: FakeWhatsApp, needle: str):  # noqa: ANN202
    return [m for m in fake.sent if needle in _body(m)] or None


async def _transcript_with(client, conv_id: int, needle: str):  # noqa: ANN001, ANN202
    text = await (await client.get(f"/console/c/{conv_id}/transcript")).text()
    return text if needle in text else None



async def test_patron_with_a_username_and_no_phone_number_is_answered_by_bsuid(aiohttp_client, wa_settings, fake_whatsapp) -> None:
    app = create_app(wa_settings)
    client = await aiohttp_client(app)
    bsuid = "ID.13491208655302741918"
    body = text_message(WA_ID, "halo, jam buka?", wamid="wamid.HBgNbsuid1")
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"] = [{"profile": {"name": "Budi", "username": "budi.baca"}, "user_id": bsuid}]
    del value["messages"][0]["from"]  # the phone number is withheld for username users
    assert await _post(client, body) == 200
    (reply,) = await fake_whatsapp.wait_for_sent(1)
    assert reply["recipient"] == bsuid and "to" not in reply
    conv = await _conversation(app, bsuid)
    assert conv.patron_name == "Budi"
