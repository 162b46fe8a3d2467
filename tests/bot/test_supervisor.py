"""The supervisor with real child processes: prefixes, a dying child restarted, Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest
from aiohttp import web

from bot.supervisor import Child, supervise

PY = sys.executable


@pytest.fixture
async def health_url(aiohttp_server) -> str:
    app = web.Application()
    app.router.add_get("/healthz", lambda r: web.json_response({"status": "ok"}))
    server = await aiohttp_server(app)
    return str(server.make_url("/healthz"))


async def test_a_child_that_dies_is_restarted_and_the_others_keep_running(health_url: str, tmp_path, capsys) -> None:
    starts = tmp_path / "starts"
    sleeper = tmp_path / "sleeper"
    crasher = (
        "import sys, time\n"
        f"open({str(starts)!r}, 'a').write('x')\n"
        "print('boom', flush=True); time.sleep(0.3); sys.exit(3)\n"
    )
    children = [
        Child("sleeper", [PY, "-c", f"import time; open({str(sleeper)!r}, 'a').write('x'); print('up', flush=True); time.sleep(60)"]),
        Child("crasher", [PY, "-c", crasher]),
    ]

    async def interrupt_after_two_restarts() -> None:
        while not (starts.exists() and len(starts.read_text()) >= 3):
            await asyncio.sleep(0.1)
        os.kill(os.getpid(), signal.SIGINT)

    task = asyncio.create_task(interrupt_after_two_restarts())
    code = await asyncio.wait_for(
        supervise(children, health_url=health_url, chat_url="x", startup_timeout=5, backoff=0.2), 60
    )
    await task
    out = capsys.readouterr().out
    assert code == 1  # a child died during the run
    assert out.count("[crasher]  boom") >= 3 and "ERROR: crasher exited unexpectedly with code 3; restarting" in out
    assert sleeper.read_text() == "x"  # started once: the others were never stopped
    assert "stopped" in out


async def test_sigint_stops_every_child_cleanly(health_url: str, tmp_path, capsys) -> None:
    up = tmp_path / "up"
    script = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: (print('bye', flush=True), sys.exit(0)))\n"
        f"open({str(up)!r}, 'a').write('x')\n"
        "print('up', flush=True)\n"
        "time.sleep(60)\n"
    )
    children = [Child("one", [PY, "-c", script]), Child("two", [PY, "-c", script])]
    out = ""

    async def interrupt_when_both_are_up_and_ready_was_said() -> None:
        nonlocal out
        while not (up.exists() and len(up.read_text()) >= 2 and "ready: open the web chat" in out):
            await asyncio.sleep(0.05)
            out += capsys.readouterr().out
        os.kill(os.getpid(), signal.SIGINT)

    task = asyncio.create_task(interrupt_when_both_are_up_and_ready_was_said())
    code = await asyncio.wait_for(
        supervise(children, health_url=health_url, chat_url="http://chat", startup_timeout=5), 30
    )
    await task
    out += capsys.readouterr().out
    assert code == 0
    assert out.count("bye") == 2
    assert "ready: open the web chat at http://chat" in out
    assert "stopping" in out and "stopped" in out


def test_children_die_with_a_killed_supervisor(tmp_path) -> None:
    """Even a SIGKILLed supervisor leaves no orphan behind."""
    import subprocess
    import time

    pidfile = tmp_path / "child.pid"
    child = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    script = (
        "import asyncio, sys\n"
        "from bot.supervisor import Child, supervise\n"
        f"asyncio.run(supervise([Child('c', [sys.executable, '-c', {child!r}])],"
        " health_url='http://127.0.0.1:9/', chat_url='x', startup_timeout=1))\n"
    )
    sup = subprocess.Popen([PY, "-c", script])
    deadline = time.monotonic() + 20
    while not pidfile.exists() or not pidfile.read_text():
        assert time.monotonic() < deadline, "child did not start"
        time.sleep(0.1)
    child_pid = int(pidfile.read_text())
    sup.kill()
    sup.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(child_pid, signal.SIGKILL)
    raise AssertionError("child outlived its supervisor")
