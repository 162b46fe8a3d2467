"""The web chat page in a real browser: the server-issued cookie carries the conversation.

The page never sees or chooses an id (the cookie is HttpOnly); a librarian's reply reaches the
patron's page through it, under the page's Content-Security-Policy.
"""

from __future__ import annotations

from pathlib import Path

from tests.browser.conftest import browser_settings, serve
from tests.browser.test_console_browser import _login, _staff
from tests.conftest import free_port


async def test_patron_page_gets_the_librarians_reply_through_the_server_cookie(browser, tmp_path: Path) -> None:
    dead = free_port()
    settings = browser_settings(tmp_path, rasa_url=f"http://127.0.0.1:{dead}", action_server_url=f"http://127.0.0.1:{dead}")
    async with serve(settings) as (app, base):
        await _staff(app, ("rina", "Rina"))
        patron_ctx = await browser.new_context()
        patron = await patron_ctx.new_page()
        violations: list[str] = []
        patron.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        await patron.goto(f"{base}/")
        await patron.fill("#text", "mau bicara dengan petugas")
        await patron.press("#text", "Enter")
        await patron.locator("#log li.bot", has_text="antrean").wait_for()
        cookies = await patron_ctx.cookies()
        (chat_cookie,) = [c for c in cookies if c["name"] == "pustakabot_chat"]
        assert chat_cookie["httpOnly"] and chat_cookie["sameSite"] == "Strict"
        assert await patron.evaluate("document.cookie") == ""  # invisible to scripts
        assert await patron.evaluate("localStorage.length") == 0

        staff_ctx = await browser.new_context()
        staff = await staff_ctx.new_page()
        await _login(staff, base, "rina")
        await staff.locator("#queue a.patron").first.click()
        await staff.get_by_role("button", name="Ambil percakapan").click()
        await staff.fill("#reply-text", "Halo Kak, Rina di sini. Ada yang bisa dibantu?")
        await staff.locator("#reply-form button[type=submit]").click()

        await patron.locator("#log li.agent", has_text="Rina di sini").wait_for(timeout=15000)
        assert violations == []
        await staff_ctx.close()
        await patron_ctx.close()


async def test_link_buttons_open_in_a_new_tab_and_only_for_web_addresses(browser, tmp_path: Path) -> None:
    import json

    dead = free_port()
    settings = browser_settings(tmp_path, rasa_url=f"http://127.0.0.1:{dead}", action_server_url=f"http://127.0.0.1:{dead}")
    async with serve(settings) as (_app, base):
        context = await browser.new_context()
        page = await context.new_page()
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        reply = {"messages": [{"text": "Dongeng Sabtu pagi.", "links": [
            {"title": "Daftar di sini", "url": "https://perpustakaan.example.id/daftar"},
            {"title": "Jahat", "url": "javascript:alert(1)"},
            {"title": "", "url": "http://perpustakaan.example.id/info"},
        ]}], "handoff": False, "cursor": 0}

        async def answer(route) -> None:  # noqa: ANN001 - the JSON shape /api/chat answers with links
            await route.fulfill(status=200, content_type="application/json", body=json.dumps(reply))

        await page.route("**/api/chat", answer)
        await page.goto(f"{base}/")
        await page.fill("#text", "info acara")
        await page.press("#text", "Enter")
        links = page.locator("#log li.bot .links a.link-button")
        await links.first.wait_for()
        assert await links.count() == 2  # the javascript: address is no link
        first, second = links.nth(0), links.nth(1)
        assert await first.inner_text() == "Daftar di sini" and await second.inner_text() == "Buka tautan"
        assert await first.get_attribute("href") == "https://perpustakaan.example.id/daftar"
        assert await first.get_attribute("target") == "_blank"
        assert set((await first.get_attribute("rel") or "").split()) == {"noopener", "noreferrer"}
        assert await page.locator("#log a[href^=javascript]").count() == 0
        assert violations == []
        await context.close()
