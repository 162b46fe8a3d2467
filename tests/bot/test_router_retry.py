"""A turn retried after a crash (transcript written, inbox not yet marked done) is written once."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import create_app
from bot.keys import router_key, sessions_key
from bot.messages import Incoming
from bot.models import Message
from bot.router import AnswerDeferred
from bot.settings import Settings


async def _rows(app) -> list[tuple[str, str]]:  # noqa: ANN001
    async with app[sessions_key]() as session:
        return [(m.direction, m.text) for m in await session.scalars(select(Message).order_by(Message.id))]


async def test_a_retried_turn_writes_its_transcript_once_and_sends_the_same_reply(
    aiohttp_client, gateway_settings: Settings
) -> None:
    app = create_app(gateway_settings)
    await aiohttp_client(app)
    router = app[router_key]
    msg = Incoming(channel="telegram", conversation_id="77", text="jam buka perpustakaan?", platform_message_id="9001")
    first = await router.handle(msg, defer=True)  # the NLU is down; the FAQ is sure of this one
    after_first = await _rows(app)
    again = await router.handle(msg, defer=True)  # the gateway died before marking it done
    assert [m.text for m in again.messages] == [m.text for m in first.messages] and "08.00" in first.messages[0].text
    assert await _rows(app) == after_first
    assert [d for d, _ in after_first] == ["in", "out"]


async def test_a_deferred_turn_records_the_patron_message_once(aiohttp_client, gateway_settings: Settings) -> None:
    app = create_app(gateway_settings)
    await aiohttp_client(app)
    router = app[router_key]
    msg = Incoming(channel="telegram", conversation_id="78", text="qwerty zxcv", platform_message_id="9002")
    for _ in range(3):  # the NLU is down and nothing in the knowledge is sure: it waits, each try
        try:
            await router.handle(msg, defer=True)
        except AnswerDeferred:
            pass
        else:
            raise AssertionError("an unanswerable message was answered")
    assert await _rows(app) == [("in", "qwerty zxcv")]
