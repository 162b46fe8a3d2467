"""Runs the Rasa NLU server and the gateway (with the answer engine) as child processes under one
supervisor.

Each child's output is prefixed with its name; Ctrl-C (or SIGTERM) stops all of them cleanly;
a child that dies is reported and restarted with backoff while the others keep running.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass, field

import aiohttp

COLOURS = {"rasa": "35", "sync": "36", "gateway": "32"}


@dataclass(frozen=True)
class Child:
    """A process to supervise."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    # Values never printed: masked in the child's output (e.g. Rasa's API token).
    secrets: tuple[str, ...] = ()


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if the supervisor dies (Linux), so nothing is orphaned."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _prefix(name: str) -> str:
    tag = f"[{name}]".ljust(10)
    if sys.stdout.isatty():
        return f"\x1b[{COLOURS.get(name, '0')}m{tag}\x1b[0m "
    return tag + " "


async def _pump(name: str, stream: asyncio.StreamReader, secrets: tuple[str, ...] = ()) -> None:
    prefix = _prefix(name)
    while line := await stream.readline():
        text = line.decode("utf-8", "replace").rstrip()
        for secret in secrets:
            text = text.replace(secret, "***")
        sys.stdout.write(prefix + text + "\n")
        sys.stdout.flush()


def say(text: str) -> None:
    """A line from the supervisor itself."""
    sys.stdout.write(_prefix("run") + text + "\n")
    sys.stdout.flush()


async def wait_healthy(url: str, timeout: float) -> bool:
    """Poll ``url`` until it answers 200 or ``timeout`` seconds pass."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with aiohttp.ClientSession() as session:
        while asyncio.get_running_loop().time() < deadline:
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as r:
                    if r.status == 200:
                        return True
            await asyncio.sleep(1)
    return False


async def supervise(
    children: list[Child],
    *,
    health_url: str | None,
    chat_url: str,
    startup_timeout: float = 300,
    backoff: float = 1.0,
    max_backoff: float = 30.0,
    stable_after: float = 60.0,
) -> int:
    """Run ``children`` until we are told to stop; a child that dies is restarted.

    A dead child is reported and started again after ``backoff`` seconds, doubling up to
    ``max_backoff`` while it keeps dying; a child that ran ``stable_after`` seconds starts from
    ``backoff`` again. The others keep running meanwhile (a gateway waits for its NLU itself).
    Returns 0 after a clean stop, 1 when a child had died during the run.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    procs: dict[str, asyncio.subprocess.Process] = {}
    pumps: list[asyncio.Task[None]] = []
    deaths = 0

    async def start(child: Child) -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            *child.argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, **child.env},
            cwd=child.cwd,
            start_new_session=True,  # Ctrl-C reaches only us; we stop the children in order
            preexec_fn=_die_with_parent,
        )
        procs[child.name] = proc
        assert proc.stdout is not None
        pumps.append(asyncio.create_task(_pump(child.name, proc.stdout, child.secrets)))
        say(f"started {child.name} (pid {proc.pid})")
        return proc

    async def keep(child: Child) -> None:
        nonlocal deaths
        delay = backoff
        while not stop.is_set():
            started = loop.time()
            proc = await start(child)
            code = await proc.wait()
            if stop.is_set():
                return
            deaths += 1
            if loop.time() - started >= stable_after:
                delay = backoff
            say(f"ERROR: {child.name} exited unexpectedly with code {code}; restarting it in {delay:.0f}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(max_backoff, delay * 2)

    async def announce() -> None:
        if health_url is None:
            return
        if await wait_healthy(health_url, startup_timeout):
            say(f"ready: open the web chat at {chat_url}")
        else:
            say(f"not healthy after {startup_timeout:.0f}s; see {health_url}")

    announcer = asyncio.create_task(announce())
    keepers = [asyncio.create_task(keep(child)) for child in children]
    await stop.wait()
    say("stopping…")
    announcer.cancel()
    await _terminate(procs)
    await asyncio.gather(*keepers, return_exceptions=True)
    for pump in pumps:
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(pump, timeout=2)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(sig)
    say("stopped")
    return 1 if deaths else 0


async def _terminate(procs: dict[str, asyncio.subprocess.Process], grace: float = 10) -> None:
    for proc in procs.values():
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    for name, proc in procs.items():
        try:
            await asyncio.wait_for(proc.wait(), timeout=grace)
        except TimeoutError:
            say(f"{name} did not stop in {grace:.0f}s; killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
