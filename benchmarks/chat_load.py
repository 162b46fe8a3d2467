"""Load benchmark: patron messages through the gateway's POST /api/chat vs. Rasa's own REST channel.

Same trained model, same run, side by side, at concurrency 1, 10 and 50. Loopback only, bounded
in count and time. Starts `pustakabot run` on free ports in a throw-away data folder unless
--gateway and --rasa point at a running stack.

    .venv/bin/python benchmarks/chat_load.py [--messages 150] [--gateway URL --rasa URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = [
    "jam buka perpustakaan?",
    "min perpus buka jam brp?",
    "ada buku laskar pelangi?",
    "buku karya tere liye apa aja",
    "gimana cara daftar anggota?",
    "dendanya berapa kalau telat?",
    "ada acara apa minggu ini?",
    "halo kak",
    "ada ebook ga?",
    "terima kasih",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _drain(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    for _ in proc.stdout:
        pass


#: web chat API key: the benchmark is a server-side integration that names its own conversations
#: (an external --gateway needs the same key in its PUSTAKABOT_CHAT_API_KEYS)
API_KEY = (os.environ.get("PUSTAKABOT_CHAT_API_KEYS", "").split(",")[0].strip() or "benchmark-key-" + uuid.uuid4().hex)
API_HEADERS = {"Authorization": f"Bearer {API_KEY}"}


def start_stack() -> tuple[subprocess.Popen[str], str, str]:
    data = Path(tempfile.mkdtemp(prefix="pb-bench-"))
    ports = {k: str(free_port()) for k in ("PORT", "RASA_PORT", "ACTION_PORT")}
    env = {**os.environ, "PUSTAKABOT_DATA_DIR": str(data), "PUSTAKABOT_LOG_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1"}
    env.update({f"PUSTAKABOT_{k}": v for k, v in ports.items()})
    env["PUSTAKABOT_CHAT_API_KEYS"] = API_KEY
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 900
    for line in proc.stdout:
        if "ready: open the web chat" in line:
            break
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("stack did not start")
    # Keep draining output so the children never block on a full pipe.
    threading.Thread(target=_drain, args=(proc,), daemon=True).start()
    return proc, f"http://127.0.0.1:{ports['PORT']}", f"http://127.0.0.1:{ports['RASA_PORT']}"


def stop_stack(proc: subprocess.Popen[str] | None) -> None:
    """Stop a stack from :func:`start_stack` (``pustakabot run`` stops its children on SIGINT)."""
    if proc is not None:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)


async def one(session: aiohttp.ClientSession, target: str, url: str, sender: str, text: str) -> float:
    started = time.perf_counter()
    headers: dict[str, str] = {}
    if target == "gateway":
        body = {"sender_id": sender, "text": text}
        endpoint = f"{url}/api/chat"
        headers = API_HEADERS
    else:
        body = {"sender": sender, "message": text}
        endpoint = f"{url}/webhooks/rest/webhook"
    async with session.post(endpoint, json=body, headers=headers) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"{target} answered {response.status}")
    return time.perf_counter() - started


async def run_level(target: str, url: str, concurrency: int, total: int, time_limit: float) -> dict[str, float]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    deadline = time.monotonic() + time_limit
    prefix = uuid.uuid4().hex[:6]

    async def worker(w: int) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            while time.monotonic() < deadline:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                # Each worker is one patron; conversations run in parallel.
                latencies.append(await one(session, target, url, f"bench-{prefix}-{w}", MESSAGES[i % len(MESSAGES)]))

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "messages": len(latencies),
        "per_second": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[max(0, int(0.95 * len(latencies)) - 1)],
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=150, help="messages per level and target")
    parser.add_argument("--time-limit", type=float, default=120, help="seconds per level at most")
    parser.add_argument("--gateway")
    parser.add_argument("--rasa")
    args = parser.parse_args()
    proc = None
    gateway, rasa = args.gateway, args.rasa
    if not (gateway and rasa):
        proc, gateway, rasa = start_stack()
    try:
        # Warm-up: first turns load caches on both paths.
        await run_level("gateway", gateway, 2, 10, 60)
        rows = []
        for concurrency in (1, 10, 50):
            for target, url in (("rasa REST (baseline)", rasa), ("gateway /api/chat", gateway)):
                result = await run_level(target.split()[0], url, concurrency, args.messages, args.time_limit)
                rows.append((concurrency, target, result))
                print(
                    f"c={concurrency:<3} {target:<22} {result['messages']:>5.0f} msgs "
                    f"{result['per_second']:>7.1f} msg/s  p50 {result['p50_ms']:>7.1f} ms  p95 {result['p95_ms']:>7.1f} ms",
                    flush=True,
                )
        print("\n| concurrency | path | messages | msg/s | p50 ms | p95 ms |\n| --- | --- | --- | --- | --- | --- |")
        for concurrency, target, r in rows:
            print(
                f"| {concurrency} | {target} | {r['messages']:.0f} | {r['per_second']:.1f} | "
                f"{r['p50_ms']:.0f} | {r['p95_ms']:.0f} |"
            )
    finally:
        stop_stack(proc)


if __name__ == "__main__":
    asyncio.run(main())
