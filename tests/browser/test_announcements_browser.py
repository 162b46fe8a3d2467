"""Announcements in a real browser: a librarian composes, previews per channel, sends to the
subscribers of a topic on Telegram (the fake Bot API), and reads the delivery report, with a
patron who blocked the bot (403) counted and unsubscribed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.keys import router_key
from bot.messages import Incoming
from tests.bot.channels.conftest import TG_SECRET, TOKEN
from tests.browser.conftest import browser_settings, serve
from tests.browser.test_console_browser import PASSWORD, _login, _staff
from tests.conftest import ROOT, free_port
from tests.fakes import FakeTelegram

pytestmark = pytest.mark.browser

COMPOSER_SHOT = ROOT / "docs" / "pengumuman.png"
REPORT_SHOT = ROOT / "docs" / "pengumuman-laporan.png"


async def test_librarian_announces_an_event_to_telegram_subscribers(browser, tmp_path: Path) -> None:
    assert PASSWORD
    async with FakeTelegram(token=TOKEN) as fake:
        settings = browser_settings(
            tmp_path, rasa_url=f"http://127.0.0.1:{free_port()}", rasa_timeout=2,
            telegram_token=TOKEN, telegram_webhook_secret=TG_SECRET, telegram_api_base_url=fake.base_url,
            telegram_chat_interval=0.0, scheduler_interval_seconds=3600,
        )
        async with serve(settings) as (app, base):
            await _staff(app, ("rina", "Rina Pustakawan"))
            for chat, name in (("6100001", "Ana Silva"), ("6100002", "Budi Santoso"), ("6100003", "Citra Lestari")):
                await app[router_key].handle(Incoming(channel="telegram", conversation_id=chat, patron_id=chat,
                                                      text="langganan info acara anak", patron_name=name))
            fake.fail_next("sendPhoto", 403)  # the first recipient blocked the bot (the poster goes as a photo)

            context = await browser.new_context(viewport={"width": 1280, "height": 1100}, locale="id-ID")
            page = await context.new_page()
            await _login(page, base, "rina")
            await page.get_by_role("link", name="Pengumuman").click()
            await page.wait_for_url(f"{base}/console/pengumuman")
            await page.select_option("#topic", "acara_anak")
            assert "(3 pelanggan)" in await page.locator("#topic option[value=acara_anak]").inner_text()
            await page.fill("#text", "Dongeng Anak hari Sabtu pukul 09.00 di Ruang Anak. Gratis, ajak adik-adiknya ya!")
            await page.fill("#image_url", "https://perpustakaan.example.id/poster-dongeng.jpg")
            await page.fill("#link_title", "Info lengkap")
            await page.fill("#link_url", "https://perpustakaan.example.id/acara/dongeng")
            await page.click("#preview-button")
            telegram = page.locator("#previews figure[data-channel=telegram]")
            await telegram.wait_for()
            assert "Dongeng Anak hari Sabtu" in await telegram.inner_text()
            assert "https://perpustakaan.example.id/acara/dongeng" not in await telegram.inner_text()
            # The link is a button on every channel, opening the address in a new tab.
            for channel in ("telegram", "messenger", "instagram", "whatsapp"):
                button = page.locator(f"#previews figure[data-channel={channel}] a.link-button")
                assert await button.count() == 1 and (await button.inner_text()).strip() == "Info lengkap ↗"
                assert await button.get_attribute("href") == "https://perpustakaan.example.id/acara/dongeng"
                assert await button.get_attribute("target") == "_blank"
                assert "noopener" in (await button.get_attribute("rel") or "")
            messenger = page.locator("#previews figure[data-channel=messenger]")
            assert "Gambar: https://perpustakaan.example.id/poster-dongeng.jpg" in await messenger.inner_text()
            assert "24 jam" in await messenger.inner_text()
            # The form keeps what was typed after the preview.
            assert await page.input_value("#link_title") == "Info lengkap"
            await page.screenshot(path=str(COMPOSER_SHOT), full_page=True)

            await page.click("#send-button")
            await page.wait_for_url(f"{base}/console/pengumuman/*")
            await fake.wait_for_sent(2, timeout=30)
            for _ in range(100):  # the librarian reloads the report until nothing is pending
                await page.click("#refresh")
                await page.wait_for_load_state()
                if await page.locator("#report td[data-column=pending]").inner_text() == "0" and \
                        await page.locator("#report td[data-column=total]").inner_text() == "3":
                    break
                await asyncio.sleep(0.2)
            assert await page.locator("#report td[data-column=sent]").inner_text() == "2"
            assert await page.locator("#report td[data-column=blocked]").inner_text() == "1"
            rows = page.locator("#recipients tbody tr")
            assert await rows.count() == 3
            blocked = page.locator("#recipients tr.status-blocked")
            assert "memblokir bot" in (await blocked.inner_text()).lower()
            await page.screenshot(path=str(REPORT_SHOT), full_page=True)
            # The poster as a photo, the text as its caption, the link button on it.
            assert all(m["photo"] == "https://perpustakaan.example.id/poster-dongeng.jpg" for m in fake.sent)
            assert all("Dongeng Anak hari Sabtu" in m["caption"] for m in fake.sent)
            link = {"text": "Info lengkap", "url": "https://perpustakaan.example.id/acara/dongeng"}
            assert all(m["reply_markup"] == {"inline_keyboard": [[link]]} for m in fake.sent)
            await context.close()
