"""The web chat contract: validation, degraded mode when the NLU is down, health."""

from __future__ import annotations

import json

from bot.app import create_app
from bot.settings import Settings
from tests.conftest import API_HEADERS, TEST_API_KEY


async def test_bad_input_gets_a_clear_4xx_json_error(aiohttp_client, gateway_settings: Settings) -> None:
    client = await aiohttp_client(create_app(gateway_settings))
    cases = [
        (b"not json", 400, "invalid_json"),
        (b"[1, 2]", 400, "invalid_json"),
        (json.dumps({"text": "halo"}).encode(), 422, "invalid_sender_id"),
        (json.dumps({"sender_id": "a"}).encode(), 422, "empty_text"),
        (json.dumps({"sender_id": "a", "text": "   "}).encode(), 422, "empty_text"),
        (json.dumps({"sender_id": "a", "text": 5}).encode(), 422, "empty_text"),
        (json.dumps({"sender_id": "a b <x>", "text": "halo"}).encode(), 422, "invalid_sender_id"),
        (json.dumps({"sender_id": "a", "text": "x" * 100_000}).encode(), 413, "too_large"),
        (json.dumps({"sender_id": "a", "text": "x" * 5_000}).encode(), 413, "too_long"),
        (b"\xff\xfe", 400, "invalid_json"),
    ]
    for body, status, code in cases:
        response = await client.post(
            "/api/chat", data=body, headers={"Content-Type": "application/json", **API_HEADERS}
        )
        assert response.status == status, (body[:40], await response.text())
        data = await response.json()
        assert data["error"]["code"] == code
        assert data["error"]["message"]


async def test_nlu_down_answers_what_the_knowledge_is_sure_of(aiohttp_client, gateway_settings: Settings) -> None:
    client = await aiohttp_client(create_app(gateway_settings))
    response = await client.post("/api/chat", json={"sender_id": "p1", "text": "jam buka perpustakaan hari sabtu?"}, headers=API_HEADERS)
    assert response.status == 200
    data = await response.json()
    assert data["handoff"] is False
    assert "08.00" in data["messages"][0]["text"] and "gangguan" not in data["messages"][0]["text"]


async def test_nlu_down_gives_a_polite_reply_not_an_error(aiohttp_client, gateway_settings: Settings) -> None:
    client = await aiohttp_client(create_app(gateway_settings))
    response = await client.post("/api/chat", json={"sender_id": "p1", "text": "qwerty zxcv"}, headers=API_HEADERS)
    assert response.status == 200
    data = await response.json()
    assert data["handoff"] is False
    assert "gangguan" in data["messages"][0]["text"]
    response = await client.post("/api/chat", json={"sender_id": "p1", "text": "what do you think about it?"}, headers=API_HEADERS)
    assert "trouble" in (await response.json())["messages"][0]["text"]


async def test_health_is_503_while_a_component_is_down(aiohttp_client, gateway_settings: Settings) -> None:
    client = await aiohttp_client(create_app(gateway_settings))
    response = await client.get("/healthz")
    assert response.status == 503
    data = await response.json()
    assert data["components"] == {"database": "ok", "nlu": "down", "knowledge": "ok"}


async def test_transcript_keeps_every_message(aiohttp_client, gateway_settings: Settings) -> None:
    from sqlalchemy import select

    from bot.keys import sessions_key
    from bot.models import Conversation, Message

    app = create_app(gateway_settings)
    client = await aiohttp_client(app)
    await client.post("/api/chat", json={"sender_id": "p2", "text": "qwerty"}, headers=API_HEADERS)
    async with app[sessions_key]() as session:
        conv = await session.scalar(select(Conversation).where(Conversation.external_id == "p2"))
        assert conv is not None and conv.channel == "web"
        rows = (await session.scalars(select(Message).where(Message.conversation_id == conv.id).order_by(Message.id))).all()
    assert [(m.direction, m.author) for m in rows] == [("in", "patron"), ("out", "system")]
    assert rows[0].text == "qwerty"


async def test_gateway_runs_on_postgresql(aiohttp_client, pg_url: str, dead_port: int) -> None:
    from sqlalchemy import func, select

    from bot.cli import upgrade_database
    from bot.keys import sessions_key
    from bot.models import Message

    settings = Settings(
        database_url=pg_url,
        rasa_url=f"http://127.0.0.1:{dead_port}",
        rasa_timeout=3,
        embedding_model="",
        chat_api_keys=TEST_API_KEY,
    )
    upgrade_database(settings)
    app = create_app(settings)
    client = await aiohttp_client(app)
    response = await client.post("/api/chat", json={"sender_id": "pg1", "text": "qwerty"}, headers=API_HEADERS)
    assert response.status == 200
    health = await (await client.get("/healthz")).json()
    assert health["components"]["database"] == "ok"
    async with app[sessions_key]() as session:
        assert await session.scalar(select(func.count(Message.id))) == 2


def test_servers_refuse_an_unmigrated_database(tmp_path) -> None:
    from click.testing import CliRunner

    from bot.cli import main

    runner = CliRunner()
    env = {"PUSTAKABOT_DATA_DIR": str(tmp_path)}
    for command in ("gateway",):
        result = runner.invoke(main, [command], env=env)
        assert result.exit_code != 0
        assert "pustakabot db upgrade" in result.output
