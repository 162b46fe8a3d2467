"""Property-based fuzzing of the public HTTP API (bot/static/openapi.yaml) and the console: no 5xx.

A real gateway on a real port (in a background thread, with the Telegram and Graph fakes),
hit with `requests` from hypothesis-generated inputs: JSON of every shape for ``/api/chat``,
odd query values for ``/api/chat/updates``, correctly signed webhook bodies of wrong types for
both webhooks, and odd ids, parameters and texts for the console's routes. Bounded to a few
hundred examples (well under a minute). Also the known 5xx cases from issue 15 as examples.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import threading
from urllib.parse import quote
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml
from aiohttp import web
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.app import create_app
from bot.keys import sessions_key
from bot.staff import add_staff
from tests.bot.channels.conftest import APP_SECRET, TG_SECRET, TOKEN, channel_settings
from tests.conftest import API_HEADERS, TEST_API_KEY, free_port
from tests.fakes import FakeGraph, FakeTelegram

PASSWORD = "rahasia-sekali-123"
FUZZ = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
SURROGATE = "\ud800"
BIG = "1" * 20


@dataclass
class Live:
    """The running gateway and a logged-in console session."""

    base: str
    console: requests.Session
    csrf: str
    conversation_id: int


def _serve(tmp_path: Path, ready: threading.Event, box: dict) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def main() -> None:
        box["stop"] = asyncio.Event()
        async with FakeTelegram(token=TOKEN) as telegram, FakeGraph() as graph:
            settings_ = channel_settings(
                tmp_path, free_port(), telegram_token=TOKEN, telegram_webhook_secret=TG_SECRET,
                telegram_api_base_url=telegram.base_url, meta_app_secret=APP_SECRET, meta_verify_token="vt",
                meta_page_token="PAGE", graph_api_base_url=graph.base_url, chat_api_keys=TEST_API_KEY,
                chat_rate_per_address=0, chat_rate_per_conversation=0, chat_handoffs_per_address=0,
                console_cookie_secure="false", rasa_timeout=1,
                staff_schedule_file=tmp_path / "schedule.yml",
            )
            app = create_app(settings_)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            async with app[sessions_key].begin() as session:
                await add_staff(session, "rina", "Rina", PASSWORD, role="admin")
            box["base"] = f"http://127.0.0.1:{runner.addresses[0][1]}"
            loop.call_soon(ready.set)
            await box["stop"].wait()
            await runner.cleanup()

    box["loop"] = loop
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("fuzz")
    schedule = tmp / "schedule.yml"
    schedule.write_text(
        'jam: {senin: "00:00-24:00", selasa: "00:00-24:00", rabu: "00:00-24:00", kamis: "00:00-24:00",\n'
        '      jumat: "00:00-24:00", sabtu: "00:00-24:00", minggu: "00:00-24:00"}\nlibur: {}\n',
        encoding="utf-8",
    )
    ready, box = threading.Event(), {}
    thread = threading.Thread(target=_serve, args=(tmp, ready, box), daemon=True)
    thread.start()
    assert ready.wait(60), "gateway did not start"
    base = box["base"]
    console = requests.Session()
    page = console.get(f"{base}/console/login", timeout=10)
    token = re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)
    login = console.post(f"{base}/console/login", data={"_csrf": token, "username": "rina", "password": PASSWORD},
                         allow_redirects=False, timeout=10)
    assert login.status_code == 303
    handoff = requests.post(f"{base}/api/chat", json={"sender_id": "fuzz-1", "text": "mau bicara dengan petugas"},
                            headers=API_HEADERS, timeout=30)
    assert handoff.status_code == 200
    queue = console.get(f"{base}/console/", timeout=10).text
    conversation_id = int(re.search(r"/console/c/(\d+)", queue).group(1))
    csrf = re.search(r'name="_csrf" value="([^"]+)"', queue).group(1)
    assert console.post(f"{base}/console/c/{conversation_id}/claim", data={"_csrf": csrf}, timeout=10).ok
    try:
        yield Live(base, console, csrf, conversation_id)
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(30)


def _q(params: dict[str, str]) -> str:
    """URL-encode ``params`` as a browser could send them, lone surrogates as their raw bytes."""
    return "&".join(f"{quote(k)}={quote(v, safe='', errors='surrogatepass')}" for k, v in params.items())


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _no_5xx(response: requests.Response) -> None:
    assert response.status_code < 500, ascii((response.request.method, response.request.url, response.status_code, response.text[:300]))


texts = st.text(st.characters(codec=None, exclude_categories=()), max_size=60) | st.sampled_from(
    ["", " ", SURROGATE, f"halo {SURROGATE}", "\x00", "²", BIG, "batal", "mau bicara dengan petugas"]
)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | texts
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3), max_leaves=8)
odd_ids = st.sampled_from(["²", BIG, "-1", "0", "1e3", "abc", "9" * 40, "", "%00", "٣"]) | st.integers(-(10**30), 10**30).map(str)


def test_the_openapi_description_is_served_and_names_the_public_routes(live: Live) -> None:
    response = requests.get(f"{live.base}/api/openapi.yaml", timeout=10)
    assert response.status_code == 200
    spec = yaml.safe_load(response.text)
    assert {"/api/chat", "/api/chat/updates", "/webhooks/telegram", "/webhooks/meta", "/healthz"} <= set(spec["paths"])


@FUZZ
@given(body=st.dictionaries(st.sampled_from(["text", "payload", "sender_id", "x"]), json_values, max_size=4) | json_values,
       key=st.sampled_from([None, "valid", "wrong"]))
@example(body={"text": SURROGATE}, key=None)
@example(body={"text": "ok", "payload": SURROGATE}, key=None)
@example(body={"sender_id": "a", "text": f"x{SURROGATE}"}, key="valid")
def test_chat_never_answers_5xx(live: Live, body: object, key: str | None) -> None:
    headers = {"Content-Type": "application/json"}
    if key == "valid":
        headers.update(API_HEADERS)
    elif key == "wrong":
        headers["Authorization"] = "Bearer nope"
    raw = json.dumps(body).encode()  # ensure_ascii: lone surrogates travel as \\udXXX escapes
    response = requests.post(f"{live.base}/api/chat", data=raw, headers=headers, timeout=30)
    _no_5xx(response)
    if isinstance(body, dict) and body.get("text") == SURROGATE:
        assert response.status_code == 422


@FUZZ
@given(after=odd_ids | st.none(), sender=st.none() | texts, key=st.booleans())
@example(after="²", sender=None, key=False)
@example(after=BIG, sender="fuzz-1", key=True)
def test_updates_never_answer_5xx(live: Live, after: str | None, sender: str | None, key: bool) -> None:
    params = {k: v for k, v in (("after", after), ("sender_id", sender)) if v is not None}
    response = requests.get(f"{live.base}/api/chat/updates?{_q(params)}", headers=API_HEADERS if key else {}, timeout=30)
    _no_5xx(response)
    if after in ("²", BIG):
        assert response.status_code in (401, 422)  # 401 when a sender_id came without the key


tg_messages = st.fixed_dictionaries(
    {"message_id": scalars, "chat": st.one_of(json_values, st.fixed_dictionaries({"id": scalars, "type": st.sampled_from(["private", "group", 5])})),
     "from": json_values, "date": scalars},
    optional={"text": json_values, "caption": json_values, "photo": json_values, "sticker": json_values},
)
tg_updates = st.fixed_dictionaries(
    {"update_id": st.integers(0, 2**40) | scalars},
    optional={"message": tg_messages | json_values, "callback_query": st.fixed_dictionaries(
        {"id": scalars, "data": json_values, "from": json_values}, optional={"message": tg_messages | json_values}),
        "edited_message": json_values},
)
PRIVATE = {"id": 42, "type": "private"}


@FUZZ
@given(update=tg_updates | json_values)
@example(update={"update_id": 900001, "message": {"message_id": 1, "chat": PRIVATE, "date": 1, "text": 5}})
@example(update={"update_id": 900002, "message": {"message_id": 1, "chat": PRIVATE, "date": 1, "text": {"a": 1}}})
@example(update={"update_id": 900003, "callback_query": {"id": "q", "data": 7, "from": {"id": 42}, "message": {"chat": PRIVATE}}})
@example(update={"update_id": 900004, "callback_query": {"id": "q", "data": {"x": 1}, "from": {"id": 42}}})
@example(update={"update_id": 900005, "message": {"message_id": 1, "chat": PRIVATE, "date": 1, "text": f"a{SURROGATE}"}})
def test_signed_telegram_webhooks_are_always_acknowledged(live: Live, update: object) -> None:
    response = requests.post(
        f"{live.base}/webhooks/telegram", data=json.dumps(update).encode(),
        headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET, "Content-Type": "application/json"}, timeout=30,
    )
    assert response.status_code == 200, ascii((update, response.status_code))


meta_events = st.fixed_dictionaries(
    {"sender": st.fixed_dictionaries({"id": scalars}) | json_values, "timestamp": scalars},
    optional={"message": st.fixed_dictionaries({"mid": scalars}, optional={
        "text": json_values, "is_echo": scalars, "app_id": scalars, "attachments": json_values,
        "quick_reply": json_values, "reply_to": json_values}) | json_values,
        "postback": json_values, "recipient": json_values, "take_thread_control": json_values},
)
meta_bodies = st.fixed_dictionaries(
    {"object": st.sampled_from(["page", "instagram", "other"]) | scalars,
     "entry": st.lists(st.fixed_dictionaries({"id": scalars}, optional={"messaging": st.lists(meta_events, max_size=3) | json_values,
                                                                          "standby": json_values}) | json_values, max_size=3) | json_values},
)


@FUZZ
@given(body=meta_bodies | json_values)
@example(body={"object": "page", "entry": [{"messaging": [{"sender": {"id": "1"}, "timestamp": "abc", "message": {"mid": "m", "text": "hi"}}]}]})
@example(body={"object": "page", "entry": [{"messaging": [{"sender": "1", "timestamp": 1, "message": {"mid": "m2", "text": "hi"}}]}]})
@example(body={"object": "page", "entry": {"messaging": []}})
@example(body={"object": "page", "entry": 5})
def test_signed_meta_webhooks_are_always_acknowledged(live: Live, body: object) -> None:
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    response = requests.post(f"{live.base}/webhooks/meta", data=raw,
                             headers={"X-Hub-Signature-256": signature, "Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 200, ascii((body, response.status_code))


@FUZZ
@given(ident=odd_ids, current=odd_ids | st.none(), text=texts,
       route=st.sampled_from(["page", "transcript", "note", "reply", "claim", "queue", "static"]))
@example(ident=BIG, current=BIG, text="x", route="page")
@example(ident="²", current="²", text="x", route="queue")
@example(ident="own", current=None, text=SURROGATE, route="note")
@example(ident="own", current=None, text=f"halo {SURROGATE}", route="reply")
def test_console_routes_never_answer_5xx(live: Live, ident: str, current: str | None, text: str, route: str) -> None:
    conv = str(live.conversation_id) if ident == "own" else requests.utils.quote(ident, safe="")
    s, base = live.console, f"{live.base}/console"
    if route == "page":
        response = s.get(f"{base}/c/{conv}", timeout=30)
    elif route == "transcript":
        response = s.get(f"{base}/c/{conv}/transcript", timeout=30)
    elif route == "queue":
        response = s.get(f"{base}/queue?{_q({'current': current} if current is not None else {})}", timeout=30)
    elif route == "static":
        response = s.get(f"{base}/static/{conv}", timeout=30)
    else:
        response = s.post(f"{base}/c/{conv}/{route}", data=_q({"_csrf": live.csrf, "text": text}),
                          headers=FORM, allow_redirects=False, timeout=30)
    _no_5xx(response)
    if route == "page" and ident in ("²", BIG):
        assert response.status_code == 404
