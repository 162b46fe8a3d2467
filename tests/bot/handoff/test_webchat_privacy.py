"""The web chat's identity is issued by the server: a guessed id reads and writes nothing."""

from __future__ import annotations

import re

from aiohttp import CookieJar
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.keys import sessions_key
from bot.models import Conversation, ConversationState
from tests.bot.handoff.conftest import csrf_of, login, make_staff
from tests.conftest import API_HEADERS

COOKIE = "pustakabot_chat"  # bot.channels.webchat.COOKIE


async def _new_client(aiohttp_client, app) -> TestClient:
    return await aiohttp_client(app, cookie_jar=CookieJar(unsafe=True))


async def test_the_server_issues_the_conversation_and_a_guessed_id_gets_nothing(aiohttp_client, handoff_app) -> None:
    app = handoff_app()
    patron = await _new_client(aiohttp_client, app)
    first = await patron.post("/api/chat", json={"text": "mau bicara dengan petugas"})
    assert first.status == 200, await first.text()
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/api/chat" in cookie
    assert (await first.json())["handoff"] is True
    conversation_id = cookie.split("=", 1)[1].split(".", 1)[0]
    async with app[sessions_key]() as session:
        conv = await session.scalar(select(Conversation).where(Conversation.external_id == conversation_id))
    assert conv is not None and conv.channel == "web" and conv.state is ConversationState.WAITING
    # The cookie keeps the conversation: a second message lands in the same one, no new cookie.
    second = await patron.post("/api/chat", json={"text": "halo, ada orang?"})
    assert second.status == 200 and "Set-Cookie" not in second.headers
    cursor = (await second.json())["cursor"]

    # A librarian answers.
    await make_staff(app, "rina", "Rina")
    staff = await _new_client(aiohttp_client, app)
    csrf = await login(staff, "rina")
    assert (await staff.post(f"/console/c/{conv.id}/claim", data={"_csrf": csrf}, allow_redirects=False)).status == 303
    page = await staff.get(f"/console/c/{conv.id}")
    html = await page.text()
    assert conversation_id not in html, "the console shows the whole conversation id"
    assert re.search(r"web:w\S{5}…", html)
    await staff.post(f"/console/c/{conv.id}/reply", data={"_csrf": csrf_of(html), "text": "Halo Kak, Rina di sini."})

    # The patron sees the reply through the cookie.
    updates = await (await patron.get(f"/api/chat/updates?after={cursor}")).json()
    assert [m["text"] for m in updates["messages"] if m["author"] == "agent"] == ["Halo Kak, Rina di sini."]

    # Someone who knows (or guesses) the id: refused as sender_id, a forged cookie is a new conversation.
    stranger = await _new_client(aiohttp_client, app)
    peek = await stranger.get(f"/api/chat/updates?sender_id={conversation_id}&after=0")
    assert peek.status == 401 and (await peek.json())["error"]["code"] == "api_key_required"
    write = await stranger.post("/api/chat", json={"sender_id": conversation_id, "text": "batal"})
    assert write.status == 401
    bad_key = await stranger.post(
        "/api/chat", json={"sender_id": conversation_id, "text": "batal"}, headers={"Authorization": "Bearer nope"}
    )
    assert bad_key.status == 401 and (await bad_key.json())["error"]["code"] == "invalid_api_key"
    forged = await stranger.get(
        "/api/chat/updates?after=0", headers={"Cookie": f"{COOKIE}={conversation_id}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
    )
    assert await forged.json() == {"messages": [], "handoff": False, "cursor": 0}
    cancel = await stranger.post(
        "/api/chat", json={"text": "batal"}, headers={"Cookie": f"{COOKIE}={conversation_id}.forged"}
    )
    assert cancel.status == 200 and "Set-Cookie" in cancel.headers  # a new conversation of its own
    async with app[sessions_key]() as session:
        still = await session.get(Conversation, conv.id)
        assert still is not None and still.state is ConversationState.AGENT


async def test_an_integration_with_an_api_key_names_its_conversations(aiohttp_client, handoff_app) -> None:
    app = handoff_app()
    client = await _new_client(aiohttp_client, app)
    answer = await client.post("/api/chat", json={"sender_id": "site-42", "text": "halo"}, headers=API_HEADERS)
    assert answer.status == 200 and "Set-Cookie" not in answer.headers
    missing = await client.post("/api/chat", json={"text": "halo"}, headers=API_HEADERS)
    assert missing.status == 422 and (await missing.json())["error"]["code"] == "invalid_sender_id"
    updates = await client.get("/api/chat/updates?sender_id=site-42", headers=API_HEADERS)
    assert updates.status == 200 and (await updates.json())["cursor"] > 0
