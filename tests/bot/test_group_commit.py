"""Group commit and SQLite write turns, on a real migrated SQLite database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db_sessions import GatewaySessions, gateway_sessions
from bot.group_commit import GroupCommit
from bot.models import Conversation
from bot.settings import Settings
from knowledge.db import make_async_engine


@pytest.fixture
async def sessions(gateway_settings: Settings) -> AsyncIterator[GatewaySessions]:
    engine = make_async_engine(gateway_settings.effective_database_url)
    yield gateway_sessions(engine)
    await engine.dispose()


async def _count(sessions: GatewaySessions) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Conversation)) or 0)


def _add(external_id: str):  # noqa: ANN202
    async def job(session: AsyncSession) -> str:
        session.add(Conversation(channel="telegram", external_id=external_id))
        await session.flush()
        return external_id

    return job


async def test_a_burst_of_writes_shares_few_transactions(sessions: GatewaySessions) -> None:
    writer = GroupCommit(sessions)
    results = await asyncio.gather(*(writer.run(_add(str(i))) for i in range(200)))
    assert results == [str(i) for i in range(200)]
    assert await _count(sessions) == 200
    assert writer.jobs == 200 and writer.commits <= 5
    await writer.close()


async def test_a_failing_job_fails_alone(sessions: GatewaySessions) -> None:
    writer = GroupCommit(sessions)
    jobs = [
        writer.run(_add("a")),
        writer.run(_add("b")),
        writer.run(_add("a")),
        writer.run(_add("c")),
    ]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    assert results[:2] == ["a", "b"] and results[3] == "c"
    assert isinstance(results[2], IntegrityError)  # the duplicate (channel, external_id)
    assert await _count(sessions) == 3
    await writer.close()
    with pytest.raises(RuntimeError):
        await writer.run(_add("d"))


async def test_concurrent_write_transactions_never_hit_database_is_locked(
    sessions: GatewaySessions,
) -> None:
    async def write(i: int) -> None:
        async with sessions.begin() as session:
            await session.scalar(select(func.count()).select_from(Conversation))
            async with (
                sessions.begin() as inner
            ):  # nested in the same task: must not wait for itself
                inner.add(Conversation(channel="web", external_id=f"n{i}"))
            session.add(Conversation(channel="web", external_id=f"w{i}"))
            await session.flush()
            await asyncio.sleep(0.2)  # a slow transaction (busy loop) holding the write lock

    await asyncio.wait_for(asyncio.gather(*(write(i) for i in range(30))), timeout=60)
    assert await _count(sessions) == 60  # 30 × 0.2 s > SQLite busy_timeout (5 s)
