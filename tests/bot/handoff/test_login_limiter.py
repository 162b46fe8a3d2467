"""The console login limiter under real concurrent requests to the real app (real sockets)."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.console.security import LOGIN_CSRF_COOKIE
from tests.bot.handoff.conftest import PASSWORD, csrf_of, make_staff


class Browser:
    """Login attempts from one client address (``local`` is any 127.x address on Linux)."""

    def __init__(self, server: TestServer, local: str = "127.0.0.1") -> None:
        self.server = server
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(local, 0), force_close=True),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        self.token = ""

    async def prepare(self) -> None:
        page = await self.session.get(self.server.make_url("/console/login"))
        self.token = csrf_of(await page.text())

    async def login(self, username: str, password: str) -> int:
        response = await self.session.post(
            self.server.make_url("/console/login"),
            data={"_csrf": self.token, "username": username, "password": password},
            headers={"Cookie": f"{LOGIN_CSRF_COOKIE}={self.token}"},
            allow_redirects=False,
        )
        await response.read()
        if response.status == 429:
            assert int(response.headers["Retry-After"]) > 0
        return response.status

    async def close(self) -> None:
        await self.session.close()


@pytest.fixture
async def server(handoff_app):
    app = handoff_app()
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    await make_staff(app, "rina", "Rina")
    await make_staff(app, "budi", "Budi")
    yield srv
    await srv.close()


@pytest.fixture
async def browser(server):
    b = Browser(server)
    await b.prepare()
    yield b
    await b.close()


async def test_thirty_parallel_wrong_passwords_get_429_beyond_the_limit(browser: Browser) -> None:
    statuses = Counter(await asyncio.gather(*(browser.login("rina", f"salah-{i}") for i in range(30))))
    assert statuses == {401: 5, 429: 25}


async def test_the_right_password_among_parallel_wrong_ones_gets_no_extra_attempt(browser: Browser) -> None:
    attempts = [browser.login("rina", f"salah-{i}") for i in range(19)] + [browser.login("rina", PASSWORD)]
    statuses = Counter(await asyncio.gather(*attempts))
    assert statuses[401] + statuses[303] == 5 and statuses[429] == 15, statuses
    # Once the limit is reached the right password does not get in either.
    assert await browser.login("rina", PASSWORD) == 429


async def test_a_successful_login_does_not_reset_the_address_count(browser: Browser) -> None:
    for i in range(4):
        assert await browser.login("rina", f"salah-{i}") == 401
    assert await browser.login("budi", PASSWORD) == 303  # a valid account of the attacker's
    assert await browser.login("rina", "salah-5") == 401  # the fifth failure
    assert await browser.login("rina", "salah-6") == 429


async def test_wrong_passwords_from_one_address_do_not_lock_the_librarian_elsewhere(server, browser: Browser) -> None:
    for i in range(5):
        assert await browser.login("rina", f"salah-{i}") == 401
    assert await browser.login("rina", PASSWORD) == 429  # the attacker's address is stopped
    at_the_desk = Browser(server, "127.0.0.2")
    try:
        await at_the_desk.prepare()
        assert await at_the_desk.login("rina", PASSWORD) == 303
    finally:
        await at_the_desk.close()
