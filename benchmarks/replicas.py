"""Several replicas on one machine: N gateways and M Rasa NLU servers on PostgreSQL and Redis
behind HAProxy, Telegram load through it, one gateway killed with ``kill -9`` and restarted.

What it starts (all on 127.0.0.1, free ports, a throw-away PostgreSQL database and Redis key
prefix, everything stopped at the end even on error):

* ``--nlu`` Rasa NLU servers (``rasa run --enable-api``) sharing one trained model
  (``pustakabot train``'s cache in ``models/``: trains once when the NLU data changed);
* ``--gateways`` gateway processes (``python -m bot gateway``), each with its answer engine,
  on one PostgreSQL database (migrated, demo knowledge loaded) and one Redis;
* HAProxy (Debian package ``haproxy``; ``scripts/setup.sh --haproxy`` installs it) with two
  frontends: the gateways (round robin, ``/healthz`` checks, a failed connection retried on
  another replica) and the NLU servers (what every gateway calls);
* :class:`tests.fakes.FakeTelegram`: the Bot API the gateways deliver to (no pacing).

Then ``--chats`` chats each send ``--per-chat`` real library questions as Telegram webhook
updates through HAProxy; a chat sends its next update once the previous POST was acknowledged
and re-POSTs while a POST fails, as Telegram does. With ``--kill`` (the default) one gateway
gets SIGKILL after a third of the updates were acknowledged and is started again at once.
The run ends when every acknowledged update got its real answer (checked on each delivery to
the fake) or ``--limit`` seconds after the last acknowledgement. Lost, duplicated and out of
order are counted as in ``benchmarks/faults.py`` (same attribution code: the transcript, the
outbox and the fake's deliveries).

With ``--console`` (the default) it then checks, across replicas: a librarian's console
websocket open on gateway 0 sees a patron's request for a person taken in by gateway 2 (and
their next message taken in by gateway 1); two librarians logged in on gateways 0 and 2 claim
that conversation at once: exactly one wins.

    .venv/bin/python benchmarks/replicas.py [--gateways 3] [--nlu 2] [--chats 30] [--per-chat 6]
    .venv/bin/python benchmarks/replicas.py --gateways 1 --no-kill --no-console --chats 60 --per-chat 10

Prints one JSON object (``--json``) or a short report; exit code 1 when a check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.faults import Sent, attribute  # noqa: E402
from benchmarks.telegram_load import QUESTIONS, update  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.fakes import FakeTelegram  # noqa: E402

TOKEN = "123:REPLICAS"
SECRET = "replicas-secret"
PASSWORD = "rahasia-replika-123"
BASE_CHAT = 8_000_000_000
ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


@dataclass
class Report:
    """What one run measured."""

    gateways: int
    nlu: int
    updates: int = 0
    acknowledged: int = 0
    answered: int = 0
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    transcript_duplicates: int = 0
    post_retries: int = 0
    seconds: float = 0.0  # first POST to last real answer delivered
    messages_per_second: float = 0.0
    killed: str = ""
    restart_to_healthy: float | None = None
    console_saw_other_replica: bool | None = None
    claim_statuses: list[int] = field(default_factory=list)
    claim_rows: int | None = None
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every check passed."""
        console_ok = self.console_saw_other_replica in (None, True)
        claim_ok = not self.claim_statuses or (sorted(self.claim_statuses) == [303, 409] and self.claim_rows == 1)
        return (
            self.acknowledged == self.updates and not self.lost and not self.duplicated
            and not self.out_of_order and console_ok and claim_ok
        )


@dataclass
class Proc:
    """A process we started (its own session: killed as a group)."""

    name: str
    popen: subprocess.Popen[bytes]
    port: int
    log: Path


@dataclass
class Cluster:
    """Everything the run started, and where to reach it."""

    work: Path
    database_url: str
    redis_url: str
    prefix: str
    rasa_token: str
    front_port: int = 0
    nlu_port: int = 0
    rasas: list[Proc] = field(default_factory=list)
    gateways: list[Proc] = field(default_factory=list)
    haproxy: Proc | None = None
    every: list[Proc] = field(default_factory=list)  # every process ever started, for the cleanup

    @property
    def front(self) -> str:
        return f"http://127.0.0.1:{self.front_port}"

    def gateway_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.gateways[index].port}"


def _spawn(name: str, argv: list[str], env: dict[str, str], port: int, work: Path) -> Proc:
    log = work / f"{name}.log"
    handle = log.open("ab")
    popen = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    handle.close()
    return Proc(name, popen, port, log)


def _stop(proc: Proc, grace: float = 15.0) -> None:
    if proc.popen.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.popen.pid, signal.SIGTERM)
        try:
            proc.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.popen.pid, signal.SIGKILL)
            proc.popen.wait(timeout=10)


def create_database() -> str:
    """A fresh PostgreSQL database (its URL), migrated, with the demo knowledge base."""
    from sqlalchemy import create_engine, text

    from bot.cli import upgrade_database
    from bot.settings import Settings
    from tests.conftest import load_demo_data

    name = f"pb_replicas_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    upgrade_database(Settings(database_url=url))
    load_demo_data(url)
    return url


def drop_database(url: str) -> None:
    """Drop the run's database."""
    from sqlalchemy import create_engine, text

    name = url.rsplit("/", 1)[1]
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def model_for(database_url: str) -> Path:
    """The trained NLU model for this knowledge base (trained once, then cached in models/)."""
    from bot.settings import Settings
    from bot.training import train

    return train(Settings(database_url=database_url))


def haproxy_config(cluster: Cluster) -> str:
    """HAProxy in front of the gateways and of the NLU servers."""
    gateways = "\n".join(
        f"    server gw{i} 127.0.0.1:{g.port} check inter 500ms fall 2 rise 2" for i, g in enumerate(cluster.gateways)
    )
    rasas = "\n".join(
        f"    server nlu{i} 127.0.0.1:{r.port} check inter 1s fall 2 rise 1" for i, r in enumerate(cluster.rasas)
    )
    return f"""global
    maxconn 2000

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch
    retry-on conn-failure empty-response
    option forwardfor

frontend gateways
    bind 127.0.0.1:{cluster.front_port}
    default_backend gateways

backend gateways
    balance roundrobin
    option httpchk GET /healthz
{gateways}

frontend nlu
    bind 127.0.0.1:{cluster.nlu_port}
    default_backend nlu

backend nlu
    balance leastconn
    option httpchk GET /
{rasas}
"""


def gateway_env(cluster: Cluster, fake: FakeTelegram, port: int, index: int) -> dict[str, str]:
    """The environment of one gateway replica."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "HF_HUB_OFFLINE": "1",
        "MALLOC_ARENA_MAX": "2",
        "PUSTAKABOT_HOST": "127.0.0.1",
        "PUSTAKABOT_PORT": str(port),
        "PUSTAKABOT_DATA_DIR": str(cluster.work / f"gw{index}"),
        "PUSTAKABOT_DATABASE_URL": cluster.database_url,
        "PUSTAKABOT_REDIS_URL": cluster.redis_url,
        "PUSTAKABOT_REDIS_PREFIX": cluster.prefix,
        "PUSTAKABOT_SECRET_KEY": "replicas-share-one-signing-key",
        "PUSTAKABOT_RASA_URL": f"http://127.0.0.1:{cluster.nlu_port}",
        "PUSTAKABOT_RASA_TOKEN": cluster.rasa_token,
        "PUSTAKABOT_RASA_TIMEOUT": "30",
        "PUSTAKABOT_LOG_LEVEL": "WARNING",
        "PUSTAKABOT_FAQ_FINE_TUNE": "false",
        "PUSTAKABOT_TELEGRAM_TOKEN": TOKEN,
        "PUSTAKABOT_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "PUSTAKABOT_TELEGRAM_MODE": "webhook",
        "PUSTAKABOT_TELEGRAM_API_BASE_URL": fake.base_url,
        "PUSTAKABOT_TELEGRAM_CHAT_INTERVAL": "0",
        "PUSTAKABOT_TELEGRAM_RATE": "10000",
        "PUSTAKABOT_HOLD_NOTICE_SECONDS": "60",
        "PUSTAKABOT_CONSOLE_COOKIE_SECURE": "false",
        "PUSTAKABOT_TRUSTED_PROXIES": "127.0.0.1",
        "PUSTAKABOT_STAFF_SCHEDULE_FILE": str(cluster.work / "schedule.yml"),
    }


ALWAYS_OPEN = """
jam: {senin: "00:00-24:00", selasa: "00:00-24:00", rabu: "00:00-24:00", kamis: "00:00-24:00",
      jumat: "00:00-24:00", sabtu: "00:00-24:00", minggu: "00:00-24:00"}
libur: {}
"""


def start_gateway(cluster: Cluster, fake: FakeTelegram, index: int, port: int) -> Proc:
    """Start gateway replica ``index`` on ``port``."""
    proc = _spawn(f"gateway{index}", [sys.executable, "-m", "bot", "gateway"],
                  gateway_env(cluster, fake, port, index), port, cluster.work)
    cluster.every.append(proc)
    return proc


async def wait_http(url: str, timeout: float, *, proc: Proc | None = None, status: int = 200) -> float:
    """Poll ``url`` until it answers ``status``; returns the seconds it took."""
    started = time.monotonic()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as http:
        while True:
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with http.get(url) as r:
                    if r.status == status:
                        return time.monotonic() - started
            if proc is not None and proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited; see {proc.log}")
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"{url} not answering {status} after {timeout:.0f} s")
            await asyncio.sleep(0.25)


async def start_cluster(args: argparse.Namespace, fake: FakeTelegram, work: Path) -> Cluster:
    """PostgreSQL database, NLU servers, gateways and HAProxy, all healthy."""
    from bot.training import rasa_env
    from bot.settings import Settings

    haproxy = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if haproxy is None:
        raise RuntimeError("HAProxy is not installed (bash scripts/setup.sh --haproxy)")
    database_url = await asyncio.to_thread(create_database)
    cluster = Cluster(work, database_url, args.redis_url, f"pbrep:{uuid.uuid4().hex[:8]}:", uuid.uuid4().hex)
    (work / "schedule.yml").write_text(ALWAYS_OPEN, encoding="utf-8")
    model = await asyncio.to_thread(model_for, database_url)
    settings = Settings(database_url=database_url)
    for i in range(args.nlu):
        port = free_port()
        argv = [str(settings.rasa_venv / "bin" / "rasa"), "run", "--enable-api", "--auth-token", cluster.rasa_token,
                "--model", str(model), "--interface", "127.0.0.1", "--port", str(port)]
        proc = _spawn(f"rasa{i}", argv, rasa_env(settings), port, work)
        cluster.rasas.append(proc)
        cluster.every.append(proc)
    cluster.front_port, cluster.nlu_port = free_port(), free_port()
    for i in range(args.gateways):
        cluster.gateways.append(start_gateway(cluster, fake, i, free_port()))
    config = work / "haproxy.cfg"
    config.write_text(haproxy_config(cluster), encoding="utf-8")
    cluster.haproxy = _spawn("haproxy", [haproxy, "-db", "-f", str(config)], dict(os.environ), cluster.front_port, work)
    cluster.every.append(cluster.haproxy)
    for proc in cluster.rasas:
        await wait_http(f"http://127.0.0.1:{proc.port}/", args.start_timeout, proc=proc)
    for proc in cluster.gateways:
        await wait_http(f"http://127.0.0.1:{proc.port}/healthz", args.start_timeout, proc=proc)
    await wait_http(f"{cluster.front}/healthz", 30)
    return cluster


def stop_cluster(cluster: Cluster) -> None:
    """Stop every process we started, then drop the database and the Redis keys."""
    for proc in reversed(cluster.every):
        _stop(proc)
    with contextlib.suppress(Exception):
        drop_database(cluster.database_url)
    with contextlib.suppress(Exception):
        import redis

        client = redis.Redis.from_url(cluster.redis_url)
        keys = list(client.scan_iter(match=cluster.prefix + "*"))
        if keys:
            client.delete(*keys)
        client.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(cluster: Cluster, fake: FakeTelegram, args: argparse.Namespace, report: Report) -> None:
    """The Telegram load through HAProxy, the kill and restart, the wait, the attribution."""
    chats = [BASE_CHAT + c for c in range(args.chats)]
    total = report.updates = args.chats * args.per_chat
    updates: dict[int, Sent] = {}
    ids = iter(range(700_000_000, 700_000_000 + total))
    third = asyncio.Event()
    acked = 0
    url = f"{cluster.front}/webhooks/telegram"
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    cpu_before = {p.name: cpu_seconds(p.popen.pid) for p in [*cluster.gateways, *cluster.rasas]}
    spent_before_kill: dict[str, float] = {}  # CPU of a killed process, up to its kill

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15),
                                     connector=aiohttp.TCPConnector(limit=200)) as http:

        async def post(body: dict[str, Any]) -> bool:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:  # Telegram re-delivers until a 2xx
                try:
                    async with http.post(url, json=body, headers=headers) as r:
                        if r.status == 200:
                            return True
                except (TimeoutError, aiohttp.ClientError):
                    pass
                report.post_retries += 1
                await asyncio.sleep(0.5)
            return False

        async def chat(chat_id: int) -> None:
            nonlocal acked
            for index in range(args.per_chat):
                uid = next(ids)
                sent = updates[uid] = Sent(chat_id, index, time.monotonic())
                if await post(update(uid, chat_id, QUESTIONS[(chat_id + index) % len(QUESTIONS)])):
                    sent.acked_at = time.monotonic()
                    acked += 1
                    if acked >= total // 3:
                        third.set()

        async def killer() -> None:
            await third.wait()
            victim = cluster.gateways[min(1, len(cluster.gateways) - 1)]
            spent_before_kill[victim.name] = cpu_seconds(victim.popen.pid) - cpu_before.pop(victim.name, 0.0)
            os.kill(victim.popen.pid, signal.SIGKILL)
            victim.popen.wait()
            report.killed = f"kill -9 {victim.name} after {acked} of {total} acknowledged"
            index = cluster.gateways.index(victim)
            restarted = start_gateway(cluster, fake, index, victim.port)
            cluster.gateways[index] = restarted
            report.restart_to_healthy = await wait_http(
                f"http://127.0.0.1:{restarted.port}/healthz", args.start_timeout, proc=restarted
            )

        started = time.monotonic()
        tasks = [asyncio.create_task(killer())] if args.kill else []
        await asyncio.gather(*(chat(c) for c in chats))
        last_ack = max((s.acked_at for s in updates.values() if s.acked_at), default=time.monotonic())
        acked_ids = {uid for uid, s in updates.items() if s.acked_at}
        report.acknowledged = len(acked_ids)
        deadline = last_ack + args.limit
        while True:
            result = await asyncio.to_thread(attribute, cluster.database_url, fake, updates, chats)
            missing = acked_ids - set(result["answered"])
            if not missing and not result["outbox_pending"]:
                break
            if time.monotonic() > deadline:
                report.notes.append(f"stopped waiting {args.limit:.0f} s after the last ack: {len(missing)} unanswered")
                break
            with contextlib.suppress(TimeoutError):
                await fake.wait_for_sent(len(fake.sent) + 1, timeout=1.0)
        answered_at = [at for uid, at in result["answered"].items() if uid in acked_ids]
        finished = max(answered_at, default=time.monotonic())
        with contextlib.suppress(TimeoutError):  # a late duplicate would land right behind
            await fake.wait_for_sent(len(fake.sent) + 1, timeout=args.settle)
        result = await asyncio.to_thread(attribute, cluster.database_url, fake, updates, chats)
        await asyncio.gather(*tasks)
    answered = {uid for uid in result["answered"] if uid in acked_ids}
    report.answered = len(answered)
    report.lost = len(acked_ids - answered) + (total - len(acked_ids))
    report.duplicated = len(result["twice"] & acked_ids)
    report.out_of_order = result["order"]
    report.transcript_duplicates = result["transcript_dups"]
    report.seconds = round(finished - started, 2)
    report.messages_per_second = round(len(answered) / max(finished - started, 1e-9), 2)
    report.cpu_seconds = {  # during the load (a restarted gateway: both lives, start-up included)
        p.name: round(cpu_seconds(p.popen.pid) - cpu_before.get(p.name, 0.0) + spent_before_kill.get(p.name, 0.0), 1)
        for p in [*cluster.gateways, *cluster.rasas]
    }
    if result["unmatched"] or result["undelivered"]:
        report.notes.append(f"unmatched deliveries {result['unmatched']}, undelivered parts {result['undelivered']}")


async def _login(base: str, username: str) -> tuple[aiohttp.ClientSession, str]:
    """A librarian's browser logged in on the gateway at ``base``; returns it and its CSRF token."""
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"Origin": base})
    page = await (await http.get(f"{base}/console/login")).text()
    token = re.search(r'name="_csrf" value="([^"]+)"', page)
    assert token, page[:300]
    r = await http.post(f"{base}/console/login", data={"_csrf": token[1], "username": username, "password": PASSWORD},
                        allow_redirects=False)
    assert r.status == 303, (r.status, await r.text())
    queue = await (await http.get(f"{base}/console/")).text()
    csrf = re.search(r'name="_csrf" value="([^"]+)"', queue)
    assert csrf, queue[:300]
    return http, csrf[1]


async def console_checks(cluster: Cluster, report: Report) -> None:
    """Live updates across replicas and the claim race (module doc)."""
    from sqlalchemy import select

    from bot.models import Conversation
    from bot.staff import add_staff
    from knowledge.db import make_async_engine

    engine = make_async_engine(cluster.database_url)
    try:
        async with engine.begin() as conn:
            from sqlalchemy.ext.asyncio import AsyncSession

            async with AsyncSession(bind=conn) as session:
                await add_staff(session, "rina", "Rina", PASSWORD, role="agent")
                await add_staff(session, "budi", "Budi", PASSWORD, role="agent")
                await session.commit()
        first, third = 0, min(2, len(cluster.gateways) - 1)
        second = min(1, len(cluster.gateways) - 1)
        rina, rina_csrf = await _login(cluster.gateway_url(first), "rina")
        budi, budi_csrf = await _login(cluster.gateway_url(third), "budi")
        try:
            ws = await rina.ws_connect(f"{cluster.gateway_url(first)}/console/ws")
            assert (await ws.receive_json(timeout=10))["type"] == "hello"
            chat = BASE_CHAT + 999_000
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with aiohttp.ClientSession() as http:
                r = await http.post(f"{cluster.gateway_url(third)}/webhooks/telegram", headers=headers,
                                    json=update(990_000_001, chat, "mau bicara dengan petugas"))
                assert r.status == 200
                event = await ws.receive_json(timeout=30)
                async with engine.connect() as conn:
                    conv_id = await conn.scalar(select(Conversation.id).where(Conversation.external_id == str(chat)))
                saw_queue = event.get("type") == "queue" and event.get("conversation_id") == conv_id
                r = await http.post(f"{cluster.gateway_url(second)}/webhooks/telegram", headers=headers,
                                    json=update(990_000_002, chat, "halo, masih menunggu"))
                assert r.status == 200
                seen = False
                deadline = time.monotonic() + 30
                while not seen and time.monotonic() < deadline:
                    msg = await ws.receive_json(timeout=max(0.1, deadline - time.monotonic()))
                    seen = msg == {"type": "message", "conversation_id": conv_id, "author": "patron"}
            report.console_saw_other_replica = saw_queue and seen
            await ws.close()
            a, b = await asyncio.gather(
                rina.post(f"{cluster.gateway_url(first)}/console/c/{conv_id}/claim", data={"_csrf": rina_csrf},
                          allow_redirects=False),
                budi.post(f"{cluster.gateway_url(third)}/console/c/{conv_id}/claim", data={"_csrf": budi_csrf},
                          allow_redirects=False),
            )
            report.claim_statuses = [a.status, b.status]
            from bot.handoff_models import Claim

            async with engine.connect() as conn:
                rows = (await conn.execute(select(Claim).where(Claim.conversation_id == conv_id))).all()
            report.claim_rows = len(rows)
        finally:
            await rina.close()
            await budi.close()
    finally:
        await engine.dispose()


async def run(args: argparse.Namespace) -> Report:
    """Start the cluster, run the load (and the console checks), stop everything."""
    report = Report(gateways=args.gateways, nlu=args.nlu)
    work = Path(tempfile.mkdtemp(prefix="pb-replicas-"))
    async with FakeTelegram(token=TOKEN) as fake:
        cluster: Cluster | None = None
        try:
            cluster = await start_cluster(args, fake, work)
            await load(cluster, fake, args, report)
            if args.console:
                await console_checks(cluster, report)
        finally:
            if cluster is not None:
                await asyncio.to_thread(stop_cluster, cluster)
    if report.ok:
        shutil.rmtree(work, ignore_errors=True)
    else:
        report.notes.append(f"logs kept in {work}")
    return report


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gateways", type=int, default=3)
    p.add_argument("--nlu", type=int, default=2)
    p.add_argument("--chats", type=int, default=30)
    p.add_argument("--per-chat", type=int, default=6)
    p.add_argument("--kill", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--console", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--limit", type=float, default=180.0, help="seconds after the last ack to wait for answers")
    p.add_argument("--settle", type=float, default=3.0, help="seconds to wait for late duplicates")
    p.add_argument("--start-timeout", type=float, default=600.0)
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    return p


def main() -> None:
    """Parse arguments and run."""
    args = parser().parse_args()
    report = asyncio.run(run(args))
    if args.json:
        print(json.dumps({**asdict(report), "ok": report.ok}, indent=2))
    else:
        for key, value in asdict(report).items():
            print(f"{key}: {value}")
        print("ok" if report.ok else "FAILED")
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
