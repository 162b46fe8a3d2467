"""How long the console's analytics take on a busy month: N patron messages with their turns,
some feedback and handoffs, in a fresh SQLite (or ``--database-url``) database.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/analytics_bench.py --messages 30000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.analytics import Period, report
from bot.cli import upgrade_database
from bot.db_sessions import gateway_sessions
from bot.feedback_models import Feedback, TurnRecord
from bot.models import Conversation, Message
from bot.settings import Settings
from knowledge.db import make_async_engine

QUESTIONS = ["jam buka perpustakaan?", "cara daftar anggota", "ada wifi?", "bisa servis laptop?", "parkir motor dimana",
             "denda telat berapa", "ada ruang menyusui?", "boleh bawa makanan?"]


async def main(messages: int, database_url: str | None) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="analytics-bench-"))
    settings = Settings(data_dir=tmp, database_url=database_url or "", embedding_model="")
    upgrade_database(settings)
    engine = make_async_engine(settings.effective_database_url)
    sessions = gateway_sessions(engine)
    rng = random.Random(1)
    now = datetime.now(UTC)
    started = time.perf_counter()
    async with sessions.begin() as session:
        convs = [Conversation(channel=rng.choice(["web", "telegram", "whatsapp"]), external_id=f"p{i}")
                 for i in range(max(1, messages // 10))]
        session.add_all(convs)
        await session.flush()
        for i in range(messages):
            conv = rng.choice(convs)
            at = now - timedelta(minutes=rng.randrange(30 * 24 * 60))
            msg = Message(conversation_id=conv.id, direction="in", author="patron", text=rng.choice(QUESTIONS),
                          created_at=at)
            session.add(msg)
            await session.flush()
            kind = rng.choices(["answered", "asked_back", "declined", "handed_over"], [70, 15, 10, 5])[0]
            turn = TurnRecord(conversation_id=conv.id, message_id=msg.id, channel=conv.channel, kind=kind,
                              action="x", faq_id=f"faq-{rng.randrange(40)}" if kind == "answered" else None,
                              created_at=at)
            session.add(turn)
            if i % 20 == 0:
                await session.flush()
                session.add(Feedback(conversation_id=conv.id, kind="answer", value=rng.choice([1, -1]),
                                     turn_id=turn.id, created_at=at))
    seeded = time.perf_counter() - started
    zone = ZoneInfo("Asia/Jakarta")
    today = now.astimezone(zone).date()
    for days in (7, 30):
        async with sessions() as session:
            t0 = time.perf_counter()
            data = await report(session, Period(today - timedelta(days=days - 1), today, zone))
            took = time.perf_counter() - t0
        print(f"{days:>2} days: {data.messages} messages, {data.turns} turns, {len(data.groups)} groups "
              f"-> report in {took * 1000:.0f} ms")
    print(f"(seeded {messages} messages in {seeded:.1f} s)")
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=30000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.database_url))
