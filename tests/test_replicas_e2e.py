"""Three gateways and two Rasa NLU servers on PostgreSQL and Redis behind HAProxy, under
Telegram load, one gateway killed with ``kill -9`` and restarted (benchmarks/replicas.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.replicas import parser, run
from tests.conftest import service_up

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def services() -> None:
    if not service_up(5432):
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    if not service_up(6379):
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        pytest.skip("HAProxy is not installed (make test installs it: scripts/setup.sh --haproxy)")


async def test_three_replicas_lose_duplicate_and_reorder_nothing_when_one_is_killed(services: None) -> None:
    report = await run(parser().parse_args(["--gateways", "3", "--nlu", "2", "--chats", "24", "--per-chat", "6"]))
    assert report.killed.startswith("kill -9 gateway1"), report
    assert report.restart_to_healthy is not None
    assert report.acknowledged == report.updates == 144, report
    assert (report.lost, report.duplicated, report.out_of_order) == (0, 0, 0), report
    assert report.transcript_duplicates == 0, report
    # a console on gateway 0 saw the patron's request taken in by gateway 2 (and the next
    # message, taken in by gateway 1); the claim race between gateways 0 and 2 had one winner
    assert report.console_saw_other_replica is True, report
    assert sorted(report.claim_statuses) == [303, 409] and report.claim_rows == 1, report
