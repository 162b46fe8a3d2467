"""The staff console in a real browser (Debian's Chromium via Playwright).

Main flow: a Telegram patron (fake Bot API) asks for a person through the real Rasa → an agent
logs in, sees the waiting conversation, claims it, replies → the fake Telegram receives the
reply → the agent resolves → the patron's next message is answered by the bot again.
Plus: patron HTML shows as text, forms refuse a missing CSRF token, two agents race to claim.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from bot.keys import sessions_key
from bot.models import Conversation, ConversationState
from bot.staff import add_staff
from tests.bot.channels.conftest import TG_SECRET, TOKEN, tg_update
from tests.browser.conftest import browser_settings, serve
from tests.conftest import API_HEADERS, ROOT, free_port
from tests.fakes import FakeTelegram

pytestmark = pytest.mark.browser

PASSWORD = "rahasia-sekali-123"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
CHAT = 5123498877
SCREENSHOT = ROOT / "docs" / "console.png"


async def _staff(app: Any, *people: tuple[str, str]) -> None:
    async with app[sessions_key].begin() as session:
        for username, name in people:
            await add_staff(session, username, name, PASSWORD)


async def _login(page: Any, base: str, username: str) -> None:
    await page.goto(f"{base}/console/")
    assert page.url.endswith("/console/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/console/")


async def _texts_sent(fake: FakeTelegram, n: int) -> list[str]:
    return [m["text"] for m in await fake.wait_for_sent(n, timeout=60)]


async def _wait_for(fake: FakeTelegram, chat_id: int, needle: str, *, start: int = 0) -> str:
    """The first text sent to ``chat_id`` (from index ``start``) containing ``needle``."""
    for _ in range(300):
        for message in fake.sent[start:]:
            if message["chat_id"] == chat_id and needle in message["text"]:
                return str(message["text"])
        await asyncio.sleep(0.2)
    raise AssertionError(f"{needle!r} never sent to {chat_id}: {fake.sent}")


async def _state_or_none(app: Any, external_id: str) -> ConversationState | None:
    async with app[sessions_key]() as session:
        return await session.scalar(select(Conversation.state).where(Conversation.external_id == external_id))


async def _state(app: Any, external_id: str) -> ConversationState:
    state = await _state_or_none(app, external_id)
    assert state is not None
    return state


@pytest.mark.e2e
async def test_telegram_patron_to_librarian_and_back_to_the_bot(browser, stack, tmp_path: Path) -> None:
    async with FakeTelegram(token=TOKEN) as fake:
        settings = browser_settings(
            tmp_path, rasa_url=stack.rasa_url, rasa_token=stack.rasa_token, rasa_timeout=30,
            telegram_token=TOKEN, telegram_webhook_secret=TG_SECRET, telegram_api_base_url=fake.base_url,
            telegram_chat_interval=0.0,
        )
        async with serve(settings) as (app, base):
            await _staff(app, ("rina", "Rina Pustakawan"))
            import aiohttp

            async with aiohttp.ClientSession() as http:

                async def patron(update_id: int, text: str) -> None:
                    response = await http.post(
                        f"{base}/webhooks/telegram", json=tg_update(update_id, CHAT, text), headers=HEADERS
                    )
                    assert response.status == 200

                # A normal question first (answered by the bot), then the request for a person.
                await patron(1, "jam buka perpustakaan?")
                first = await _texts_sent(fake, 1)
                assert "08.00" in first[0]
                await patron(2, "saya butuh bantuan petugas")
                await _wait_for(fake, CHAT, "antrean nomor 1")
                assert await _state(app, str(CHAT)) is ConversationState.WAITING
                sent_before = len(fake.sent)

                context = await browser.new_context(viewport={"width": 1280, "height": 860}, locale="id-ID")
                page = await context.new_page()
                dialogs: list[str] = []
                page.on("dialog", lambda d: (dialogs.append(d.message), asyncio.ensure_future(d.dismiss())))
                await _login(page, base, "rina")
                row = page.locator("#queue li.state-waiting", has_text="Ana Silva")
                await row.wait_for()
                assert "Telegram" in await row.inner_text()
                assert "saya butuh bantuan petugas" in await row.inner_text()

                # Live: a message arriving while the agent looks at the queue shows up without reload.
                await patron(3, "<script>alert(1)</script> tolong ya")
                await page.locator("#queue li", has_text="<script>alert(1)</script> tolong ya").wait_for()

                await row.get_by_role("button", name="Ambil").click()
                await page.wait_for_url(re.compile(r".*/console/c/\d+$"))
                transcript = page.locator("#transcript")
                await transcript.get_by_text("jam buka perpustakaan?").wait_for()
                assert "08.00" in await transcript.inner_text()  # the bot's earlier turn
                await transcript.get_by_text("<script>alert(1)</script> tolong ya").wait_for()

                await page.select_option("#canned", label="Salam pembuka")
                assert "pustakawan Perpustakaan Kota Prabumulih" in await page.input_value("#reply-text")
                await page.fill("#reply-text", "Halo Kak Ana, saya Rina. Ada yang bisa saya bantu?")
                await page.get_by_role("button", name="Kirim").click()
                await page.wait_for_load_state()
                await _wait_for(fake, CHAT, "Kakak sekarang terhubung dengan pustakawan Rina Pustakawan.", start=sent_before)
                await _wait_for(fake, CHAT, "Halo Kak Ana, saya Rina. Ada yang bisa saya bantu?", start=sent_before)
                agent_line = page.locator("#transcript li.by-agent", has_text="Halo Kak Ana")
                await agent_line.locator(".status-sent").wait_for(timeout=15000)

                await page.fill("textarea[name=text] >> nth=1", "Pemustaka menanyakan denda keterlambatan.")
                await page.get_by_role("button", name="Simpan catatan").click()
                await page.locator("#transcript li.note", has_text="denda keterlambatan").wait_for()
                # A second patron waits meanwhile (shown in the queue beside the conversation).
                other = tg_update(10, 6000111222, "mau komplain, AC ruang baca mati")
                for part in (other["message"]["from"], other["message"]["chat"]):
                    part.update(first_name="Budi", last_name="Santoso", username="budi_s")
                await http.post(f"{base}/webhooks/telegram", json=other, headers=HEADERS)
                # The webhook is acknowledged before processing: reload once Budi is queued.
                for _ in range(300):
                    if await _state_or_none(app, "6000111222") is ConversationState.WAITING:
                        break
                    await asyncio.sleep(0.1)
                SCREENSHOT.parent.mkdir(exist_ok=True)
                await page.goto(page.url.split("#")[0])
                await page.locator("#queue li.state-waiting", has_text="Budi Santoso").wait_for()
                await page.locator("#live.on").wait_for()
                await page.screenshot(path=str(SCREENSHOT))
                assert not any("denda keterlambatan" in m["text"] for m in fake.sent)

                # The hand-back reaches the page over the websocket before the redirect does (held
                # back here): the live refresh must not reload the page over the pending navigation.
                async def slow_redirect(route: Any) -> None:
                    response = await route.fetch(max_redirects=0)
                    await asyncio.sleep(1.5)
                    await route.fulfill(response=response)

                await page.route("**/resolve", slow_redirect)
                await page.get_by_role("button", name="Selesai & kembalikan ke bot").click()
                await page.wait_for_url(f"{base}/console/")
                assert await _state(app, str(CHAT)) is ConversationState.BOT
                await _wait_for(fake, CHAT, "sudah selesai")
                resolved_count = len(fake.sent)

                await patron(4, "jam buka perpustakaan?")
                assert "08.00" in await _wait_for(fake, CHAT, "08.00", start=resolved_count)
                assert dialogs == []
                await context.close()


async def test_patron_html_is_text_and_forms_need_csrf(browser, tmp_path: Path) -> None:
    dead = free_port()
    settings = browser_settings(tmp_path, rasa_url=f"http://127.0.0.1:{dead}")
    async with serve(settings) as (app, base):
        await _staff(app, ("rina", "Rina"))
        import aiohttp

        async with aiohttp.ClientSession() as http:
            for text in ("mau bicara dengan petugas", '<img src=x onerror="alert(2)"><script>alert(1)</script>'):
                await http.post(f"{base}/api/chat", json={"sender_id": "web-xss", "text": text}, headers=API_HEADERS)
        context = await browser.new_context()
        page = await context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), asyncio.ensure_future(d.dismiss())))
        await _login(page, base, "rina")
        await page.locator("#queue a.patron").first.click()
        line = page.locator("#transcript li.by-patron", has_text="<script>alert(1)</script>")
        await line.wait_for()
        assert await line.locator("script, img").count() == 0
        assert dialogs == []

        # A form posted without the token (as a forged page would) is refused.
        status = await page.evaluate(
            """async () => {
                const url = document.querySelector("form[action$='/claim']").action;
                const res = await fetch(url, {method: "POST", body: new URLSearchParams({x: "1"})});
                return res.status;
            }"""
        )
        assert status == 403
        assert await _state(app, "web-xss") is ConversationState.WAITING
        await page.get_by_role("button", name="Ambil percakapan").click()
        await page.locator("#reply-text").wait_for()
        assert await _state(app, "web-xss") is ConversationState.AGENT
        await context.close()


async def _lost(page: Any) -> bool:
    """The page says another agent has the conversation (the 409 page, or the live view)."""
    return bool(
        await page.get_by_text("sudah diambil").count() or await page.get_by_text("sedang ditangani").count()
    )


async def _settled(page: Any, timeout: float = 20) -> None:
    """Wait until a claim has ended on ``page``: the reply box (won) or "sudah diambil" (lost)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await page.locator("#reply-text").is_visible() or await _lost(page):
            return
        await asyncio.sleep(0.2)
    raise AssertionError("claim did not settle:\n" + (await page.inner_text("body"))[:1000])


async def test_two_agents_race_to_claim_in_two_browsers(browser, tmp_path: Path) -> None:
    dead = free_port()
    settings = browser_settings(tmp_path, rasa_url=f"http://127.0.0.1:{dead}")
    async with serve(settings) as (app, base):
        await _staff(app, ("rina", "Rina"), ("budi", "Budi"))
        import aiohttp

        async with aiohttp.ClientSession() as http:
            await http.post(f"{base}/api/chat", json={"sender_id": "web-race", "text": "mau bicara dengan petugas"}, headers=API_HEADERS)
        pages = []
        for username in ("rina", "budi"):
            context = await browser.new_context()
            page = await context.new_page()
            await _login(page, base, username)
            await page.locator("#queue a.patron").first.click()
            await page.get_by_role("button", name="Ambil percakapan").wait_for()
            pages.append(page)
        await asyncio.gather(*(p.get_by_role("button", name="Ambil percakapan").click() for p in pages))
        for p in pages:  # each page ends with the reply box (won) or the "already taken" error (lost)
            await _settled(p)
        winners = [p for p in pages if await p.locator("#reply-text").count() == 1]
        losers = [p for p in pages if await _lost(p) and not await p.locator("#reply-text").is_visible()]
        assert len(winners) == 1 and len(losers) == 1
        # The loser's page updates live and shows who has it.
        await losers[0].goto(losers[0].url.split("/claim")[0])
        assert await losers[0].locator("#reply-text").count() == 0
        for p in pages:
            await p.context.close()


async def test_queue_updates_live_with_an_unread_badge_in_the_title(browser, tmp_path: Path) -> None:
    dead = free_port()
    settings = browser_settings(tmp_path, rasa_url=f"http://127.0.0.1:{dead}")
    async with serve(settings) as (app, base):
        await _staff(app, ("rina", "Rina"))
        context = await browser.new_context()
        page = await context.new_page()
        await _login(page, base, "rina")
        await page.locator("#live.on").wait_for()  # websocket connected
        await page.evaluate("document.hasFocus = () => false")  # the librarian is in another tab
        import aiohttp

        async with aiohttp.ClientSession() as http:
            await http.post(f"{base}/api/chat", json={"sender_id": "web-live", "text": "mau bicara dengan petugas"}, headers=API_HEADERS)
            await page.locator("#queue li.state-waiting", has_text="mau bicara dengan petugas").wait_for()
            # expect() polls from Playwright's own world: a string predicate (wait_for_function)
            # is evaluated with eval, which the console's CSP refuses once it has to poll
            await expect(page).to_have_title(re.compile(r"^\(1\) "), timeout=30_000)
            await http.post(f"{base}/api/chat", json={"sender_id": "web-live", "text": "halo?"}, headers=API_HEADERS)
            await expect(page).to_have_title(re.compile(r"^\(2\) "), timeout=30_000)
        await page.evaluate("window.dispatchEvent(new Event('focus'))")
        await expect(page).not_to_have_title(re.compile(r"^\("), timeout=30_000)
        await context.close()
