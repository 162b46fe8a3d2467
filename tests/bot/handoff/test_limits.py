"""Rate limits of the web chat, the cap on new handoffs, and console websockets ending with the session."""

from __future__ import annotations

import asyncio

from aiohttp import CookieJar, DummyCookieJar, WSMsgType
from sqlalchemy import func, select

from bot.handoff_models import Handoff
from bot.keys import sessions_key
from bot.staff import set_active
from tests.bot.handoff.conftest import login, make_staff
from tests.conftest import API_HEADERS


async def test_a_flood_from_one_address_gets_429_with_retry_after(aiohttp_client, handoff_app) -> None:
    app = handoff_app(chat_rate_per_address=8, chat_rate_per_conversation=5)
    patron = await aiohttp_client(app, cookie_jar=CookieJar(unsafe=True))
    statuses = [(await patron.post("/api/chat", json={"text": f"halo {i}"})).status for i in range(5)]
    assert statuses == [200] * 5
    limited = await patron.post("/api/chat", json={"text": "halo lagi"})  # 6th in this conversation
    assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1
    assert (await limited.json())["error"]["code"] == "rate_limited"
    # New conversations from the same address: the per-address limit (8 per minute) stops them too.
    fresh = await aiohttp_client(app, cookie_jar=DummyCookieJar())  # keeps no cookie: a new one each time
    others = await asyncio.gather(*(fresh.post("/api/chat", json={"text": "halo"}) for _ in range(6)))
    assert sorted(r.status for r in others) == [200, 200, 429, 429, 429, 429]
    # A server-side integration with its API key is not limited.
    trusted = [
        (await patron.post("/api/chat", json={"sender_id": "site", "text": "halo"}, headers=API_HEADERS)).status
        for _ in range(6)
    ]
    assert trusted == [200] * 6


async def test_new_handoffs_per_address_are_capped(aiohttp_client, handoff_app) -> None:
    app = handoff_app(chat_handoffs_per_address=2)
    client = await aiohttp_client(app, cookie_jar=DummyCookieJar())
    answers = []
    for _ in range(4):  # four fresh conversations from one address, each asking for a person
        response = await client.post("/api/chat", json={"text": "mau bicara dengan petugas"})
        assert response.status == 200
        answers.append(await response.json())
    assert [a["handoff"] for a in answers] == [True, True, False, False]
    assert "terlalu banyak permintaan" in answers[2]["messages"][0]["text"]
    async with app[sessions_key]() as session:
        waiting = await session.scalar(select(func.count(Handoff.id)).where(Handoff.status == "waiting"))
    assert waiting == 2  # the librarians' queue holds only the allowed ones


async def test_console_websocket_closes_on_logout_and_when_the_account_is_disabled(aiohttp_client, handoff_app) -> None:
    app = handoff_app(console_session_check_seconds=0.2)
    client = await aiohttp_client(app)
    await make_staff(app, "rina", "Rina")
    csrf = await login(client, "rina")
    origin = f"http://{client.host}:{client.port}"
    ws = await client.ws_connect("/console/ws", headers={"Origin": origin})
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    await client.post("/console/logout", data={"_csrf": csrf}, allow_redirects=False)
    closed = await ws.receive(timeout=5)
    assert closed.type == WSMsgType.CLOSE and closed.data == 4401

    await login(client, "rina")
    ws = await client.ws_connect("/console/ws", headers={"Origin": origin})
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    async with app[sessions_key].begin() as session:
        await set_active(session, "rina", False)  # what `pustakabot staff disable rina` does
    closed = await ws.receive(timeout=5)
    assert closed.type == WSMsgType.CLOSE and closed.data == 4401
