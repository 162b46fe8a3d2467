"""Security headers on every response: pages, API, errors, static files, webhooks and console."""

from __future__ import annotations

from pathlib import Path

from bot.app import create_app
from bot.settings import Settings
from tests.conftest import API_HEADERS

ROOT = Path(__file__).resolve().parents[2]


def _checked(response) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors" in csp and "default-src 'self'" in csp, (response.url, csp)
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("Referrer-Policy")
    assert headers.get("Server") == "pustakabot"


async def test_every_response_has_the_security_headers_and_no_server_version(
    aiohttp_client, gateway_settings: Settings
) -> None:
    client = await aiohttp_client(create_app(gateway_settings))
    requests = [
        ("GET", "/", {}),
        ("GET", "/static/chat.js", {}),
        ("GET", "/static/../settings.py", {}),
        ("GET", "/no/such/page", {}),
        ("GET", "/healthz", {}),
        ("GET", "/api/openapi.yaml", {}),
        ("GET", "/api/chat/updates", {}),
        ("GET", "/api/chat/updates?after=x", {}),
        ("POST", "/api/chat", {"json": {"text": "halo"}}),
        ("POST", "/api/chat", {"data": b"nope"}),
        ("POST", "/api/chat", {"json": {"sender_id": "s", "text": "halo"}, "headers": API_HEADERS}),
        ("GET", "/console/login", {}),
        ("GET", "/console/", {"allow_redirects": False}),
        ("POST", "/console/login", {"data": {"username": "x"}}),
    ]
    for method, path, extra in requests:
        response = await client.request(method, path, **extra)
        assert response.status < 500 or path == "/healthz", (path, response.status)  # 503: Rasa is down
        _checked(response)
    console = await client.get("/console/login")
    assert "frame-ancestors 'none'" in console.headers["Content-Security-Policy"]


def test_staff_facing_texts_say_pemustaka_never_pasien() -> None:
    for path in ("bot/outbox.py", "bot/channels/telegram.py", "bot/channels/meta.py", "bot/channels/base.py"):
        text = (ROOT / path).read_text(encoding="utf-8").lower()
        assert "pasien" not in text, path


async def test_webhook_refusals_carry_the_headers_too(aiohttp_client, gateway_settings: Settings) -> None:
    from tests.bot.handoff.conftest import derive

    client = await aiohttp_client(create_app(derive(gateway_settings, meta_app_secret="m")))
    response = await client.post("/webhooks/meta", data=b"{}")
    assert response.status == 403
    _checked(response)
