"""The analytics page and the FAQ-draft flow in a real browser (Debian's Chromium via Playwright),
on answers from the real Rasa NLU: patrons ask on the web chat, a librarian reads the charts,
filters the period, downloads the CSV, drafts a FAQ entry from a group of unanswered questions,
fixes what the check reports, saves it, and the bot answers the new entry in the web chat."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.keys import sessions_key
from bot.staff import add_staff
from tests.browser.conftest import browser_settings, serve
from tests.conftest import API_HEADERS, ROOT

pytestmark = pytest.mark.browser

PASSWORD = "rahasia-sekali-123"
UNANSWERED = ["kak bisa bantu servis laptop saya yang rusak?", "servis laptop rusak bisa di sini kak?",
              "tempat servis laptop rusak dimana ya kak"]
ANSWER = ("Perpustakaan tidak melayani servis laptop, Kak. Untuk perbaikan silakan ke pusat servis "
          "komputer; di perpustakaan Kakak bisa memakai komputer umum di Lantai 1.")


async def _ask(http: aiohttp.ClientSession, base: str, sender: str, text: str, payload: str | None = None) -> dict:
    body: dict[str, Any] = {"sender_id": sender, "text": text, **({"payload": payload} if payload else {})}
    async with http.post(f"{base}/api/chat", json=body, headers=API_HEADERS) as response:
        assert response.status == 200
        return await response.json()


def _button(reply: dict, title: str) -> str:
    found = [b["payload"] for m in reply["messages"] for b in m.get("buttons") or [] if b["title"] == title]
    assert found, f"no button {title!r} in {reply}"
    return found[0]


@pytest.mark.e2e
async def test_analytics_and_a_faq_draft_going_live(browser, stack, tmp_path: Path) -> None:
    faq_dir = tmp_path / "faq"
    shutil.copytree(ROOT / "knowledge" / "faq", faq_dir)
    settings = browser_settings(tmp_path, rasa_url=stack.rasa_url, rasa_token=stack.rasa_token, rasa_timeout=60,
                                faq_dir=faq_dir, feedback_mode="every")
    async with serve(settings) as (app, base):
        async with app[sessions_key].begin() as session:
            await add_staff(session, "sari", "Sari Pustakawan", PASSWORD)
        async with aiohttp.ClientSession() as http:
            for n in range(3):
                hours = await _ask(http, base, f"hours-{n}", "jam buka perpustakaan?")
            await _ask(http, base, "hours-2", "👍", _button(hours, "👍"))
            missing = await _ask(http, base, "book-1", "ada buku kalkulus lanjut untuk insinyur nuklir?")
            await _ask(http, base, "book-1", "Usulkan", _button(missing, "Usulkan buku ini"))
            await _ask(http, base, "book-2", "ada buku laskar pelangi?")
            for n, question in enumerate(UNANSWERED):
                await _ask(http, base, f"q-{n}", question)
            await _ask(http, base, "person-1", "mau bicara dengan petugas")

        context = await browser.new_context(viewport={"width": 1280, "height": 1500}, locale="id-ID",
                                            accept_downloads=True)
        page = await context.new_page()
        await page.goto(f"{base}/console/")
        await page.fill("input[name=username]", "sari")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{base}/console/")
        # The librarian helps the patron who asked for a person; the patron rates it.
        await page.locator("#queue li.state-waiting").first.get_by_role("button", name="Ambil").click()
        await page.wait_for_url("**/console/c/*")
        await page.get_by_role("button", name="Selesai & kembalikan ke bot").click()
        await page.wait_for_url(f"{base}/console/")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/api/chat/updates", params={"sender_id": "person-1", "after": "0"},
                                headers=API_HEADERS) as response:
                updates = await response.json()
            rating = updates["messages"][-1]
            five = next(b["payload"] for b in rating["buttons"] if b["title"] == "5 ⭐")
            await _ask(http, base, "person-1", "5 ⭐", five)
            noted = await _ask(http, base, "person-1", "pustakawannya cepat dan ramah")
            assert "masukannya" in noted["messages"][0]["text"], noted
        await page.get_by_role("link", name="Analitik").click()
        await page.wait_for_url(f"{base}/console/analytics")

        assert await page.inner_text("#total-pesan") == "13"
        assert await page.inner_text("#rata-rata") == "Rata-rata: 5.0"
        assert "pustakawannya cepat dan ramah" in await page.inner_text("section.analytics")
        assert await page.locator("#grafik-pesan svg rect.bar").count() >= 1
        assert await page.locator("#grafik-jenis svg rect.share").count() >= 2
        assert "jam-buka" in await page.inner_text("#faq-teratas")
        missing_row = page.locator("#judul-tidak-ada tr", has_text="kalkulus")
        assert (await missing_row.locator("td").all_inner_texts())[1:] == ["1", "1"]
        group = page.locator("#kelompok li.group", has_text="servis laptop")
        assert await group.count() == 1
        assert "3×" in await group.inner_text()
        (ROOT / "docs").mkdir(exist_ok=True)
        await page.screenshot(path=str(ROOT / "docs" / "analitik.png"), full_page=True)

        # The period filter: a day long ago has nothing.
        await page.fill("input[name=dari]", "2025-01-01")
        await page.fill("input[name=sampai]", "2025-01-02")
        await page.get_by_role("button", name="Tampilkan").click()
        await page.wait_for_url("**dari=2025-01-01**")
        assert await page.inner_text("#total-pesan") == "0"
        await page.go_back()
        await page.wait_for_url(f"{base}/console/analytics")

        async with page.expect_download() as download_info:
            await page.get_by_role("link", name="Unduh CSV").click()
        download = await download_info.value
        text = Path(await download.path()).read_text(encoding="utf-8-sig")
        assert text.startswith("bagian,label,saluran,nilai") and "faq_teratas,jam-buka,,3" in text

        # Draft an FAQ entry from the group; the check refuses it until the answer is written.
        await group.get_by_role("button", name="Buat draf FAQ").click()
        await page.wait_for_url("**/console/analytics/draft?**")
        draft = await page.input_value("textarea[name=isi]")
        assert all(q in draft for q in UNANSWERED)
        await page.get_by_role("button", name="Simpan ke FAQ").click()
        problems = page.locator("#masalah")
        await problems.wait_for()
        assert "kosong" in await problems.inner_text()
        await page.screenshot(path=str(ROOT / "docs" / "faq-draf.png"), full_page=True)
        edited = (await page.input_value("textarea[name=isi]")).replace("answer: >-\n      \n",
                                                                         f"answer: >-\n      {ANSWER}\n")
        await page.fill("textarea[name=isi]", edited)
        await page.get_by_role("button", name="Simpan ke FAQ").click()
        await page.locator("#tersimpan").wait_for()
        saved = list(faq_dir.glob("usulan-*.yml"))
        assert len(saved) == 1 and ANSWER in saved[0].read_text(encoding="utf-8")

        # A patron asks in the web chat: the new entry answers.
        chat = await context.new_page()
        await chat.goto(f"{base}/")
        await chat.fill("#text", "bisa servis laptop rusak di perpus kak?")
        await chat.press("#text", "Enter")
        await chat.locator("#log li.bot", has_text="tidak melayani servis laptop").wait_for(timeout=60000)
        await context.close()
