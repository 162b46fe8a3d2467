"""The patron's address behind a trusted proxy (X-Forwarded-For), on the real app."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.app import create_app
from bot.forwarded import client_address, parse_networks
from bot.settings import Settings
from tests.bot.handoff.conftest import always_open, csrf_of, derive, handoff_settings, make_staff  # noqa: F401


def test_only_a_trusted_peer_may_name_the_client() -> None:
    nets = parse_networks("127.0.0.1, 10.0.0.0/8")
    assert client_address("127.0.0.1", "203.0.113.5", nets) == "203.0.113.5"
    assert client_address("127.0.0.1", "198.51.100.1, 203.0.113.5, 10.1.2.3", nets) == "203.0.113.5"
    assert client_address("192.0.2.9", "203.0.113.5", nets) == "192.0.2.9"  # not a proxy of ours
    assert client_address("127.0.0.1", "not-an-ip", nets) == "127.0.0.1"
    assert client_address("127.0.0.1", "203.0.113.5", []) == "127.0.0.1"
    with pytest.raises(ValidationError):
        Settings(trusted_proxies="10.0.0.300")


async def _attempt(client, address: str) -> int:  # noqa: ANN001
    headers = {"X-Forwarded-For": address}
    page = await client.get("/console/login", headers=headers)
    response = await client.post(
        "/console/login", data={"_csrf": csrf_of(await page.text()), "username": "rina", "password": "salah-sekali"},
        headers=headers, allow_redirects=False,
    )
    return response.status


@pytest.mark.parametrize("trusted", ["127.0.0.1", ""])
async def test_login_limits_count_the_forwarded_address_from_a_trusted_proxy(
    aiohttp_client, handoff_settings, trusted: str
) -> None:
    app = create_app(derive(handoff_settings, console_login_attempts=2, trusted_proxies=trusted))
    client = await aiohttp_client(app)
    await make_staff(app, "rina", "Rina")
    assert [await _attempt(client, "203.0.113.5") for _ in range(3)] == [401, 401, 429]
    # another patron behind the same proxy: its own count, unless the proxy is not trusted
    assert await _attempt(client, "203.0.113.6") == (401 if trusted else 429)
