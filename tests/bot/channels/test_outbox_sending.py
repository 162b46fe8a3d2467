"""The outbox's "sending" mark: committed before the platform call, recovered after a crash.

The real gateway (in-process) and the real PTB client against the fake Bot API, which can hold
a ``sendMessage`` request unanswered (the moment a crash would hit). The crash itself, with real
processes, is in tests/test_kill_processes.py.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bot.app import create_app
from bot.channel_models import OutboxItem
from bot.keys import outbox_key, sessions_key
from bot.messages import Outgoing
from bot.models import Conversation, utcnow
from bot.outbox import LEASE_MARGIN, aware
from bot.render import outgoing_to_json
from tests.bot.channels.conftest import TOKEN, channel_settings
from tests.fakes import FakeTelegram

CHAT = 5123400001


def _row(settings, item_id: int) -> OutboxItem:  # noqa: ANN001
    """The outbox row as another process would read it: a new connection, committed data only."""
    engine = create_engine(settings.effective_database_url)
    try:
        with Session(engine) as session:
            row = session.get(OutboxItem, item_id)
            assert row is not None
            session.expunge(row)
            return row
    finally:
        engine.dispose()


async def _until(condition, timeout: float = 15.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def _conversation(app, external_id: str = str(CHAT)) -> int:  # noqa: ANN001
    async with app[sessions_key].begin() as session:
        conv = Conversation(channel="telegram", external_id=external_id)
        session.add(conv)
        await session.flush()
        return conv.id


async def test_the_row_is_committed_as_sending_before_the_call_and_sent_with_the_platform_id(
    tmp_path: Path, dead_port: int, aiohttp_client, fake_telegram: FakeTelegram
) -> None:
    settings = channel_settings(
        tmp_path, dead_port, telegram_token=TOKEN, telegram_api_base_url=fake_telegram.base_url,
        telegram_mode="webhook", telegram_webhook_secret="s",
    )
    app = create_app(settings)
    await aiohttp_client(app)
    conv_id = await _conversation(app)
    fake_telegram.hold()
    before = utcnow()
    item_id = await app[outbox_key].enqueue(conv_id, Outgoing(text="Halo Kak, ini jawabannya."), transcript_id=41)
    await fake_telegram.wait_for_held(1)
    # The platform has the request and has not answered: the mark is already committed.
    row = _row(settings, item_id)
    assert row.status == "sending"
    assert row.attempts == 1
    assert row.sending_at is not None and aware(row.sending_at) >= before
    assert row.platform_ids is None
    assert await app[outbox_key].statuses([41]) == {41: "pending"}  # the console shows it as pending
    fake_telegram.release()
    sent = await fake_telegram.wait_for_sent(1)
    await _until(lambda: _row(settings, item_id).status == "sent")
    row = _row(settings, item_id)
    assert row.attempts == 1
    # The fake numbers its messages from 1000: the id it answered is the one recorded.
    assert row.platform_ids == ["1000"]
    assert sent[0]["text"] == "Halo Kak, ini jawabannya."


async def test_a_failed_call_goes_back_to_pending_and_is_retried(
    tmp_path: Path, dead_port: int, aiohttp_client, fake_telegram: FakeTelegram
) -> None:
    settings = channel_settings(
        tmp_path, dead_port, telegram_token=TOKEN, telegram_api_base_url=fake_telegram.base_url,
        telegram_mode="webhook", telegram_webhook_secret="s",
    )
    app = create_app(settings)
    await aiohttp_client(app)
    conv_id = await _conversation(app)
    fake_telegram.hold()
    item_id = await app[outbox_key].enqueue(conv_id, Outgoing(text="Coba lagi ya"))
    await fake_telegram.wait_for_held(1)
    fake_telegram.release(deliver=False)  # answered 500: nothing was sent
    await _until(lambda: _row(settings, item_id).status == "pending")
    row = _row(settings, item_id)
    assert row.attempts == 1 and row.reason and "Telegram" in row.reason
    fake_telegram.resume()
    await fake_telegram.wait_for_sent(1, timeout=15)
    await _until(lambda: _row(settings, item_id).status == "sent")
    assert _row(settings, item_id).attempts == 2
    assert [s["text"] for s in fake_telegram.sent] == ["Coba lagi ya"]


async def test_rows_left_sending_by_a_dead_gateway_are_sent_once_their_lease_ran_out(
    tmp_path: Path, dead_port: int, aiohttp_client, fake_telegram: FakeTelegram
) -> None:
    settings = channel_settings(
        tmp_path, dead_port, telegram_token=TOKEN, telegram_api_base_url=fake_telegram.base_url,
        telegram_mode="webhook", telegram_webhook_secret="s", outbox_send_timeout=1.0,
    )
    lease = 1.0 + LEASE_MARGIN
    # What a crash leaves: one row interrupted long ago, one whose call started just now (as
    # far as this gateway can tell, still running on another replica), one recorded as sent.
    engine = create_engine(settings.effective_database_url)
    now = utcnow()
    with Session(engine) as session, session.begin():
        convs = [Conversation(channel="telegram", external_id=str(CHAT + i)) for i in range(3)]
        session.add_all(convs)
        session.flush()

        def item(conv: Conversation, text: str, **values) -> OutboxItem:  # noqa: ANN003
            return OutboxItem(
                conversation_id=conv.id, channel="telegram", external_id=conv.external_id, author="bot",
                message=outgoing_to_json(Outgoing(text=text)), attempts=1, parts_sent=0,
                next_attempt_at=now - timedelta(minutes=1), created_at=now - timedelta(minutes=1), **values,
            )

        old = item(convs[0], "terputus lama", status="sending", sending_at=now - timedelta(seconds=lease + 5))
        fresh = item(convs[1], "baru saja", status="sending", sending_at=now)
        done = item(convs[2], "sudah terkirim", status="sent", sent_at=now, platform_ids=["77"])
        later = item(convs[0], "berikutnya", status="pending")  # waits behind the interrupted row
        session.add_all([old, fresh, done])
        session.flush()
        session.add(later)
        session.flush()
        ids = {"old": old.id, "fresh": fresh.id, "done": done.id, "later": later.id}
    engine.dispose()

    app = create_app(settings)
    await aiohttp_client(app)
    sent = await fake_telegram.wait_for_sent(2, timeout=15)
    assert [s["text"] for s in sent] == ["terputus lama", "berikutnya"]
    sent = await fake_telegram.wait_for_sent(3, timeout=lease + 15)
    assert sent[2]["text"] == "baru saja"
    await _until(lambda: _row(settings, ids["fresh"]).status == "sent")
    await _until(lambda: _row(settings, ids["later"]).status == "sent")
    # Not before its lease ran out (its call could still have been running elsewhere).
    fresh_row = _row(settings, ids["fresh"])
    assert fresh_row.status == "sent" and fresh_row.attempts == 2
    assert aware(fresh_row.sent_at) >= now + timedelta(seconds=lease)
    old_row = _row(settings, ids["old"])
    assert old_row.status == "sent" and old_row.attempts == 2 and old_row.platform_ids
    # The row whose platform answer was recorded is never sent again.
    assert "sudah terkirim" not in [s["text"] for s in fake_telegram.sent]
    assert _row(settings, ids["done"]).platform_ids == ["77"]
    assert len(fake_telegram.sent) == 3
