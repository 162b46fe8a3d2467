"""The gateway run as `pustakabot gateway` with known secrets: none of them appears in its output.

Drives the paths that used to leak: a Telegram reply (httpx logged every request URL, which
holds the bot token), the Meta verification handshake (the verify token in the access log's
query string), and web chat calls with an API key.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import aiohttp
import pytest

from bot.cli import upgrade_database
from bot.settings import Settings
from tests.bot.channels.conftest import sign, tg_update
from tests.conftest import ROOT, free_port
from tests.fakes import FakeTelegram

SECRETS = {
    "PUSTAKABOT_TELEGRAM_TOKEN": "7000111222:AAH-known-bot-token-QxZ",
    "PUSTAKABOT_TELEGRAM_WEBHOOK_SECRET": "tg-webhook-secret-Kp9",
    "PUSTAKABOT_META_APP_SECRET": "meta-app-secret-Vb4",
    "PUSTAKABOT_META_VERIFY_TOKEN": "meta-verify-token-Lm2",
    "PUSTAKABOT_META_PAGE_TOKEN": "meta-page-token-Wq7",
    "PUSTAKABOT_CHAT_API_KEYS": "chat-api-key-Zr5",
    "PUSTAKABOT_SECRET_KEY": "signing-secret-key-Hd3",
    "PUSTAKABOT_RASA_TOKEN": "rasa-api-token-Tn8",  # sent to the (down) NLU on every message
}


async def _wait_up(url: str, process: subprocess.Popen[str], output: list[str]) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            if process.poll() is not None:
                pytest.fail("gateway exited:\n" + "\n".join(output[-40:]))
            try:
                async with http.get(url):
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
    pytest.fail("gateway did not start:\n" + "\n".join(output[-40:]))


@pytest.mark.parametrize(("level", "log_format"), [("INFO", "text"), ("DEBUG", "text"), ("INFO", "json")])
async def test_no_secret_is_ever_logged(tmp_path: Path, dead_port: int, level: str, log_format: str) -> None:
    token = SECRETS["PUSTAKABOT_TELEGRAM_TOKEN"]
    async with FakeTelegram(token=token) as fake:
        port = free_port()
        settings = Settings(data_dir=tmp_path)
        upgrade_database(settings)
        env = {
            **os.environ,
            **SECRETS,
            "PUSTAKABOT_DATA_DIR": str(tmp_path),
            "PUSTAKABOT_PORT": str(port),
            "PUSTAKABOT_HOST": "127.0.0.1",
            "PUSTAKABOT_RASA_URL": f"http://127.0.0.1:{dead_port}",
            "PUSTAKABOT_HOLD_NOTICE_SECONDS": "0",  # the NLU is down: the "sebentar ya" goes out at once
            "PUSTAKABOT_EMBEDDING_MODEL": "",
            "PUSTAKABOT_RASA_TIMEOUT": "2",
            "PUSTAKABOT_TELEGRAM_API_BASE_URL": fake.base_url,
            "PUSTAKABOT_TELEGRAM_CHAT_INTERVAL": "0",
            "PUSTAKABOT_GRAPH_API_BASE_URL": "http://127.0.0.1:9/v25.0",
            "PUSTAKABOT_LOG_LEVEL": level,
            "PUSTAKABOT_LOG_FORMAT": log_format,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "gateway"], cwd=ROOT, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        output: list[str] = []

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                output.append(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        base = f"http://127.0.0.1:{port}"
        try:
            await _wait_up(f"{base}/healthz", process, output)
            async with aiohttp.ClientSession() as http:
                tg_headers = {"X-Telegram-Bot-Api-Secret-Token": SECRETS["PUSTAKABOT_TELEGRAM_WEBHOOK_SECRET"]}
                async with http.post(f"{base}/webhooks/telegram", json=tg_update(1, 4242, "halo"), headers=tg_headers) as r:
                    assert r.status == 200
                async with http.post(f"{base}/webhooks/telegram", json=tg_update(2, 4242, "x"), headers={
                    "X-Telegram-Bot-Api-Secret-Token": "wrong"}) as r:
                    assert r.status == 403
                await fake.wait_for_sent(1, timeout=30)  # the "sebentar ya" went out through PTB/httpx
                verify = {
                    "hub.mode": "subscribe",
                    "hub.verify_token": SECRETS["PUSTAKABOT_META_VERIFY_TOKEN"],
                    "hub.challenge": "1158201444",
                }
                async with http.get(f"{base}/webhooks/meta", params=verify) as r:
                    assert r.status == 200 and await r.text() == "1158201444"
                raw, headers = sign({"object": "page", "entry": []}, SECRETS["PUSTAKABOT_META_APP_SECRET"])
                async with http.post(f"{base}/webhooks/meta", data=raw, headers=headers) as r:
                    assert r.status == 200
                api = {"Authorization": f"Bearer {SECRETS['PUSTAKABOT_CHAT_API_KEYS']}"}
                async with http.post(f"{base}/api/chat", json={"sender_id": "site-1", "text": "halo"}, headers=api) as r:
                    assert r.status == 200
                async with http.get(f"{base}/api/chat/updates?sender_id=site-1&after=0", headers=api) as r:
                    assert r.status == 200
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            reader.join(timeout=10)
    logged = "".join(output)
    assert "/webhooks/meta" in logged and "/webhooks/telegram" in logged  # the access log did run
    for name, secret in SECRETS.items():
        assert secret not in logged, f"{name} appears in the log"
    if level == "INFO":  # (DEBUG shows SQL parameters, by design)
        assert "site-1" not in logged  # a conversation id is not in the access log either
    assert "aiohttp/" not in logged
    if log_format == "json":  # one object per line, the access log among them
        records = [json.loads(line) for line in output if line.strip()]
        assert all({"event", "level", "logger", "timestamp"} <= set(r) for r in records)
        assert any("/webhooks/telegram" in r["event"] for r in records)
