"""Load test of the Telegram path: N webhook updates from P simulated patrons to the fake Bot API.

Everything is real except Telegram's servers: the gateway (``create_app``) listens on
127.0.0.1, patrons POST signed updates to ``/webhooks/telegram`` (each patron sends its next
message once the previous webhook call was acknowledged, as Telegram does per chat, after an
optional think time), and the real PTB client delivers replies to ``tests.fakes.FakeTelegram``
with the production pacing (1 message/s per chat, 30/s per bot) unless switched off.
1 % of updates are delivered twice (a Telegram retry) to exercise dedupe.

Without ``--rasa-url`` the NLU is unreachable and patrons send plain numbered messages that the
engine answers with its degraded reply: this measures the gateway alone. With ``--rasa-url`` and
``--rasa-token`` (a running Rasa NLU server, e.g. ``pustakabot nlu``) patrons ask real questions
and the in-process answer engine answers them from the demo knowledge base.

Every reply is attributed to the message it answers through the transcript (a conversation's
``messages`` rows: each ``out`` row belongs to the ``in`` row before it; outbox rows and the
fake's ``sendMessage`` calls follow the ``out`` rows one to one). Printed at the end:
throughput, turnaround (webhook POST → first reply received by the fake) p50/p95/max, and the
checks — lost (a message without a processed inbox row, transcript row or delivered reply),
duplicated (inbox or transcript rows beyond one per update, deliveries beyond one per outbox
row) and out of order (a chat's messages recorded, or its replies delivered, in another order).

    .venv/bin/python benchmarks/telegram_load.py --messages 10000 --patrons 200 \
        --rasa-url http://127.0.0.1:5005 --rasa-token TOKEN
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import create_app  # noqa: E402
from bot.channel_models import InboxItem, OutboxItem  # noqa: E402
from bot.cli import upgrade_database  # noqa: E402
from bot.keys import outbox_key, sessions_key  # noqa: E402
from bot.models import Conversation, Message  # noqa: E402
from bot.render import outgoing_from_json, render_telegram  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.conftest import free_port, load_demo_data  # noqa: E402
from tests.fakes import FakeTelegram  # noqa: E402

TOKEN = "123:ABC"
SECRET = "bench-secret"
BASE_CHAT = 6_000_000_000  # > 32 bits, as real Telegram ids may be
QUESTIONS = [  # what patrons ask (no complaint or request for a person: those go to the staff queue)
    "halo",
    "ada buku laskar pelangi?",
    "jam buka perpustakaan?",
    "cara daftar jadi anggota?",
    "ada buku bumi manusia?",
    "ada acara minggu ini?",
    "berapa lama boleh pinjam buku?",
    "ada ebook?",
    "terima kasih",
]


def update(update_id: int, chat: int, text: str) -> dict:
    """A private text message update."""
    user = {"id": chat, "is_bot": False, "first_name": f"Patron{chat % 1000}", "language_code": "id"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": user,
            "chat": {"id": chat, "first_name": user["first_name"], "type": "private"},
            "date": int(time.time()),
            "text": text,
        },
    }


async def run(args: argparse.Namespace) -> int:
    """Run the load test; returns the process exit code (1 when a check failed)."""
    logging.getLogger("bot.router").setLevel(logging.ERROR)  # one "NLU unavailable" per message otherwise
    tmp = Path(tempfile.mkdtemp(prefix="tg-load-"))
    per_patron = args.messages // args.patrons
    total = per_patron * args.patrons
    async with FakeTelegram(token=TOKEN) as fake:
        settings = Settings(
            data_dir=tmp,
            rasa_url=args.rasa_url or f"http://127.0.0.1:{free_port()}",
            rasa_token=args.rasa_token,
            rasa_timeout=30,
            telegram_token=TOKEN,
            telegram_webhook_secret=SECRET,
            telegram_api_base_url=fake.base_url,
            telegram_chat_interval=args.chat_interval,
            telegram_rate=args.rate,
            log_level="WARNING",
            **({"database_url": args.database_url} if args.database_url else {}),
        )
        upgrade_database(settings)
        if args.rasa_url:
            load_demo_data(settings.effective_database_url)  # the engine answers from it
        app = create_app(settings)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        url = f"http://127.0.0.1:{port}/webhooks/telegram"
        sent_at: dict[int, list[int]] = {}  # chat -> its update ids in sending order
        posted: dict[int, list] = {}  # update id -> [chat, time of the first POST, acknowledged]
        errors = 0
        rng = random.Random(7)
        ids = iter(range(900_000_000, 900_000_000 + total))
        connector = aiohttp.TCPConnector(limit=100)

        async with aiohttp.ClientSession(connector=connector) as http:

            async def post(body: dict) -> bool:
                nonlocal errors
                for _attempt in range(5):  # like Telegram: retry until a 2xx
                    try:
                        async with http.post(url, json=body, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as r:
                            if r.status == 200:
                                return True
                    except aiohttp.ClientError:
                        pass
                    errors += 1
                    await asyncio.sleep(0.5)
                return False

            async def patron(chat: int) -> None:
                times = sent_at.setdefault(chat, [])
                for seq in range(per_patron):
                    if args.think > 0:
                        await asyncio.sleep(rng.uniform(0, 2 * args.think))
                    text = QUESTIONS[(chat + seq) % len(QUESTIONS)] if args.rasa_url else f"halo, pesan nomor {seq}"
                    update_id = next(ids)
                    posted[update_id] = [chat, time.monotonic(), False]
                    times.append(update_id)
                    body = update(update_id, chat, text)
                    posted[update_id][2] = await post(body)
                    if rng.random() < 0.01:
                        await post(body)  # Telegram retried the same update

            started = time.monotonic()
            patrons = asyncio.gather(*(patron(BASE_CHAT + p) for p in range(args.patrons)))
            deadline = started + args.timeout
            ingest = 0.0
            next_report = started + 30
            while time.monotonic() < deadline:
                if patrons.done() and not ingest:
                    patrons.result()
                    ingest = time.monotonic() - started
                    print(f"ingested {total} updates in {ingest:.1f}s ({total / ingest:.0f}/s), webhook retries {errors}",
                          flush=True)
                if ingest:
                    async with app[sessions_key]() as session:
                        pending = await session.scalar(
                            select(func.count()).select_from(InboxItem).where(InboxItem.status == "pending")
                        ) + await session.scalar(
                            select(func.count()).select_from(OutboxItem).where(OutboxItem.status == "pending")
                        )
                    if not pending:
                        break
                if time.monotonic() >= next_report:
                    next_report += 30
                    async with app[sessions_key]() as session:
                        done = await session.scalar(
                            select(func.count()).select_from(InboxItem).where(InboxItem.status == "done")
                        )
                    print(f"  {time.monotonic() - started:.0f}s: {len(posted)} posted, {done} processed, "
                          f"{len(fake.sent)} replies delivered", flush=True)
                await asyncio.sleep(0.5)
            else:
                print(f"STOPPED after {args.timeout:.0f}s with work left", flush=True)
                patrons.cancel()
                await asyncio.gather(patrons, return_exceptions=True)
            await asyncio.sleep(1.0)  # let late duplicates (if any) arrive
            elapsed = (fake.sent_at[-1] if fake.sent_at else time.monotonic()) - started

        writer = app[outbox_key].writer
        report = await check(app, fake, sent_at, posted, total)
        print(f"messages {total} from {args.patrons} patrons; replies delivered {len(fake.sent)}")
        print(f"throughput {len(fake.sent) / elapsed:.1f} replies/s, {report['answered'] / elapsed:.1f} messages "
              f"answered/s over {elapsed:.1f}s (first post to last reply)")
        turnaround = sorted(report["turnaround"])
        if turnaround:
            p50 = statistics.median(turnaround)
            p95 = turnaround[int(0.95 * (len(turnaround) - 1))]
            print(f"turnaround ({len(turnaround)} messages) p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
                  f"max {turnaround[-1] * 1000:.0f} ms")
        print(f"answered {report['answered']}, still queued when the run ended {report['queued']}")
        print(f"group commit: {writer.jobs} writes in {writer.commits} transactions")
        print(f"lost {report['lost']}, duplicated {report['duplicated']}, out of order {report['out_of_order']}"
              + (f" (unpaired conversations {report['unpaired']})" if report["unpaired"] else ""))
        lost, duplicated, out_of_order = report["lost"], report["duplicated"], report["out_of_order"]
        await runner.cleanup()
        return 0 if lost == duplicated == out_of_order == 0 else 1


async def check(
    app: web.Application,
    fake: FakeTelegram,
    sent_at: dict[int, list[int]],
    posted: dict[int, list],
    total: int,
) -> dict:
    """Lost / duplicated / out-of-order counts and each message's turnaround (see the docstring)."""
    deliveries: dict[int, list[tuple[str, float]]] = {}
    for params, at in zip(fake.sent, fake.sent_at, strict=True):
        deliveries.setdefault(int(params["chat_id"]), []).append((params["text"], at))
    lost = duplicated = out_of_order = unpaired = answered = queued = 0
    turnaround: list[float] = []
    async with app[sessions_key]() as session:
        inbox = {
            int(pid): status
            for pid, status in (await session.execute(select(InboxItem.platform_id, InboxItem.status))).all()
        }
        rows = await session.scalar(select(func.count()).select_from(InboxItem))
        duplicated += max(0, int(rows or 0) - len(inbox))
        # acknowledged but never stored, or failed for good
        lost += sum(1 for uid, (_, _, ok) in posted.items() if ok and inbox.get(uid) not in ("done", "pending"))
        convs = {c.external_id: c.id for c in await session.scalars(select(Conversation).where(Conversation.channel == "telegram"))}
        for chat, update_ids in sent_at.items():
            conv_id = convs.get(str(chat))
            if conv_id is None:
                queued += sum(1 for uid in update_ids if inbox.get(uid) == "pending")
                lost += sum(1 for uid in update_ids if inbox.get(uid) == "done")
                continue
            transcript = (
                await session.execute(
                    select(Message.direction, Message.platform_message_id).where(Message.conversation_id == conv_id).order_by(Message.id)
                )
            ).all()
            ins = [int(pid) for direction, pid in transcript if direction == "in"]
            duplicated += len(ins) - len(set(ins))
            lost += sum(1 for uid in update_ids if inbox.get(uid) == "done" and uid not in ins)
            order = list(dict.fromkeys(uid for uid in ins if uid in posted))
            recorded = set(order)
            expected = [uid for uid in update_ids if uid in recorded]
            out_of_order += sum(1 for a, b in zip(order, expected, strict=True) if a != b)
            owner: list[int] = []  # for each out row, the update it answers
            current = None
            for direction, pid in transcript:
                if direction == "in":
                    current = int(pid)
                elif current is not None:
                    owner.append(current)
            outbox = (
                await session.execute(
                    select(OutboxItem.status, OutboxItem.message).where(OutboxItem.conversation_id == conv_id).order_by(OutboxItem.id)
                )
            ).all()
            got = deliveries.get(chat, [])
            if len(got) > len(outbox):
                duplicated += len(got) - len(outbox)
            if not len(got) <= len(outbox) <= len(owner):
                unpaired += 1
                continue
            first: dict[int, float] = {}
            for uid, (text, at), (_status, message) in zip(owner, got, outbox, strict=False):
                if render_telegram(outgoing_from_json(message)).parts[0].text != text:
                    out_of_order += 1
                first.setdefault(uid, at)
            waiting = len(outbox) > len(got)
            for uid in update_ids:
                status = inbox.get(uid)
                if uid in first:
                    answered += 1
                    turnaround.append(first[uid] - posted[uid][1])
                elif status == "pending" or (status == "done" and waiting):
                    queued += 1  # not answered yet when the run ended
                elif uid in ins:  # processed, nothing left to deliver, no reply: lost
                    lost += 1
    return {
        "lost": lost, "duplicated": duplicated, "out_of_order": out_of_order, "unpaired": unpaired,
        "answered": answered, "queued": queued, "turnaround": turnaround,
    }


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--patrons", type=int, default=200)
    parser.add_argument("--rasa-url", default="", help="a running Rasa NLU server; empty = NLU down (gateway only)")
    parser.add_argument("--rasa-token", default="", help="its API token (PUSTAKABOT_RASA_TOKEN)")
    parser.add_argument("--chat-interval", type=float, default=1.0, help="pacing per chat (s); Telegram: 1")
    parser.add_argument("--rate", type=float, default=30.0, help="messages/s for the bot; Telegram: 30")
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up waiting for replies after (s)")
    parser.add_argument("--think", type=float, default=0.0, help="mean seconds a patron waits before each message")
    parser.add_argument("--database-url", default="", help="gateway database (default: SQLite in a temp dir)")
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
