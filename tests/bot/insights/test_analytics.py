"""The librarians' analytics page over HTTP: figures, period filter, CSV, roles, bad input, and
turning a group of unanswered questions into a live FAQ entry."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.handoff_models import AuditEntry
from bot.keys import sessions_key
from tests.bot.handoff.conftest import csrf_of, login, make_staff, patron_says
from tests.conftest import ROOT

QUESTIONS = ["apakah perpustakaan menyediakan printer 3d?", "bisa pakai printer 3d di perpus ga kak",
             "printer 3d ada di perpustakaan?"]
ANSWER = "Printer 3D belum tersedia di Perpustakaan Kota Prabumulih, Kak; yang ada printer biasa di Lantai 1."


def faq_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "faq"
    shutil.copytree(ROOT / "knowledge" / "faq", folder)
    return folder


async def test_analytics_figures_csv_and_filters(aiohttp_client, handoff_app, tmp_path: Path) -> None:
    app = handoff_app(faq_dir=faq_copy(tmp_path))
    client = await aiohttp_client(app)
    await make_staff(app, "sari", "Sari")
    for n in range(3):
        await patron_says(app, f"p{n}", "jam buka perpustakaan?")
    await patron_says(app, "p9", "jam buka perpustakaan?", channel="telegram")
    for n, question in enumerate(QUESTIONS):
        await patron_says(app, f"q{n}", question)  # the NLU is down: not answered
    await patron_says(app, "h1", "mau bicara dengan petugas")

    assert (await client.get("/console/analytics", allow_redirects=False)).status == 303  # log in first
    await login(client, "sari")  # an agent (librarian) may see the analytics
    page = await client.get("/console/analytics")
    html = await page.text()
    assert page.status == 200
    assert 'id="total-pesan">8<' in html
    assert "<svg" in html and 'data-channel="telegram" data-count="1"' in html
    assert '<td data-kind="answered">4 (50%)</td>' in html and '<td data-kind="handed_over">1 (12%)</td>' in html
    assert "<code>jam-buka</code></td><td>4</td>" in html
    assert "printer 3d" in html and "Buat draf FAQ" in html
    for sender in ("p0", "q1", "h1"):
        assert f">{sender}<" not in html and f'"{sender}"' not in html  # no patron identities

    export = await client.get("/console/analytics.csv")
    assert export.status == 200 and "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO((await export.text()).lstrip("\ufeff"))))
    assert rows[0] == ["bagian", "label", "saluran", "nilai"]
    assert ["jenis_jawaban", "answered", "", "4"] in rows and ["faq_teratas", "jam-buka", "", "4"] in rows
    assert ["handoff", "jumlah", "", "1"] in rows
    assert any(r[0] == "pertanyaan_belum_terjawab" and r[-1] == "3" for r in rows)

    past = (date.today() - timedelta(days=60)).isoformat()
    older = await client.get("/console/analytics", params={"dari": past, "sampai": past})
    assert older.status == 200 and 'id="total-pesan">0<' in await older.text()
    for bad in ({"dari": "kemarin"}, {"dari": "2026-02-10", "sampai": "2026-02-01"},
                {"dari": "2020-01-01", "sampai": "2026-01-01"}):
        response = await client.get("/console/analytics", params=bad)
        assert response.status == 400, bad
    assert (await client.get("/console/analytics/draft")).status == 400


async def test_unanswered_group_becomes_a_live_faq_entry(aiohttp_client, handoff_app, tmp_path: Path) -> None:
    folder = faq_copy(tmp_path)
    app = handoff_app(faq_dir=folder)
    client = await aiohttp_client(app)
    await make_staff(app, "sari", "Sari")
    for n, question in enumerate(QUESTIONS):
        before = await patron_says(app, f"q{n}", question)
        assert "Printer 3D belum" not in before.messages[0].text
    await login(client, "sari")
    html = await (await client.get("/console/analytics")).text()
    assert html.count('class="secondary draft"') == 1  # the three questions are one group

    draft = await client.get("/console/analytics/draft", params=[("q", q) for q in QUESTIONS])
    form = await draft.text()
    assert draft.status == 200 and "usulan-" in form and QUESTIONS[0] in form
    csrf = csrf_of(form)
    yaml_text = "\n".join(f"      - {q}" for q in QUESTIONS)
    empty = f"faqs:\n  - id: printer-3d\n    questions:\n{yaml_text}\n    answer: >-\n      \n"
    refused = await client.post("/console/analytics/draft", data={"_csrf": csrf, "berkas": "usulan-printer-3d.yml",
                                                                  "isi": empty})
    assert refused.status == 422 and "kosong" in await refused.text()
    duplicate = empty.replace("id: printer-3d", "id: jam-buka").replace("      \n", f"      {ANSWER}\n")
    refused = await client.post("/console/analytics/draft", data={"_csrf": csrf, "berkas": "usulan-printer-3d.yml",
                                                                  "isi": duplicate})
    assert refused.status == 422 and "sudah dipakai" in await refused.text()
    for name in ("../jam.yml", "jam-layanan.yml"):
        bad = await client.post("/console/analytics/draft", data={"_csrf": csrf, "berkas": name, "isi": duplicate})
        assert bad.status == 422, name
    assert not (folder / "usulan-printer-3d.yml").exists()

    good = empty.replace("      \n", f"      {ANSWER}\n") + "    tags: [fasilitas]\n"
    saved = await client.post("/console/analytics/draft", data={"_csrf": csrf, "berkas": "usulan-printer-3d.yml",
                                                                "isi": good}, allow_redirects=False)
    assert saved.status == 303 and "tersimpan=usulan-printer-3d.yml" in saved.headers["Location"]
    assert (folder / "usulan-printer-3d.yml").read_text(encoding="utf-8") == good
    after = await patron_says(app, "q9", "apakah perpustakaan menyediakan printer 3d?")
    assert "Printer 3D belum tersedia" in after.messages[0].text
    async with app[sessions_key]() as session:
        line = await session.scalar(select(AuditEntry).where(AuditEntry.action == "faq_draft_saved"))
    assert line is not None and line.detail == {"file": "usulan-printer-3d.yml", "ids": ["printer-3d"]}
