"""Browser fixtures: Debian's Chromium driven by Playwright, and gateways served on free ports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import create_app
from bot.cli import upgrade_database
from bot.settings import Settings
from tests.conftest import load_demo_data
from tests.conftest import TEST_API_KEY

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ALWAYS_OPEN = (
    'jam: {senin: "00:00-24:00", selasa: "00:00-24:00", rabu: "00:00-24:00", kamis: "00:00-24:00", '
    'jumat: "00:00-24:00", sabtu: "00:00-24:00", minggu: "00:00-24:00"}\nlibur: {}\n'
)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """A headless Chromium (Debian's package; never a downloaded one)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (run: bash scripts/setup.sh --browser)")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


def browser_settings(tmp_path: Path, **values: Any) -> Settings:
    """Settings for a gateway on a throw-away migrated database, staffed around the clock."""
    schedule = tmp_path / "schedule.yml"
    schedule.write_text(ALWAYS_OPEN, encoding="utf-8")
    values.setdefault("embedding_model", "")  # lexical FAQ retrieval: the console is under test here
    values.setdefault("chat_api_keys", TEST_API_KEY)
    settings = Settings(
        data_dir=tmp_path, staff_schedule_file=schedule, console_cookie_secure="false", **values
    )
    upgrade_database(settings)
    load_demo_data(settings.effective_database_url)
    return settings


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[tuple[web.Application, str]]:
    """Run the gateway on 127.0.0.1 (free port) so the browser can reach it; yields (app, base URL)."""
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield app, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
