"""With several replicas, one scheduler ticks: the holder of the Redis leader lease (issue 18)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.replicas.leader import RedisLease
from bot.scheduler import Scheduler

REDIS = "redis://127.0.0.1:6379/0"


def _redis_up() -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", 6379)) == 0


pytestmark = pytest.mark.skipif(not _redis_up(), reason="Redis is not running on 127.0.0.1:6379")


class CountingLease:
    """The real Redis lease, counting how often the scheduler asked for it."""

    def __init__(self, lease: RedisLease) -> None:
        self.lease, self.name, self.asked = lease, lease.name, 0

    @property
    def term(self) -> int:
        return self.lease.term

    def acquire(self) -> bool:
        self.asked += 1
        return self.lease.acquire()

    def release(self) -> None:
        self.lease.release()


class CountingScheduler(Scheduler):
    """The real run loop; a tick only counts (what a tick sends is tested in test_delivery.py)."""

    ticks = 0

    async def tick(self, now: datetime | None = None) -> dict[str, int]:
        self.ticks += 1
        return {}


async def _until(condition, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_only_the_leader_ticks_and_a_stand_by_takes_over() -> None:
    name = f"scheduler-test-{uuid.uuid4().hex[:8]}"
    other = RedisLease(REDIS, name, prefix="pustakabot-test:", ttl=5)
    assert other.acquire()  # another replica leads
    lease = CountingLease(RedisLease(REDIS, name, prefix="pustakabot-test:", ttl=5))
    scheduler = CountingScheduler(None, None, None, zone=ZoneInfo("Asia/Jakarta"), interval=0.05,  # type: ignore[arg-type]
                                  leader=lease)  # type: ignore[arg-type]
    scheduler.start()
    try:
        await _until(lambda: lease.asked >= 3)
        assert scheduler.ticks == 0  # a stand-by: asked for the lease, never ticked
        other.release()  # the leader stops (or dies and its lease expires)
        await _until(lambda: scheduler.ticks >= 2)
        assert not other.acquire()  # now the stand-by leads
    finally:
        await scheduler.stop()
    assert other.acquire()  # stop() gave the lease up
    other.release()
