"""``GET /metrics`` of the real gateway (NLU down: buttons and requests for a person are decided
without it), and its protection."""

from __future__ import annotations

import re
import socket

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.app import create_app
from tests.bot.handoff.conftest import always_open, derive, handoff_settings  # noqa: F401
from tests.conftest import API_HEADERS


def value(text: str, name: str, **labels: str) -> float:
    """The sample ``name{labels}`` in a Prometheus text exposition (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if wanted else "") + r" ([0-9.e+-]+)$"
    match = re.search(pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def test_metrics_count_messages_decisions_stages_and_the_queue(aiohttp_client, handoff_settings) -> None:
    client = await aiohttp_client(create_app(handoff_settings))
    for payload in ("/greet", "/thanks"):
        r = await client.post("/api/chat", json={"sender_id": "m-1", "text": "halo", "payload": payload},
                              headers=API_HEADERS)
        assert r.status == 200
    r = await client.post("/api/chat", json={"sender_id": "m-2", "text": "mau bicara dengan petugas"},
                          headers=API_HEADERS)
    assert r.status == 200 and (await r.json())["handoff"] is True
    r = await client.post("/api/chat", json={"sender_id": "m-3", "text": "kapan jadwal vaksin di puskesmas"},
                          headers=API_HEADERS)
    assert r.status == 200  # the NLU is down: the engine answers what it can or apologises

    metrics = await client.get("/metrics")
    assert metrics.status == 200 and metrics.headers["Content-Type"].startswith("text/plain")
    text = await metrics.text()
    assert value(text, "pustakabot_messages_in_total", channel="web") == 4
    assert value(text, "pustakabot_messages_out_total", channel="web") >= 4
    assert value(text, "pustakabot_decisions_total", kind="answered") == 2
    assert value(text, "pustakabot_decisions_total", kind="handed_over") == 1
    assert value(text, "pustakabot_decisions_total", kind="degraded") + value(
        text, "pustakabot_decisions_total", kind="answered") + value(
        text, "pustakabot_decisions_total", kind="declined") == 3
    assert value(text, "pustakabot_stage_seconds_count", stage="nlu") == 1  # the one message read by the NLU
    assert value(text, "pustakabot_stage_seconds_count", stage="knowledge") == 3
    assert value(text, "pustakabot_handoff_queue") == 1
    assert value(text, "pustakabot_nlu_up") == 0


async def test_metrics_need_the_token_when_one_is_set(aiohttp_client, handoff_settings) -> None:
    client = await aiohttp_client(create_app(derive(handoff_settings, metrics_token="scrape-token-123")))
    assert (await client.get("/metrics")).status == 401
    assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status == 401
    ok = await client.get("/metrics", headers={"Authorization": "Bearer scrape-token-123"})
    assert ok.status == 200 and "pustakabot_nlu_up" in await ok.text()


def _outside_address() -> str | None:
    """An address of this machine that is not loopback (to connect from), if any."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: picks the outgoing interface
        except OSError:
            return None
        address = s.getsockname()[0]
    return None if address.startswith("127.") else address


async def test_without_a_token_only_loopback_clients_are_served(handoff_settings) -> None:
    address = _outside_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect from")
    server = TestServer(create_app(handoff_settings), host="0.0.0.0")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://{address}:{server.port}/metrics") as r:
                assert r.status == 403
            async with http.get(f"http://127.0.0.1:{server.port}/metrics") as r:
                assert r.status == 200
    finally:
        await server.close()
