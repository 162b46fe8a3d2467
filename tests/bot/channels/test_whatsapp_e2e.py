"""WhatsApp with real answers: gateway (and its answer engine) in-process, the stack's real NLU.

Only Meta's servers are fake (``FakeWhatsApp``); the message goes webhook → inbox → router →
Rasa NLU → answer engine → knowledge base → outbox → Cloud API messages endpoint, then to a librarian in
the staff console and back to the bot.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.cli import upgrade_database
from bot.keys import sessions_key
from bot.models import Conversation
from bot.settings import Settings
from tests.bot.channels.conftest import WA_APP_SECRET
from tests.bot.handoff.conftest import ALWAYS_OPEN, login, make_staff
from tests.conftest import Stack, load_demo_data
from tests.fakes import FakeWhatsApp
from tests.fakes.whatsapp import PHONE_NUMBER_ID, post_signed, text_message


async def _bodies_after(fake: FakeWhatsApp, start: int, needle: str, timeout: float = 60.0) -> list[str]:
    """Text bodies sent since index ``start``, once one contains ``needle``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        bodies = [m["text"]["body"] if m["type"] == "text" else m["interactive"]["body"]["text"]
                  for m in fake.sent[start:] if m["type"] in ("text", "interactive")]
        if any(needle in b for b in bodies):
            return bodies
        if loop.time() > deadline:
            raise TimeoutError(f"no message with {needle!r}: {bodies}")
        await asyncio.sleep(0.1)


@pytest.mark.e2e
async def test_whatsapp_patron_gets_real_answers_a_librarian_and_back(
    stack: Stack, tmp_path: Path, aiohttp_client, fake_whatsapp: FakeWhatsApp
) -> None:
    schedule = tmp_path / "schedule.yml"
    schedule.write_text(ALWAYS_OPEN, encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path,
        rasa_url=stack.rasa_url,
        rasa_token=stack.rasa_token,
        database_url=f"sqlite:///{tmp_path / 'gateway.db'}",
        rasa_timeout=60,
        whatsapp_token=fake_whatsapp.token,
        whatsapp_phone_number_id=PHONE_NUMBER_ID,
        whatsapp_app_secret=WA_APP_SECRET,
        whatsapp_api_base_url=fake_whatsapp.base_url,
        staff_schedule_file=schedule,
        console_cookie_secure="false",
    )
    upgrade_database(settings)
    load_demo_data(settings.effective_database_url)  # the engine runs in this gateway, on this database
    app = create_app(settings)
    client = await aiohttp_client(app)
    await make_staff(app, "rina", "Rina")
    wa_id = f"628{random.randrange(10**9, 10**10)}"  # a fresh Rasa tracker per run
    now = int(time.time())

    async def says(text: str, i: int) -> None:
        assert await post_signed(client, text_message(wa_id, text, at=now + i), WA_APP_SECRET) == 200

    await says("ada buku laskar pelangi?", 1)
    answer = await _bodies_after(fake_whatsapp, 0, "Laskar Pelangi")
    assert any("eksemplar" in b and "Kak" in b for b in answer)
    assert fake_whatsapp.sent[0]["to"] == wa_id

    start = len(fake_whatsapp.sent)
    await says("mau bicara dengan petugas", 2)
    await _bodies_after(fake_whatsapp, start, "antrean nomor 1")

    csrf = await login(client, "rina")
    queue = await (await client.get("/console/")).text()
    assert "WhatsApp" in queue and "Siti Aminah" in queue
    async with app[sessions_key]() as session:
        conv_id = await session.scalar(select(Conversation.id).where(Conversation.external_id == wa_id))
    assert (await client.post(f"/console/c/{conv_id}/claim", data={"_csrf": csrf}, allow_redirects=False)).status == 303
    start = len(fake_whatsapp.sent)
    await client.post(f"/console/c/{conv_id}/reply", data={"_csrf": csrf, "text": "Halo Kak Siti, saya Rina. Bukunya ada di rak 813."})
    await _bodies_after(fake_whatsapp, start, "saya Rina")
    assert (await client.post(f"/console/c/{conv_id}/resolve", data={"_csrf": csrf}, allow_redirects=False)).status == 303
    await _bodies_after(fake_whatsapp, start, "sudah selesai")

    # Back with the bot: a real answer again.
    start = len(fake_whatsapp.sent)
    await says("jam buka perpustakaan?", 3)
    back = await _bodies_after(fake_whatsapp, start, "WIB")
    assert any("08.00" in b for b in back)
