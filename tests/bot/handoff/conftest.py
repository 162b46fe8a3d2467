"""Handoff fixtures: a gateway with staff accounts, and helpers to log in like a browser does."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.keys import router_key, sessions_key
from bot.messages import Incoming, Reply
from bot.settings import Settings
from bot.staff import add_staff

PASSWORD = "rahasia-sekali-123"
ALWAYS_OPEN = """
jam: {senin: "00:00-24:00", selasa: "00:00-24:00", rabu: "00:00-24:00", kamis: "00:00-24:00",
      jumat: "00:00-24:00", sabtu: "00:00-24:00", minggu: "00:00-24:00"}
libur: {}
"""


def derive(settings: Settings, **changes: Any) -> Settings:
    """``settings`` with ``changes`` applied (validated, unlike ``model_copy``)."""
    return Settings(**{**settings.model_dump(), **changes})


@pytest.fixture
def always_open(tmp_path: Path) -> Path:
    """A staffed-hours file that is open around the clock."""
    path = tmp_path / "schedule.yml"
    path.write_text(ALWAYS_OPEN, encoding="utf-8")
    return path


@pytest.fixture
def handoff_settings(gateway_settings: Settings, always_open: Path) -> Settings:
    """Gateway settings for the handoff tests (Rasa down, staffed all day, http cookies)."""
    return derive(gateway_settings, staff_schedule_file=always_open, console_cookie_secure="false")


async def make_staff(app: web.Application, username: str, name: str, role: str = "agent") -> None:
    """Create an account in the app's database."""
    async with app[sessions_key].begin() as session:
        await add_staff(session, username, name, PASSWORD, role=role)


def csrf_of(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    match = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


async def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    page = await client.get("/console/login")
    response = await client.post(
        "/console/login",
        data={"_csrf": csrf_of(await page.text()), "username": username, "password": password},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    queue = await client.get("/console/")
    assert queue.status == 200
    return csrf_of(await queue.text())


async def patron_says(app: web.Application, sender: str, text: str, channel: str = "web") -> Reply:
    """A patron message through the router (as every channel does)."""
    return await app[router_key].handle(
        Incoming(channel=channel, conversation_id=sender, patron_id=sender, text=text, patron_name=None)
    )


@pytest.fixture
def handoff_app(handoff_settings: Settings) -> Callable[..., web.Application]:
    """Factory of gateways on the test database."""

    def build(**changes: Any) -> web.Application:
        return create_app(derive(handoff_settings, **changes) if changes else handoff_settings)

    return build
