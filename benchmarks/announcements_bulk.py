"""Bulk announcement to N Telegram subscribers through the real gateway, outbox and PTB client
against the fake Bot API: how long queueing takes and the send rate (Telegram's 30/s pacing).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/announcements_bulk.py 600
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from aiohttp import web
from bot.app import create_app
from bot.keys import router_key, scheduler_key, sessions_key
from bot.messages import Incoming
from bot.subscription_models import SCHEDULED, Announcement
from tests.bot.channels.conftest import TG_SECRET, TOKEN, channel_settings
from tests.conftest import free_port
from tests.fakes import FakeTelegram

N = int(sys.argv[1]) if len(sys.argv) > 1 else 600


async def main() -> None:
    async with FakeTelegram(token=TOKEN) as fake:
        tmp = Path(tempfile.mkdtemp())
        s = channel_settings(tmp, free_port(), telegram_token=TOKEN, telegram_webhook_secret=TG_SECRET,
                             telegram_api_base_url=fake.base_url, telegram_chat_interval=1.0, scheduler_interval_seconds=3600)
        app = create_app(s)
        runner = web.AppRunner(app); await runner.setup()
        for i in range(N):
            await app[router_key].handle(Incoming(channel="telegram", conversation_id=str(7_000_000 + i), patron_id="x", text="langganan pengumuman"))
        async with app[sessions_key].begin() as session:
            session.add(Announcement(topic="pengumuman", text="Uji kirim massal", status=SCHEDULED, send_at=datetime.now(UTC)))
        t0 = time.monotonic()
        await app[scheduler_key].tick()
        t1 = time.monotonic()
        await fake.wait_for_sent(N, timeout=600)
        t2 = time.monotonic()
        span = fake.sent_at[-1] - fake.sent_at[0]
        print(f"{N} recipients: queued in {t1-t0:.1f} s, all accepted {t2-t0:.1f} s after the tick; send span {span:.1f} s = {(N-1)/span:.1f} msg/s")
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
