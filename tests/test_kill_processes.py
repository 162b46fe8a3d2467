"""Failure semantics proven by killing real processes (issue 15, item 1).

One `pustakabot run` (the supervisor with its `rasa` and `gateway` children) in a throw-away
data folder, Telegram in webhook mode at a fake Bot API served from a thread of this process.
The tests post updates as Telegram does (re-POST until a 200), `kill -9` a child and wait,
bounded, for what the patron and the database show once the supervisor has restarted it.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from bot.channel_models import OutboxItem
from bot.models import Conversation, Message
from bot.render import outgoing_from_json, render_telegram
from tests.bot.channels.conftest import tg_update
from tests.conftest import ROOT, free_port
from tests.fakes import FakeTelegram

pytestmark = pytest.mark.e2e

TOKEN = "123:KILL"
SECRET = "kill-secret"
SEND_TIMEOUT = 2.0  # PUSTAKABOT_OUTBOX_SEND_TIMEOUT: an interrupted send is retried 7 s after its mark
STARTED = re.compile(r"^\[run\]\s+started (\w+) \(pid (\d+)\)")
HOLD = ("sebentar ya", "one moment")
T = TypeVar("T")


class ThreadedFake:
    """A :class:`FakeTelegram` running on its own event loop in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake = FakeTelegram(token=TOKEN)
        self.call(self.fake.__aenter__())

    def call(self, coro: Any, timeout: float = 60) -> Any:
        """Run ``coro`` on the fake's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def run(self, fn: Callable[[], T]) -> T:
        """Call ``fn`` on the fake's loop (for methods that need the running loop)."""
        future: Future[T] = Future()

        def go() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(go)
        return future.result(10)

    def texts(self, chat: int) -> list[str]:
        """Texts delivered to ``chat`` so far, in order."""
        return [str(p.get("text", "")) for p in list(self.fake.sent) if int(p["chat_id"]) == chat]

    def close(self) -> None:
        self.run(self.fake.resume)
        self.call(self.fake.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@dataclass
class Run:
    """The running supervisor and what its output said."""

    proc: subprocess.Popen[str]
    url: str
    database_url: str
    output: list[str] = field(default_factory=list)
    starts: dict[str, list[int]] = field(default_factory=dict)

    def read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line.rstrip("\n"))
            if match := STARTED.match(line):
                self.starts.setdefault(match[1], []).append(int(match[2]))

    def pid(self, child: str) -> int:
        return self.starts[child][-1]

    def kill(self, child: str) -> int:
        """``kill -9`` the child; returns how many times it had been started."""
        started = len(self.starts[child])
        os.kill(self.pid(child), signal.SIGKILL)
        return started

    def post(self, body: dict[str, Any], give_up: float = 90) -> None:
        """POST a webhook as Telegram does: again and again until a 200."""
        deadline = time.monotonic() + give_up
        while True:
            try:
                r = requests.post(
                    f"{self.url}/webhooks/telegram", json=body,
                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}, timeout=10,
                )
                if r.status_code == 200:
                    return
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, f"update {body['update_id']} never acknowledged"
            time.sleep(0.5)  # Telegram's re-delivery interval (it is much longer in reality)

    def healthy(self) -> bool:
        try:
            return requests.get(f"{self.url}/healthz", timeout=3).status_code == 200
        except requests.RequestException:
            return False

    def rows(self, query: Any) -> list[Any]:
        engine = create_engine(self.database_url, connect_args={"timeout": 30})
        try:
            with Session(engine) as session:
                return list(session.execute(query).all())
        finally:
            engine.dispose()


def until(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def telegram() -> Iterator[ThreadedFake]:
    fake = ThreadedFake()
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture(scope="module")
def run(telegram: ThreadedFake, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    data = tmp_path_factory.mktemp("kill-data")
    shutil.copytree(ROOT / "knowledge" / "faq", data / "faq")
    port = free_port()
    env = {
        **os.environ,
        "PUSTAKABOT_DATA_DIR": str(data),
        "PUSTAKABOT_FAQ_DIR": str(data / "faq"),
        "PUSTAKABOT_PORT": str(port),
        "PUSTAKABOT_RASA_PORT": str(free_port()),
        "PUSTAKABOT_HOST": "127.0.0.1",
        "PUSTAKABOT_LOG_LEVEL": "INFO",
        "PUSTAKABOT_FAQ_FINE_TUNE": "false",
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
        "PUSTAKABOT_TELEGRAM_TOKEN": TOKEN,
        "PUSTAKABOT_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "PUSTAKABOT_TELEGRAM_MODE": "webhook",
        "PUSTAKABOT_TELEGRAM_API_BASE_URL": telegram.fake.base_url,
        "PUSTAKABOT_TELEGRAM_CHAT_INTERVAL": "0",
        "PUSTAKABOT_HOLD_NOTICE_SECONDS": "2",
        "PUSTAKABOT_OUTBOX_SEND_TIMEOUT": f"{SEND_TIMEOUT:g}",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    r = Run(proc, f"http://127.0.0.1:{port}", f"sqlite:///{data / 'pustakabot.db'}")
    threading.Thread(target=r.read, daemon=True).start()
    try:
        until(
            lambda: proc.poll() is not None or any("ready: open the web chat" in line for line in r.output),
            1800, "the stack is ready",
        )
        assert proc.poll() is None, "\n".join(r.output[-60:])
        yield r
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for pids in r.starts.values():  # children run in their own sessions
            for pid in pids:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass


def _conversation_rows(r: Run, chat: int) -> tuple[list[tuple[str, str, str | None]], list[tuple[str, dict]]]:
    """(transcript rows as (direction, author, platform id), outbox rows as (status, message))."""
    transcript = r.rows(
        select(Message.direction, Message.author, Message.platform_message_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.channel == "telegram", Conversation.external_id == str(chat))
        .order_by(Message.id)
    )
    outbox = r.rows(
        select(OutboxItem.status, OutboxItem.message)
        .join(Conversation, Conversation.id == OutboxItem.conversation_id)
        .where(Conversation.channel == "telegram", Conversation.external_id == str(chat))
        .order_by(OutboxItem.id)
    )
    return [tuple(t) for t in transcript], [tuple(o) for o in outbox]


def _expected_parts(outbox: list[tuple[str, dict]]) -> list[str]:
    return [p.text for _, m in outbox for p in render_telegram(outgoing_from_json(m)).parts]


def test_kill_gateway_acknowledged_messages_are_answered_once_and_recorded_once(
    run: Run, telegram: ThreadedFake
) -> None:
    recorded_chat, chats = 8_100_000_001, [8_100_000_002, 8_100_000_003, 8_100_000_004]
    questions = ["jam buka perpustakaan?", "berapa denda keterlambatan?", "syarat daftar anggota apa?"]
    # A reply delivered and recorded before the kill...
    run.post(tg_update(910_001, recorded_chat, "berapa lama boleh pinjam buku?"))
    until(
        lambda: (rows := _conversation_rows(run, recorded_chat)[1]) and all(s == "sent" for s, _ in rows),
        90, "the first reply is recorded as sent",
    )
    first = telegram.texts(recorded_chat)
    assert first
    recorded = run.rows(select(OutboxItem.platform_ids).where(OutboxItem.external_id == str(recorded_chat)))
    assert all(ids for (ids,) in recorded), "the platform's message ids are recorded with 'sent'"
    # ...then Telegram stops answering sendMessage: the next replies reach it and wait there.
    telegram.run(telegram.fake.hold)
    update_id = 910_100
    for chat in chats:
        for question in questions[:2]:
            update_id += 1
            run.post(tg_update(update_id, chat, question))
    telegram.call(telegram.fake.wait_for_held(1, timeout=60))
    # The held reply's row was committed as 'sending' before the call.
    held_chat = int(telegram.fake.held[0]["chat_id"])
    assert "sending" in [s for s, _ in _conversation_rows(run, held_chat)[1]]
    starts = run.kill("gateway")
    # Killed before the platform sent it: the held requests (and any the dead process had
    # already written) are refused until the new gateway is up.
    telegram.run(lambda: telegram.fake.release(deliver=False))
    until(lambda: len(run.starts["gateway"]) > starts, 60, "the supervisor restarts the gateway")
    until(run.healthy, 180, "the restarted gateway is healthy")
    telegram.run(telegram.fake.resume)
    run.post(tg_update(910_900, recorded_chat, "boleh bawa makanan?"))

    def all_answered() -> bool:
        for chat in [*chats, recorded_chat]:
            transcript, outbox = _conversation_rows(run, chat)
            if sum(1 for d, _a, _p in transcript if d == "in") < 2:
                return False
            if not outbox or any(s != "sent" for s, _ in outbox):
                return False
        return True

    until(all_answered, 90 + SEND_TIMEOUT + 5, "every acknowledged message answered after the restart")
    for chat in [*chats, recorded_chat]:
        transcript, outbox = _conversation_rows(run, chat)
        ins = [p for d, _a, p in transcript if d == "in"]
        assert len(ins) == len(set(ins)) == 2, f"chat {chat}: patron messages recorded once: {transcript}"
        bot_out = [a for d, a, _p in transcript if d == "out" and a == "bot"]
        assert len(bot_out) == len(outbox), f"chat {chat}: one reply row per outbox row"
        # Delivered exactly as queued: each part once, in order, nothing twice.
        assert telegram.texts(chat) == _expected_parts(outbox), f"chat {chat}"
    assert telegram.texts(recorded_chat)[: len(first)] == first
    assert telegram.texts(recorded_chat).count(first[0]) == 1, "a recorded reply is never sent again"
    assert any("was interrupted after the platform call started" in line for line in run.output)


def test_kill_rasa_the_waiting_message_is_answered_for_real_after_one_hold_notice(
    run: Run, telegram: ThreadedFake
) -> None:
    chat = 8_200_000_001
    until(run.healthy, 120, "the stack is healthy")
    run.post(tg_update(920_001, chat, "halo kak"))
    until(lambda: len(telegram.texts(chat)) >= 1, 60, "the greeting is answered")
    before = len(telegram.texts(chat))
    starts = run.kill("rasa")
    until(lambda: not run.healthy(), 30, "the gateway notices the NLU is gone")
    run.post(tg_update(920_002, chat, "selamat pagi, apa kabar?"))
    until(lambda: len(run.starts["rasa"]) > starts, 60, "the supervisor restarts Rasa")
    until(run.healthy, 420, "Rasa is back")  # loading the model takes ~30 s, minutes on a busy machine

    def answered() -> bool:
        texts = telegram.texts(chat)[before:]
        return any(not any(h in t.lower() for h in HOLD) for t in texts)

    until(answered, 120, "the waiting message gets its real answer")
    texts = telegram.texts(chat)[before:]
    holds = [t for t in texts if any(h in t.lower() for h in HOLD)]
    assert len(holds) <= 1, texts
    assert not any(h in texts[-1].lower() for h in HOLD), texts
    if holds:
        assert texts[0] == holds[0], "the hold notice comes first, never instead"
    assert not any("gangguan" in t.lower() for t in texts), texts
    transcript, outbox = _conversation_rows(run, chat)
    ins = [p for d, _a, p in transcript if d == "in"]
    assert ins == ["920001", "920002"], transcript
    assert all(s == "sent" for s, _ in outbox)
    assert telegram.texts(chat) == _expected_parts(outbox)
    assert run.rows(select(func.count()).select_from(Message).where(Message.platform_message_id == "920002"))[0][0] == 1
