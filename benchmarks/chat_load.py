"""Load benchmark: the bot's POST /api/chat against a plain `rasa init` server, in one run.

The anchor is Rasa's own starter project (`rasa init --no-prompt`, trained in a temporary folder
with .venv-rasa, served with `rasa run --enable-api`) answering on its REST channel; the bot is
`pustakabot run` (Rasa NLU + the gateway with the answer engine) answering questions that do
real knowledge work (FAQ, catalog, events, e-books). Same machine, same load shape: distinct
patrons, 5 messages each, concurrency 1, 10 and 50, the two targets' rounds interleaved.

Also measured on the bot: the cost of a turn by its position in a long conversation (messages
1-10 against 41-50 of 50-message conversations: the same ten messages), and the RSS of each
target's whole process tree after the load. Loopback only, bounded in count and time.

    .venv/bin/python benchmarks/chat_load.py [--patrons 20] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
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
sys.path.insert(0, str(ROOT))

from tests.conftest import free_port  # noqa: E402

BOT_MESSAGES = [
    "halo min",
    "jam buka perpustakaan?",
    "ada buku laskar pelangi?",
    "gimana cara daftar anggota?",
    "ada acara apa minggu ini?",
    "buku karya tere liye apa aja",
    "dendanya berapa kalau telat?",
    "ada ebook tentang kesehatan?",
    "min, novel bumi manusia masih ada gak?",
    "terima kasih",
]
ANCHOR_MESSAGES = ["hello", "I am feeling great", "I am sad", "yes", "bye", "are you a bot?"]
PER_PATRON = 5


def _drain(proc: subprocess.Popen[str], sink: list[str] | None = None) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if sink is not None:
            sink.append(line)


#: web chat API key: the benchmark is a server-side integration that names its own conversations
#: (an external --gateway needs the same key in its PUSTAKABOT_CHAT_API_KEYS)
API_KEY = (os.environ.get("PUSTAKABOT_CHAT_API_KEYS", "").split(",")[0].strip() or "benchmark-key-" + uuid.uuid4().hex)
API_HEADERS = {"Authorization": f"Bearer {API_KEY}"}


def start_bot() -> tuple[subprocess.Popen[str], str]:
    """`pustakabot run` on free ports in a throw-away data folder (reuses a trained model)."""
    data = Path(tempfile.mkdtemp(prefix="pb-bench-"))
    port = str(free_port())
    env = {
        **os.environ, "PUSTAKABOT_DATA_DIR": str(data), "PUSTAKABOT_LOG_LEVEL": "WARNING",
        "HF_HUB_OFFLINE": "1", "PUSTAKABOT_PORT": port, "PUSTAKABOT_RASA_PORT": str(free_port()),
        "PUSTAKABOT_CHAT_API_KEYS": API_KEY,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 1800
    for line in proc.stdout:
        if "ready: open the web chat" in line:
            break
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("the bot did not start")
    threading.Thread(target=_drain, args=(proc,), daemon=True).start()
    return proc, f"http://127.0.0.1:{port}"


def start_anchor(rasa: Path) -> tuple[subprocess.Popen[str], str, Path]:
    """Rasa's starter project, trained and served with its REST channel."""
    folder = Path(tempfile.mkdtemp(prefix="rasa-init-"))
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    print("training the `rasa init` anchor…", flush=True)
    subprocess.run([str(rasa), "init", "--no-prompt", "--init-dir", str(folder)], cwd=folder, env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = str(free_port())
    proc = subprocess.Popen(
        [str(rasa), "run", "--enable-api", "--interface", "127.0.0.1", "--port", port],
        cwd=folder, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    output: list[str] = []
    threading.Thread(target=_drain, args=(proc, output), daemon=True).start()
    deadline = time.monotonic() + 600
    while not any("Rasa server is up and running" in line for line in output):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("the anchor did not start:\n" + "".join(output[-30:]))
        time.sleep(0.5)
    return proc, f"http://127.0.0.1:{port}", folder


def stop(proc: subprocess.Popen[str] | None) -> None:
    if proc is not None and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def tree_rss_mb(pid: int) -> float:
    """RSS of a process and all its descendants, in MB (from /proc)."""
    total = 0
    for p in descendants(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


async def send(session: aiohttp.ClientSession, target: str, url: str, sender: str, text: str) -> float:
    started = time.perf_counter()
    if target == "bot":
        endpoint, body = f"{url}/api/chat", {"sender_id": sender, "text": text}
    else:
        endpoint, body = f"{url}/webhooks/rest/webhook", {"sender": sender, "message": text}
    async with session.post(endpoint, json=body, headers=API_HEADERS if target == "bot" else {}) as response:
        data = await response.json(content_type=None)
        if response.status != 200:
            raise RuntimeError(f"{target} answered {response.status}: {data}")
        if target == "bot" and not data.get("messages"):
            raise RuntimeError(f"the bot said nothing to {text!r}")
    return time.perf_counter() - started


async def level(target: str, url: str, concurrency: int, patrons: int, time_limit: float) -> dict[str, float]:
    """``patrons`` distinct patrons of 5 messages each, ``concurrency`` at a time."""
    messages = BOT_MESSAGES if target == "bot" else ANCHOR_MESSAGES
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(patrons):
        queue.put_nowait(i)
    latencies: list[float] = []
    run = uuid.uuid4().hex[:6]
    deadline = time.monotonic() + time_limit

    async def worker() -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
            while time.monotonic() < deadline:
                try:
                    patron = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                for k in range(PER_PATRON):
                    text = messages[(patron + k) % len(messages)]
                    latencies.append(await send(session, target, url, f"bench-{run}-{patron}", text))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "messages": len(latencies), "per_second": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[max(0, int(0.95 * len(latencies)) - 1)],
    }


async def long_conversations(url: str, conversations: int, length: int) -> tuple[float, float]:
    """Median latency (ms) of the first and of the last round of the message list (the same
    messages, in the same order) in ``length``-message conversations."""
    first: list[float] = []
    last: list[float] = []
    window = len(BOT_MESSAGES)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        for c in range(conversations):
            sender = f"long-{uuid.uuid4().hex[:6]}-{c}"
            for k in range(length):
                latency = await send(session, "bot", url, sender, BOT_MESSAGES[k % window])
                if k < window:
                    first.append(latency)
                elif k >= length - window:
                    last.append(latency)
    return 1000 * statistics.median(first), 1000 * statistics.median(last)


def merge(results: list[dict[str, float]]) -> dict[str, float]:
    total = sum(r["messages"] for r in results)
    return {
        "messages": total,
        "per_second": statistics.mean(r["per_second"] for r in results),
        "p50_ms": statistics.median(r["p50_ms"] for r in results),
        "p95_ms": statistics.median(r["p95_ms"] for r in results),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patrons", type=int, default=20, help="patrons per round at concurrency 1 (x5 at 10, x10 at 50)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per level and target")
    parser.add_argument("--time-limit", type=float, default=180, help="seconds per round at most")
    parser.add_argument("--long", type=int, default=5, help="50-message conversations for the growth check")
    args = parser.parse_args()
    rasa = ROOT / ".venv-rasa" / "bin" / "rasa"
    anchor = bot = None
    folder: Path | None = None
    try:
        anchor, anchor_url, folder = start_anchor(rasa)
        bot, bot_url = start_bot()
        await level("bot", bot_url, 2, 4, 60)  # warm-up: first turns fill caches on both paths
        await level("anchor", anchor_url, 2, 4, 60)
        rows = []
        for concurrency, scale in ((1, 1), (10, 5), (50, 10)):
            results: dict[str, list[dict[str, float]]] = {"anchor": [], "bot": []}
            for _ in range(args.rounds):
                for target, url in (("anchor", anchor_url), ("bot", bot_url)):
                    results[target].append(await level(target, url, concurrency, args.patrons * scale, args.time_limit))
            a, b = merge(results["anchor"]), merge(results["bot"])
            rows.append((concurrency, a, b))
            print(f"c={concurrency:<3} anchor {a['per_second']:6.1f} msg/s p50 {a['p50_ms']:6.1f} ms | "
                  f"bot {b['per_second']:6.1f} msg/s p50 {b['p50_ms']:6.1f} ms | ratio {b['per_second'] / a['per_second']:.2f}x",
                  flush=True)
        first, last = await long_conversations(bot_url, args.long, 50)
        rss_anchor, rss_bot = tree_rss_mb(anchor.pid), tree_rss_mb(bot.pid)
        print("\n| concurrency | rasa init msg/s | bot msg/s | bot / anchor | rasa init p50 ms | bot p50 ms | rasa init p95 ms | bot p95 ms |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for concurrency, a, b in rows:
            print(f"| {concurrency} | {a['per_second']:.1f} | {b['per_second']:.1f} | {b['per_second'] / a['per_second']:.2f}x | "
                  f"{a['p50_ms']:.0f} | {b['p50_ms']:.0f} | {a['p95_ms']:.0f} | {b['p95_ms']:.0f} |")
        print(f"\nbot, {args.long} conversations of 50 messages: median turn 1-10 {first:.1f} ms, turn 41-50 {last:.1f} ms "
              f"({(last / first - 1) * 100:+.0f} %)")
        print(f"RSS after the load: bot (whole `pustakabot run` tree) {rss_bot:.0f} MB; rasa init server {rss_anchor:.0f} MB")
    finally:
        stop(bot)
        stop(anchor)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
