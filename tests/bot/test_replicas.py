"""Replica-shared state on this machine's real PostgreSQL and Redis (bot/replicas/).

Two gateways built in this process on one PostgreSQL database and one Redis stand for two
replicas; a "replica killed with kill -9" is a real child process killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.channel_models import DONE, PENDING, InboxItem
from bot.cli import upgrade_database
from bot.handoff_models import Claim
from bot.keys import inbox_key, sessions_key
from bot.messages import Incoming
from bot.models import Conversation, Message
from bot.replicas.leader import AdvisoryLease, RedisLease, run_as_leader
from bot.replicas.limits import RedisWindow
from bot.replicas.locks import AdvisoryLocks, LocalLocks, LockBusy
from bot.settings import Settings
from knowledge.db import make_async_engine
from redis.asyncio import Redis
from tests.bot.handoff.conftest import always_open, csrf_of, derive, handoff_settings, login, make_staff, patron_says  # noqa: F401
from tests.conftest import free_port, service_up

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def redis_url() -> str:
    if not service_up(6379):
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test alone; its keys are deleted afterwards."""
    import redis

    value = f"pbtest:{uuid.uuid4().hex[:8]}:"
    yield value
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=value + "*"))
    if keys:
        client.delete(*keys)
    client.close()


def _holder(script: str, *args: str) -> subprocess.Popen[str]:
    """A child Python process running ``script``; prints "held" once it holds what it takes."""
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


async def _eventually(check, timeout: float = 20.0):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


# --- conversation locks ------------------------------------------------------------------------


async def test_advisory_locks_exclude_other_replicas_and_reenter_in_a_task(pg_url: str) -> None:
    upgrade_database(Settings(database_url=pg_url))
    a_engine, b_engine = make_async_engine(pg_url), make_async_engine(pg_url)
    a, b = AdvisoryLocks(a_engine), AdvisoryLocks(b_engine)
    try:
        async with a.hold("conversation:telegram:1"):
            async with a.hold("conversation:telegram:1", wait=0):  # re-entrant: no self-deadlock
                with pytest.raises(LockBusy):
                    async with b.hold("conversation:telegram:1", wait=0.2):
                        pass
                async with b.hold("conversation:telegram:2", wait=0):  # other keys are free
                    pass
        async with b.hold("conversation:telegram:1", wait=1):
            with pytest.raises(LockBusy):
                async with a.hold("conversation:telegram:1", wait=0):
                    pass
    finally:
        await a.close()
        await b.close()
        await a_engine.dispose()
        await b_engine.dispose()


async def test_a_replica_killed_with_sigkill_frees_its_conversation_at_once(pg_url: str) -> None:
    victim = _holder(
        """
        import asyncio, sys, time
        from bot.replicas.locks import AdvisoryLocks
        from knowledge.db import make_async_engine

        async def main():
            locks = AdvisoryLocks(make_async_engine(sys.argv[1]))
            async with locks.hold("conversation:telegram:77"):
                print("held", flush=True)
                await asyncio.sleep(600)

        asyncio.run(main())
        """,
        pg_url,
    )
    engine = make_async_engine(pg_url)
    locks = AdvisoryLocks(engine)
    try:
        with pytest.raises(LockBusy):
            async with locks.hold("conversation:telegram:77", wait=0.3):
                pass
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        started = time.monotonic()
        async with locks.hold("conversation:telegram:77", wait=10):
            taken_after = time.monotonic() - started
        assert taken_after < 5  # PostgreSQL ends the session when the socket closes; no expiry
    finally:
        if victim.poll() is None:
            victim.kill()
        await locks.close()
        await engine.dispose()


async def test_local_locks_serialise_one_key_and_are_reentrant() -> None:
    locks = LocalLocks()
    order: list[str] = []

    async def turn(name: str) -> None:
        async with locks.hold("k"):
            async with locks.hold("k"):
                order.append(f"{name}-in")
                await asyncio.sleep(0.01)
                order.append(f"{name}-out")

    await asyncio.gather(turn("a"), turn("b"))
    assert order in (["a-in", "a-out", "b-in", "b-out"], ["b-in", "b-out", "a-in", "a-out"])


# --- two gateways on one PostgreSQL + Redis ------------------------------------------------------


@pytest.fixture
def replica_settings(handoff_settings: Settings, pg_url: str, redis_url: str, prefix: str) -> Settings:
    settings = derive(handoff_settings, database_url=pg_url, redis_url=redis_url, redis_prefix=prefix,
                      console_login_attempts=3)
    upgrade_database(settings)
    return settings


async def test_a_conversation_kicked_on_two_replicas_is_answered_once_in_order(
    aiohttp_client, replica_settings: Settings
) -> None:
    from bot.app import create_app

    app_a, app_b = create_app(replica_settings), create_app(replica_settings)
    await aiohttp_client(app_a)
    await aiohttp_client(app_b)
    # Telegram is not configured on these gateways: messages are decided and their replies
    # queued (recorded as failed to send), which is all this test looks at. Buttons' payloads
    # are read without the NLU (down here).
    items = [
        Incoming(channel="telegram", conversation_id="5005", patron_id="5005", text=f"halo ({n})",
                 payload="/greet", platform_message_id=str(900 + n))
        for n in range(6)
    ]
    # Both replicas take in the same deliveries (a platform retry landing on the other one).
    await asyncio.gather(app_a[inbox_key].accept(items), app_b[inbox_key].accept(items))

    async def all_done() -> bool:
        async with app_a[sessions_key]() as session:
            statuses = list(await session.scalars(select(InboxItem.status).where(InboxItem.external_id == "5005")))
        return len(statuses) == 6 and all(s != PENDING for s in statuses)

    await _eventually(all_done, timeout=60)
    async with app_a[sessions_key]() as session:
        conv = await session.scalar(select(Conversation).where(Conversation.external_id == "5005"))
        assert conv is not None
        rows = list(await session.scalars(
            select(Message).where(Message.conversation_id == conv.id).order_by(Message.id)
        ))
        statuses = list(await session.scalars(select(InboxItem.status).where(InboxItem.external_id == "5005")))
    assert statuses == [DONE] * 6
    inbound = [r.platform_message_id for r in rows if r.direction == "in"]
    assert inbound == [str(900 + n) for n in range(6)]  # each once, in arrival order
    # Every message got its answer right after it (no interleaving from a second worker).
    kinds = "".join("i" if r.direction == "in" else "o" for r in rows)
    assert kinds.startswith("io") and "ii" not in kinds, kinds


async def test_console_sees_a_patron_message_taken_in_by_another_replica(
    aiohttp_client, replica_settings: Settings
) -> None:
    from bot.app import create_app

    app_a, app_b = create_app(replica_settings), create_app(replica_settings)
    await aiohttp_client(app_a)
    client_b = await aiohttp_client(app_b)
    await make_staff(app_b, "rina", "Rina")
    await login(client_b, "rina")
    ws = await client_b.ws_connect("/console/ws", headers={"Origin": f"http://{client_b.host}:{client_b.port}"})
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    await patron_says(app_a, "p-relay", "mau bicara dengan petugas")  # on replica A
    event = await ws.receive_json(timeout=10)
    assert event["type"] == "queue"
    async with app_a[sessions_key]() as session:
        conv_id = await session.scalar(select(Conversation.id).where(Conversation.external_id == "p-relay"))
    assert event["conversation_id"] == conv_id
    await patron_says(app_a, "p-relay", "halo, masih di sana?")
    assert await ws.receive_json(timeout=10) == {"type": "message", "conversation_id": conv_id, "author": "patron"}
    await ws.close()


async def test_claim_race_across_two_replicas_has_one_winner(aiohttp_client, replica_settings: Settings) -> None:
    from bot.app import create_app

    app_a, app_b = create_app(replica_settings), create_app(replica_settings)
    client_a, client_b = await aiohttp_client(app_a), await aiohttp_client(app_b)
    await make_staff(app_a, "rina", "Rina")
    await make_staff(app_a, "budi", "Budi")
    csrf_a, csrf_b = await login(client_a, "rina"), await login(client_b, "budi")
    for round_ in range(4):
        await patron_says(app_a, f"p-claim-{round_}", "mau bicara dengan petugas")
        async with app_a[sessions_key]() as session:
            conv_id = await session.scalar(
                select(Conversation.id).where(Conversation.external_id == f"p-claim-{round_}")
            )
        a, b = await asyncio.gather(
            client_a.post(f"/console/c/{conv_id}/claim", data={"_csrf": csrf_a}, allow_redirects=False),
            client_b.post(f"/console/c/{conv_id}/claim", data={"_csrf": csrf_b}, allow_redirects=False),
        )
        assert sorted([a.status, b.status]) == [303, 409]
        async with app_b[sessions_key]() as session:
            claims = list(await session.scalars(select(Claim).where(Claim.conversation_id == conv_id)))
        assert len(claims) == 1


async def test_login_limit_counts_on_every_replica(aiohttp_client, replica_settings: Settings) -> None:
    from bot.app import create_app

    app_a, app_b = create_app(replica_settings), create_app(replica_settings)
    client_a, client_b = await aiohttp_client(app_a), await aiohttp_client(app_b)
    await make_staff(app_a, "rina", "Rina")

    async def attempt(client, password: str) -> int:  # noqa: ANN001
        page = await client.get("/console/login")
        response = await client.post(
            "/console/login", data={"_csrf": csrf_of(await page.text()), "username": "rina", "password": password},
            allow_redirects=False,
        )
        return response.status

    # 3 failures allowed per address in all: two on A, one on B, then both refuse.
    assert [await attempt(client_a, "salah"), await attempt(client_a, "salah"), await attempt(client_b, "salah")] == [
        401, 401, 401
    ]
    assert await attempt(client_b, "salah") == 429
    assert await attempt(client_a, "rahasia-sekali-123") == 429  # even the right password waits


async def test_a_console_session_opened_on_one_replica_is_valid_on_the_other(
    aiohttp_client, replica_settings: Settings
) -> None:
    from bot.app import create_app

    app_a, app_b = create_app(replica_settings), create_app(replica_settings)
    client_a = await aiohttp_client(app_a)
    await make_staff(app_a, "rina", "Rina")
    await login(client_a, "rina")
    cookies = {c.key: c.value for c in client_a.session.cookie_jar}
    client_b = await aiohttp_client(app_b, cookies=cookies)
    page = await client_b.get("/console/", allow_redirects=False)
    assert page.status == 200 and "Rina" in await page.text()


# --- rate windows in Redis -----------------------------------------------------------------------


async def test_redis_window_is_shared_and_atomic(redis_url: str, prefix: str) -> None:
    one, two = Redis.from_url(redis_url), Redis.from_url(redis_url)
    a = RedisWindow(one, prefix + "w:", 5, 60.0)
    b = RedisWindow(two, prefix + "w:", 5, 60.0)
    try:
        waits = await asyncio.gather(*(w.hit("addr") for w in [a, b] * 15))
        assert sum(1 for w in waits if w == 0) == 5
        assert all(0 < w <= 60 for w in waits if w)
        assert await a.hit("other") == 0  # per key
    finally:
        await one.aclose()
        await two.aclose()


async def test_redis_window_counts_in_process_while_redis_is_down() -> None:
    down = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    window = RedisWindow(down, "pb:", 2, 60.0)
    try:
        assert [await window.hit("a") for _ in range(3)][:2] == [0, 0]
        assert await window.hit("a") > 0
    finally:
        await down.aclose()


# --- leader leases -------------------------------------------------------------------------------


def test_redis_lease_has_one_holder_and_expires_after_its_leader_is_killed(redis_url: str, prefix: str) -> None:
    victim = _holder(
        """
        import sys, time
        from bot.replicas.leader import RedisLease
        lease = RedisLease(sys.argv[1], "sync", prefix=sys.argv[2], ttl=1.5)
        assert lease.acquire()
        print("held", flush=True)
        time.sleep(600)
        """,
        redis_url, prefix,
    )
    standby = RedisLease(redis_url, "sync", prefix=prefix, ttl=1.5)
    try:
        time.sleep(1.6)  # longer than the ttl: the victim's renewer keeps the lease alive
        assert not standby.acquire()
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        killed = time.monotonic()
        while not standby.acquire():
            assert time.monotonic() - killed < 10
            time.sleep(0.05)
        assert 0.3 < time.monotonic() - killed < 3.5  # after the expiry, not before
        assert standby.term >= 2  # a new term (fencing number)
    finally:
        if victim.poll() is None:
            victim.kill()
        standby.release()


def test_advisory_lease_is_taken_over_when_its_leader_dies(pg_url: str) -> None:
    victim = _holder(
        """
        import sys, time
        from bot.replicas.leader import AdvisoryLease
        lease = AdvisoryLease(sys.argv[1], "sync")
        assert lease.acquire()
        print("held", flush=True)
        time.sleep(600)
        """,
        pg_url,
    )
    standby = AdvisoryLease(pg_url, "sync")
    try:
        assert not standby.acquire()
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        deadline = time.monotonic() + 10
        while not standby.acquire():
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        if victim.poll() is None:
            victim.kill()
        standby.release()


def test_run_as_leader_never_runs_a_job_on_two_replicas_at_once(redis_url: str, prefix: str) -> None:
    running: list[str] = []
    overlaps: list[tuple[str, ...]] = []
    runs: dict[str, int] = {"a": 0, "b": 0}
    stop = threading.Event()
    guard = threading.Lock()

    def job(name: str) -> None:
        with guard:
            running.append(name)
            if len(running) > 1:
                overlaps.append(tuple(running))
        time.sleep(0.05)
        with guard:
            running.remove(name)
            runs[name] += 1

    threads = [
        threading.Thread(target=run_as_leader, args=(RedisLease(redis_url, "job", prefix=prefix, ttl=1.0),
                                                     lambda n=n: job(n)),
                         kwargs={"every": 0.1, "stop": stop, "standby_poll": 0.02})
        for n in ("a", "b")
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while sum(runs.values()) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    assert sum(runs.values()) >= 10
    assert overlaps == []
    assert min(runs.values()) == 0  # the leader keeps its lease between runs; the other stands by


# --- send pacing across replicas -----------------------------------------------------------------


async def test_two_replicas_share_one_send_budget(redis_url: str, prefix: str) -> None:
    from bot.replicas.pacing import RedisPacer

    one, two = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        a = RedisPacer(one, prefix + "pace:", interval=1.0, rate=2.0)
        b = RedisPacer(two, prefix + "pace:", interval=1.0, rate=2.0)
        # 6 sends to different chats from both replicas: one slot every 0.5 s in all. Each wait
        # is relative to its own call, and the calls spread over a few ms (more on a busy
        # machine): consecutive waits differ by the gap minus that spread.
        waits = sorted(await asyncio.gather(*((a if i % 2 else b).reserve(f"chat-{i}") for i in range(6))))
        assert all(later - earlier >= 0.25 for earlier, later in zip(waits, waits[1:], strict=False)), waits
        assert waits[-1] >= 2.0, waits
        # one chat: a second apart, whichever replica sends
        first, second = await a.reserve("chat-x"), await b.reserve("chat-x")
        assert second - first >= 0.7, (first, second)
    finally:
        await one.aclose()
        await two.aclose()


async def test_a_chats_next_slot_counts_from_the_reply_on_every_replica(redis_url: str, prefix: str) -> None:
    from bot.replicas.pacing import RedisPacer

    one, two = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        a = RedisPacer(one, prefix + "pace:", interval=1.0, rate=0)
        b = RedisPacer(two, prefix + "pace:", interval=1.0, rate=0)
        assert await a.reserve("chat-y") == 0
        # The call took longer than a slot: the reservation made before it is in the past now.
        await one.set(prefix + "pace:chat:chat-y", 0)
        await a.sent("chat-y")  # the platform answered: a full interval from now, for both replicas
        assert await b.reserve("chat-y") > 0.5
        assert a.local.reserve("chat-y") > 0.5  # the replica's own fallback pacer too
    finally:
        await one.aclose()
        await two.aclose()


async def test_a_task_started_by_a_holder_does_not_inherit_its_lock() -> None:
    locks = LocalLocks()
    async with locks.hold("k"):
        child = asyncio.create_task(_try_hold(locks, "k"))  # copies the holder's context
        assert await child == "busy"


async def _try_hold(locks: LocalLocks, key: str) -> str:
    try:
        async with locks.hold(key, wait=0):
            return "held"
    except LockBusy:
        return "busy"
