"""Shared fixtures: the real stack (`pustakabot run`: the Rasa NLU server + the gateway with the
answer engine) on free ports."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


#: the web chat API key of test gateways: lets tests name conversations (``sender_id``) themselves
TEST_API_KEY = "test-integration-key-4f1c"
API_HEADERS = {"Authorization": f"Bearer {TEST_API_KEY}"}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_up(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


# --- the NLU model: trained once per session, while the tests that do not need it run ----------

_TRAINING = pytest.StashKey["subprocess.Popen[bytes] | None"]()
_TRAINING_LOG = pytest.StashKey[Path]()
_TIMES = pytest.StashKey[dict[str, float]]()
_REFERENCE = pytest.StashKey["tuple[list[str], subprocess.Popen[str]] | None"]()


def needs_model(item: pytest.Item) -> bool:
    """Tests that start the real Rasa NLU server (``e2e``, or the shared ``stack``)."""
    return item.get_closest_marker("e2e") is not None or "stack" in getattr(item, "fixturenames", ())


def needs_reference(item: pytest.Item) -> bool:
    """Tests comparing the served model with Rasa's own loader (``rasa_reference``)."""
    return item.get_closest_marker("rasa_reference") is not None


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests that need the trained model run last, so a fresh clone trains it in the background
    (:func:`pytest_collection_finish`) while every other test runs; the one reading Rasa's own
    loader runs at the very end, that loader having worked in the background meanwhile."""
    items.sort(key=lambda item: (needs_model(item), needs_reference(item)))  # stable: files keep their order


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    config.stash[_TRAINING] = None
    if not any(needs_model(item) for item in session.items):
        return
    from bot import training
    from bot.settings import Settings

    # The stack's fingerprint: an empty data folder reads the demo catalog's names, as the stack's
    # freshly loaded demo database does.
    data_dir = Path(config._tmp_path_factory.mktemp("training-data"))  # type: ignore[attr-defined]
    env = {**os.environ, "PUSTAKABOT_DATA_DIR": str(data_dir), "PUSTAKABOT_FAQ_FINE_TUNE": "false", "HF_HUB_OFFLINE": "1"}
    if training.model_path(Settings(data_dir=data_dir)).exists():
        return
    log = data_dir / "train.log"
    config.stash[_TRAINING_LOG] = log
    config.stash[_TIMES] = {"started": time.monotonic()}
    with log.open("wb") as out:
        config.stash[_TRAINING] = subprocess.Popen(
            [sys.executable, "-m", "bot", "train"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test needing the model waits for its training; the first one also starts the reference
    loader of the ``rasa_reference`` test in the background (:func:`rasa_reference`)."""
    if not needs_model(item):
        return
    process = item.config.stash.get(_TRAINING, None)
    times = item.config.stash.get(_TIMES, {})
    if process is not None and "waited" not in times:
        asked = time.monotonic()
        process.wait()
        times["waited"] = time.monotonic() - asked
        times["trained"] = item.config.stash[_TRAINING_LOG].stat().st_mtime - time.time() + time.monotonic() - times["started"]
    if process is not None and process.wait() != 0:
        pytest.fail("training the NLU model failed:\n" + item.config.stash[_TRAINING_LOG].read_text()[-3000:])
    if _REFERENCE not in item.config.stash:
        item.config.stash[_REFERENCE] = None
        if any(needs_reference(i) for i in item.session.items):
            from benchmarks.nlu_lean_load import HELDOUT, heldout_texts, load_in_child, newest_model

            texts = heldout_texts(HELDOUT)[::4]  # every intent of the held-out set, a quarter of its lines
            item.config.stash[_REFERENCE] = (texts, load_in_child("rasa", newest_model(), texts))


@pytest.fixture()
def rasa_reference(request: pytest.FixtureRequest) -> tuple[list[str], dict]:
    """Held-out messages and how a separate ``.venv-rasa`` process loading the newest model with
    Rasa's own loader parses them (started when the first test needing the model ran)."""
    from benchmarks.nlu_lean_load import HELDOUT, heldout_texts, load_in_child, newest_model, result

    started = request.config.stash.get(_REFERENCE, None)
    if started is None:
        texts = heldout_texts(HELDOUT)[::4]
        started = (texts, load_in_child("rasa", newest_model(), texts))
    request.config.stash[_REFERENCE] = None
    texts, process = started
    return texts, result(process)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    times = config.stash.get(_TIMES, {})
    if "waited" in times:
        terminalreporter.write_line(
            f"NLU model trained in the background in {times['trained']:.0f} s; "
            f"the tests needing it waited {times['waited']:.0f} s for it"
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    started = session.config.stash.get(_REFERENCE, None)
    if started is not None and started[1].poll() is None:  # never read (-x, -k): stop it
        started[1].kill()
        started[1].wait()


def pytest_unconfigure(config: pytest.Config) -> None:
    process = config.stash.get(_TRAINING, None)
    if process is not None and process.poll() is None:  # the session ended early (-x, Ctrl-C)
        os.killpg(process.pid, signal.SIGTERM)
        process.wait()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A throw-away PostgreSQL database on 127.0.0.1:5432 (dropped afterwards)."""
    from sqlalchemy import create_engine, text

    if not service_up(5432):
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    name = f"pb_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def load_demo_data(database_url: str) -> None:
    """The demo catalog, e-books and events in a migrated database (what `run` loads)."""
    from knowledge.db import make_engine, make_sessionmaker
    from knowledge.demo import load_demo

    engine = make_engine(database_url)
    try:
        load_demo(make_sessionmaker(engine))
    finally:
        engine.dispose()


@dataclass
class Stack:
    """A running `pustakabot run` and where to reach its parts."""

    process: subprocess.Popen[str]
    env: dict[str, str]
    data_dir: Path
    faq_dir: Path
    gateway_url: str
    rasa_url: str
    rasa_token: str
    database_url: str
    output: list[str] = field(default_factory=list)

    def chat(self, sender_id: str, text: str, **extra: object) -> dict:
        """POST /api/chat as a server-side integration (API key) and return the JSON answer (asserting 200)."""
        response = requests.post(
            f"{self.gateway_url}/api/chat", json={"sender_id": sender_id, "text": text, **extra},
            headers=API_HEADERS, timeout=60,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def texts(self, sender_id: str, text: str) -> str:
        """All reply texts of one turn joined by newlines."""
        return "\n".join(m["text"] for m in self.chat(sender_id, text)["messages"])


def _reader(process: subprocess.Popen[str], sink: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        sink.append(line.rstrip("\n"))


@pytest.fixture(scope="session")
def stack_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for a stack in a throw-away data folder, on free ports."""
    data_dir = tmp_path_factory.mktemp("stack-data")
    faq_dir = data_dir / "faq"
    shutil.copytree(ROOT / "knowledge" / "faq", faq_dir)
    env = dict(os.environ)
    env.update(
        {
            "PUSTAKABOT_DATA_DIR": str(data_dir),
            "PUSTAKABOT_FAQ_DIR": str(faq_dir),
            "PUSTAKABOT_PORT": str(free_port()),
            "PUSTAKABOT_RASA_PORT": str(free_port()),
            # Known to the tests, so gateways they build in-process can ask the stack's NLU.
            "PUSTAKABOT_RASA_TOKEN": f"test-{uuid.uuid4().hex}",
            "PUSTAKABOT_HOST": "127.0.0.1",
            "PUSTAKABOT_LOG_LEVEL": "INFO",
            "PUSTAKABOT_CHAT_API_KEYS": TEST_API_KEY,
            "HF_HUB_OFFLINE": "1",
            # The FAQ fine-tuning costs minutes of CPU on a fresh clone; it is tested on its own
            # (tests/knowledge/test_faq_tune.py), so the stack serves the base embedding model.
            "PUSTAKABOT_FAQ_FINE_TUNE": "false",
        }
    )
    return env


@pytest.fixture(scope="session")
def stack(stack_env: dict[str, str]) -> Iterator[Stack]:
    """`pustakabot run` exactly as a user starts it; stopped with SIGINT at the end.

    Teardown asserts the clean Ctrl-C shutdown: exit code 0 and no child left running.
    """
    env = stack_env
    host = env["PUSTAKABOT_HOST"]
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    threading.Thread(target=_reader, args=(process, output), daemon=True).start()
    s = Stack(
        process=process,
        env=env,
        data_dir=Path(env["PUSTAKABOT_DATA_DIR"]),
        faq_dir=Path(env["PUSTAKABOT_FAQ_DIR"]),
        gateway_url=f"http://{host}:{env['PUSTAKABOT_PORT']}",
        rasa_url=f"http://127.0.0.1:{env['PUSTAKABOT_RASA_PORT']}",
        rasa_token=env["PUSTAKABOT_RASA_TOKEN"],
        database_url=f"sqlite:///{Path(env['PUSTAKABOT_DATA_DIR']) / 'pustakabot.db'}",
        output=output,
    )
    deadline = time.monotonic() + 1800  # the first run on a fresh machine trains the model
    try:
        while True:
            if process.poll() is not None:
                pytest.fail("pustakabot run exited early:\n" + "\n".join(output[-60:]))
            if any("ready: open the web chat at" in line for line in output):
                break
            if time.monotonic() > deadline:
                pytest.fail("stack not ready in time:\n" + "\n".join(output[-60:]))
            time.sleep(0.5)
        yield s
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
