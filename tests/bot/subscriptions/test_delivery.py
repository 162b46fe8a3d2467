"""Announcements, reminders and digests reach subscribers through the outbox and the fake
platforms: pacing, the 24-hour window, opt-outs, a Telegram 403, and never twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot import announcements
from bot.app import create_app
from bot.channel_models import OutboxItem
from bot.keys import knowledge_key, outbox_key, scheduler_key, sessions_key
from bot.scheduler import Scheduler
from bot.subscription_models import SCHEDULED, Announcement, Delivery, Reminder
from knowledge.models import Event, Record
from tests.bot.subscriptions.conftest import active_topics, eventually, say, texts

ZONE = ZoneInfo("Asia/Jakarta")


async def _announce(app, topic: str, text: str, *, at: datetime, link: str | None = None) -> int:  # noqa: ANN001
    async with app[sessions_key].begin() as session:
        row = Announcement(topic=topic, text=text, status=SCHEDULED, send_at=at, link_title="Daftar" if link else None,
                           link_url=link)
        session.add(row)
        await session.flush()
        return row.id


async def _sent_count(app) -> int:  # noqa: ANN001
    async with app[sessions_key]() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxItem).where(OutboxItem.status == "sent")))


async def test_announcement_report_window_opt_out_and_blocked(aiohttp_client, subs_settings, fake_telegram, fake_graph) -> None:
    app = create_app(subs_settings)
    await aiohttp_client(app)
    now = datetime.now(UTC)
    chats = ["5100001", "5100002", "5100003"]
    for chat in chats:
        await say(app, chat, "langganan info acara anak")
    await say(app, "5100004", "langganan info acara")  # the broader topic receives it too
    await say(app, "5100005", "langganan info acara anak")
    await say(app, "5100005", "berhenti")  # opted out before the announcement
    await say(app, "5100006", "langganan pengumuman")  # another topic: not a recipient
    # Messenger: one patron wrote two days ago (outside the 24-hour window), one an hour ago.
    await say(app, "PSID-OLD", "langganan info acara", channel="messenger", when=now - timedelta(days=2))
    await say(app, "PSID-NEW", "langganan info acara", channel="messenger", when=now - timedelta(hours=1))
    fake_telegram.fail_next("sendMessage", 403)  # the first Telegram recipient has blocked the bot

    announcement = await _announce(app, "acara_anak", "Dongeng Anak Sabtu 09.00 di Ruang Anak. Gratis!", at=now,
                                   link="https://perpustakaan.example.id/daftar")
    queued = await app[scheduler_key].tick(now + timedelta(seconds=1))
    assert queued["announcements"] == 8 - 1  # every recipient recorded once (5100006 is not one)

    async def settled() -> announcements.Report | None:
        result = await announcements.report(app[sessions_key], announcement)
        return result if result.counts["pending"] == 0 else None

    result = await eventually(settled)
    assert dict(result.counts) == {"sent": 4, "blocked": 1, "skipped": 1, "opted_out": 1}
    skipped = next(r for r in result.rows if r["status"] == "skipped")
    assert skipped["channel"] == "messenger" and "24 jam" in skipped["reason"]
    telegram_texts = [m["text"] for m in fake_telegram.sent]
    assert len(telegram_texts) == 3 and all("Dongeng Anak" in t and "berhenti" in t for t in telegram_texts)
    # The link is a URL button under the text (inline keyboard), not a line of the text.
    link = {"text": "Daftar", "url": "https://perpustakaan.example.id/daftar"}
    assert all(m["reply_markup"] == {"inline_keyboard": [[link]]} for m in fake_telegram.sent)
    assert not any("https://" in t for t in telegram_texts)
    assert [m["recipient"]["id"] for m in fake_graph.sent if "Dongeng" in str(m)] == ["PSID-NEW"]
    (template,) = [m["message"]["attachment"]["payload"] for m in fake_graph.sent if "Dongeng" in str(m)]
    assert template["template_type"] == "button" and "Dongeng Anak" in template["text"]
    assert template["buttons"] == [{"type": "web_url", "url": link["url"], "title": "Daftar"}]
    # The 403: that patron's subscriptions ended, and the next announcement counts them as blocked.
    blocked_chat = str(fake_telegram.calls_of("sendMessage")[0]["chat_id"])
    assert await active_topics(app, blocked_chat) == []
    second = await _announce(app, "acara_anak", "Mewarnai bersama, Minggu pagi.", at=now)
    await app[scheduler_key].tick(now + timedelta(seconds=2))
    again = await eventually(lambda: _settled(app, second))
    assert again.counts["blocked"] == 1 and again.counts["sent"] == 4  # 2 children's + 1 all-events on Telegram, PSID-NEW


def test_a_delivery_being_sent_is_pending_in_the_report() -> None:
    # The outbox marks a row "sending" right before the platform call (issue 15): not a failure.
    queued = Delivery(key="announcement:1:1", kind="announcement", conversation_id=1, status="queued")
    assert announcements.delivery_column(queued, OutboxItem(status="sending")) == "pending"
    assert announcements.delivery_column(queued, OutboxItem(status="pending")) == "pending"
    assert announcements.delivery_column(queued, OutboxItem(status="sent")) == "sent"
    assert announcements.delivery_column(queued, OutboxItem(status="failed")) == "failed"


async def _settled(app, announcement_id: int) -> announcements.Report | None:  # noqa: ANN001
    result = await announcements.report(app[sessions_key], announcement_id)
    return result if result.total and result.counts["pending"] == 0 else None


async def test_scheduler_running_twice_and_after_a_restart_sends_once(aiohttp_client, subs_settings, fake_telegram) -> None:
    app = create_app(subs_settings)
    await aiohttp_client(app)
    now = datetime.now(UTC)
    for i in range(5):
        await say(app, f"52000{i}", "langganan pengumuman")
    announcement = await _announce(app, "pengumuman", "Perpustakaan tutup Senin, 7 Desember.", at=now)
    # Two schedulers (two replicas, or a tick overlapping the next) at the same moment.
    other = Scheduler(app[sessions_key], app[outbox_key], app[knowledge_key], zone=ZONE)
    first, second = await asyncio.gather(app[scheduler_key].tick(now), other.tick(now))
    assert first["announcements"] + second["announcements"] == 5
    await fake_telegram.wait_for_sent(5)
    # A restart: a new gateway on the same database ticks again.
    restarted = create_app(subs_settings)
    await aiohttp_client(restarted)
    assert (await restarted[scheduler_key].tick(now + timedelta(minutes=1)))["announcements"] == 0
    await eventually(lambda: _settled(app, announcement))
    assert len(fake_telegram.sent) == 5
    assert sorted(m["chat_id"] for m in fake_telegram.sent) == [520000, 520001, 520002, 520003, 520004]


async def test_telegram_bulk_pacing_reuses_the_outbox_rates(aiohttp_client, subs_settings, fake_telegram) -> None:
    from tests.bot.handoff.conftest import derive

    app = create_app(derive(subs_settings, telegram_rate=10.0))
    await aiohttp_client(app)
    now = datetime.now(UTC)
    for i in range(12):
        await say(app, f"53000{i:02d}", "langganan pengumuman")
    await _announce(app, "pengumuman", "Jam layanan diperpanjang selama libur sekolah.", at=now)
    await app[scheduler_key].tick(now)
    await fake_telegram.wait_for_sent(12, timeout=20)
    span = fake_telegram.sent_at[-1] - fake_telegram.sent_at[0]
    assert span >= 11 / 10 * 0.9  # 12 messages at 10/s for the bot: at least ~1.1 s apart end to end


async def _event(app, title: str, starts: datetime) -> int:  # noqa: ANN001
    kb = app[knowledge_key]

    def add() -> int:
        with kb.sessions.begin() as session:
            event = Event(source="test", source_id=title, title=title, location="Ruang Anak",
                          starts_at=starts.astimezone(UTC))
            session.add(event)
            session.flush()
            return event.id

    # Off the event loop, as the gateway's own knowledge writes are: a blocking SQLite write on the
    # loop would wait for a transaction (the retention job's first run) that needs the loop to end.
    return await asyncio.to_thread(add)


async def test_reminder_the_day_before_with_an_injected_clock(aiohttp_client, subs_settings, fake_telegram) -> None:
    app = create_app(subs_settings)
    await aiohttp_client(app)
    today = datetime.now(ZONE).date()
    starts = datetime.combine(today + timedelta(days=3), datetime.min.time(), ZONE).replace(hour=9)
    event_id = await _event(app, "Dongeng Pagi Bersama Kak Rina", starts)
    # The events list offers "Ingatkan saya" on each event (a tapped "Acara" button, NLU down).
    listing = await say(app, "5400001", payload="/ask_events")
    buttons = [b for m in listing.messages for b in m.buttons]
    remind = next(b for b in buttons if b.payload == f'/remind_event{{"event_id":{event_id}}}')
    assert remind.title.startswith("\u23f0 Ingatkan: Dongeng Pagi")
    reply = await say(app, "5400001", remind.title, payload=remind.payload)
    assert "akan mengingatkan" in texts(reply) and "18.00" in texts(reply)
    again = await say(app, "5400001", remind.title, payload=remind.payload)
    assert "sudah terpasang" in texts(again)
    due = datetime.combine(starts.date() - timedelta(days=1), datetime.min.time(), ZONE).replace(hour=18)
    scheduler = app[scheduler_key]
    assert (await scheduler.tick(due - timedelta(minutes=1)))["reminders"] == 0
    assert (await scheduler.tick(due))["reminders"] == 1
    assert (await scheduler.tick(due + timedelta(minutes=5)))["reminders"] == 0
    sent = await fake_telegram.wait_for_sent(1)
    assert "Pengingat" in sent[0]["text"] and "Dongeng Pagi Bersama Kak Rina" in sent[0]["text"]
    assert "09.00" in sent[0]["text"] and "Ruang Anak" in sent[0]["text"]
    async with app[sessions_key]() as session:
        assert (await session.scalar(select(Reminder.status))) == "queued"
        assert await session.scalar(select(func.count()).select_from(Delivery).where(Delivery.kind == "reminder")) == 1
    await eventually(lambda: _sent_count(app))
    assert len(fake_telegram.sent) == 1


async def test_reminder_too_late_and_unknown_event(aiohttp_client, subs_settings) -> None:
    app = create_app(subs_settings)
    await aiohttp_client(app)
    soon = datetime.now(UTC) + timedelta(minutes=30)
    event_id = await _event(app, "Kelas Menulis", soon)
    reply = await say(app, "5400002", payload=f'/remind_event{{"event_id":{event_id}}}')
    assert "sebentar lagi dimulai" in texts(reply)
    reply = await say(app, "5400002", payload='/remind_event{"event_id":999999}')
    assert "tidak ditemukan" in texts(reply)


async def test_weekly_digest_of_new_arrivals_matches_topics(aiohttp_client, subs_settings, fake_telegram) -> None:
    app = create_app(subs_settings)
    await aiohttp_client(app)
    scheduler = app[scheduler_key]
    monday = datetime.now(ZONE).date() + timedelta(days=7 - datetime.now(ZONE).weekday())
    at = datetime.combine(monday, datetime.min.time(), ZONE).replace(hour=9)
    await scheduler.tick(at - timedelta(days=3))  # the first tick records where the catalog stands
    await say(app, "5500001", "langganan buku baru karya Tere Liye")
    await say(app, "5500002", "langganan buku anak")
    await say(app, "5500003", "langganan buku baru tentang astronomi")  # nothing new on it
    kb = app[knowledge_key]
    with kb.sessions.begin() as session:
        session.add_all([
            Record(source="sync", source_id="n1", title="Janji", authors=["Tere Liye"], subjects=["Fiksi"]),
            Record(source="sync", source_id="n2", title="Si Kancil dan Buaya", authors=["Anonim"],
                   subjects=["Cerita anak"]),
        ])
    assert (await scheduler.tick(at - timedelta(minutes=1)))["digests"] == 0  # not Monday 09:00 yet
    assert (await scheduler.tick(at))["digests"] == 2
    assert (await scheduler.tick(at + timedelta(hours=1)))["digests"] == 0  # once a week
    sent = await fake_telegram.wait_for_sent(2)
    by_chat = {m["chat_id"]: m["text"] for m in sent}
    assert "Janji" in by_chat[5500001] and "Kancil" not in by_chat[5500001]
    assert "Si Kancil dan Buaya" in by_chat[5500002] and "Janji" not in by_chat[5500002]
    assert 5500003 not in by_chat
    # Next week: nothing new, nothing sent.
    assert (await scheduler.tick(at + timedelta(days=7)))["digests"] == 0


async def test_messenger_reminder_after_24_hours_uses_the_confirmed_event_update_tag(
    aiohttp_client, subs_settings, fake_graph
) -> None:
    app = create_app(subs_settings)
    await aiohttp_client(app)
    starts = datetime.combine(datetime.now(ZONE).date() + timedelta(days=4), datetime.min.time(), ZONE).replace(hour=10)
    event_id = await _event(app, "Bedah Buku Laskar Pelangi", starts)
    payload = f'/remind_event{{"event_id":{event_id}}}'
    for psid, channel in (("PSID-R1", "messenger"), ("IGSID-R2", "instagram")):
        # The button tapped three days ago (the outbox judges the window by the real clock).
        reply = await say(app, psid, payload=payload, channel=channel, when=datetime.now(UTC) - timedelta(days=3))
        assert "akan mengingatkan" in texts(reply)
    due = datetime.combine(starts.date() - timedelta(days=1), datetime.min.time(), ZONE).replace(hour=18)
    assert (await app[scheduler_key].tick(due))["reminders"] == 2
    sent = await fake_graph.wait_for_sent(1)
    assert sent[0]["recipient"]["id"] == "PSID-R1"
    assert sent[0]["messaging_type"] == "MESSAGE_TAG" and sent[0]["tag"] == "CONFIRMED_EVENT_UPDATE"
    assert "Bedah Buku Laskar Pelangi" in sent[0]["message"]["text"]

    async def instagram_refused() -> str | None:
        async with app[sessions_key]() as session:
            return await session.scalar(select(OutboxItem.reason).where(OutboxItem.channel == "instagram",
                                                                        OutboxItem.status == "failed"))

    assert "24 jam" in await eventually(instagram_refused)  # Instagram has no such tag: refused with the reason
    assert len(fake_graph.sent) == 1


async def test_web_chat_event_list_offers_no_reminder(aiohttp_client, subs_settings) -> None:
    app = create_app(subs_settings)
    await aiohttp_client(app)
    starts = datetime.now(UTC) + timedelta(days=2)
    await _event(app, "Kelas Origami", starts)
    web = await say(app, "web-9", payload="/ask_events", channel="web")
    telegram = await say(app, "5600001", payload="/ask_events")
    assert "Kelas Origami" in texts(web) and "Kelas Origami" in texts(telegram)
    assert not any(b.payload.startswith("/remind_event") for m in web.messages for b in m.buttons)
    assert any(b.payload.startswith("/remind_event") for m in telegram.messages for b in m.buttons)


async def test_on_postgresql_two_schedulers_at_once_queue_each_patron_once(
    subs_pg_settings, aiohttp_client, fake_telegram
) -> None:
    # (the settings, and so the database, first: the gateway stops before the database is dropped)
    app = create_app(subs_pg_settings)
    await aiohttp_client(app)
    now = datetime.now(UTC)
    for i in range(6):
        await say(app, f"57000{i}", "langganan pengumuman")
    announcement = await _announce(app, "pengumuman", "Layanan tutup pada hari libur nasional.", at=now)
    others = [Scheduler(app[sessions_key], app[outbox_key], app[knowledge_key], zone=ZONE) for _ in range(2)]
    results = await asyncio.gather(app[scheduler_key].tick(now), *(s.tick(now) for s in others))
    # (the app's own scheduler loop may have ticked too: the six patrons are queued once in all)
    assert sum(r["announcements"] for r in results) <= 6
    await fake_telegram.wait_for_sent(6)
    result = await eventually(lambda: _settled(app, announcement))
    assert result.counts["sent"] == 6 and len(fake_telegram.sent) == 6


async def test_stop_ends_the_scheduler_even_when_a_tick_swallows_the_cancellation() -> None:
    # Seen in the gateway's teardown: a tick cancelled while SQLAlchemy committed finished
    # normally, and the loop then waited a whole interval (an hour in the tests) for the next.
    ticking, swallowed = asyncio.Event(), asyncio.Event()
    scheduler = Scheduler(None, None, None, zone=ZONE, interval=3600)  # type: ignore[arg-type]

    async def tick(now: datetime | None = None) -> dict[str, int]:
        ticking.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:  # what a library may do with a cancellation mid-commit
            swallowed.set()
        return {}

    scheduler.tick = tick  # type: ignore[method-assign]
    scheduler.start()
    await asyncio.wait_for(ticking.wait(), 5)
    await asyncio.wait_for(scheduler.stop(), 5)
    assert swallowed.is_set()
