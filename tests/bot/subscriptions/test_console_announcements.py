"""The announcement pages over HTTP: login, CSRF, validation with clear Indonesian errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.app import create_app
from bot.handoff_models import AuditEntry
from bot.keys import sessions_key
from bot.subscription_models import Announcement
from tests.bot.handoff.conftest import derive, login, make_staff


async def test_announcements_need_login_csrf_and_valid_input(aiohttp_client, subs_settings) -> None:
    app = create_app(derive(subs_settings, console_cookie_secure="false"))
    client = await aiohttp_client(app)
    anonymous = await client.get("/console/pengumuman", allow_redirects=False)
    assert anonymous.status == 303 and anonymous.headers["Location"].endswith("/console/login")
    await make_staff(app, "rina", "Rina Pustakawan", role="agent")
    csrf = await login(client, "rina")
    page = await client.get("/console/pengumuman")
    assert page.status == 200 and "Pengumuman ke pelanggan" in await page.text()
    form = {"topic": "acara_anak", "text": "Dongeng Sabtu pagi", "when": "now"}
    refused = await client.post("/console/pengumuman", data=form)
    assert refused.status == 403  # no CSRF token
    bad = await client.post("/console/pengumuman", data={**form, "_csrf": csrf, "image_url": "javascript:alert(1)",
                                                          "topic": "bukan-topik", "text": ""})
    body = await bad.text()
    assert bad.status == 400
    assert "Pilih topik langganan." in body and "Teks pengumuman wajib diisi." in body and "Alamat gambar" in body
    past = (datetime.now(ZoneInfo("Asia/Jakarta")) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    late = await client.post("/console/pengumuman", data={**form, "_csrf": csrf, "when": "later", "send_at": past})
    assert late.status == 400 and "Waktu kirim sudah lewat" in await late.text()
    preview = await client.post("/console/pengumuman/pratinjau", data={**form, "_csrf": csrf, "link_title": "Daftar",
                                                                       "link_url": "https://example.id/daftar"})
    html = await preview.text()
    assert preview.status == 200 and 'data-channel="telegram"' in html and 'data-channel="instagram"' in html
    # The link is a button in every channel's preview, opening the address in a new tab.
    button = '<a class="link-button" href="https://example.id/daftar" target="_blank" rel="noopener noreferrer"'
    assert html.count(button) == 4 and "Daftar ↗</a>" in html
    assert "Daftar: https://example.id/daftar" not in html
    untitled = await client.post("/console/pengumuman/pratinjau", data={**form, "_csrf": csrf,
                                                                        "link_url": "https://example.id/daftar"})
    assert "Buka tautan ↗</a>" in await untitled.text()
    for address in ("javascript:alert(1)", "data:text/html,hai", "https://", "ftp://example.id/berkas"):
        refused_link = await client.post("/console/pengumuman/pratinjau", data={**form, "_csrf": csrf,
                                                                                "link_title": "Daftar", "link_url": address})
        assert refused_link.status == 400
        assert "Alamat tombol tautan harus berupa tautan https:// (atau http://) yang lengkap." in await refused_link.text()
    # Scheduled for tomorrow 09:00 library time: stored in UTC, audited, cancellable.
    tomorrow = (datetime.now(ZoneInfo("Asia/Jakarta")) + timedelta(days=1)).strftime("%Y-%m-%dT09:00")
    saved = await client.post("/console/pengumuman", data={**form, "_csrf": csrf, "when": "later", "send_at": tomorrow},
                              allow_redirects=False)
    assert saved.status == 303
    async with app[sessions_key]() as session:
        row = await session.scalar(select(Announcement))
        assert row is not None and row.status == "scheduled"
        send_at = row.send_at if row.send_at.tzinfo else row.send_at.replace(tzinfo=UTC)
        assert send_at.astimezone(ZoneInfo("Asia/Jakarta")).strftime("%Y-%m-%dT%H:%M") == tomorrow
        assert await session.scalar(select(AuditEntry.action).where(AuditEntry.action == "announcement_scheduled"))
    detail = await client.get(saved.headers["Location"])
    assert "Terjadwal" in await detail.text()
    cancel = await client.post(f"{saved.headers['Location']}/batal", data={"_csrf": csrf}, allow_redirects=False)
    assert cancel.status == 303
    again = await client.post(f"{saved.headers['Location']}/batal", data={"_csrf": csrf}, allow_redirects=False)
    assert again.status == 409
    missing = await client.get("/console/pengumuman/99999")
    assert missing.status == 404
