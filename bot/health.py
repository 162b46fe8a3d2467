"""``GET /healthz``: each component's state; 503 while one is down."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from sqlalchemy import text

from bot.keys import engine_key, http_key, rasa_key, settings_key


async def _database(app: web.Application) -> bool:
    try:
        async with app[engine_key].connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:  # any driver error means "down"
        return False


async def _action_server(app: web.Application) -> bool:
    url = f"{app[settings_key].effective_action_server_url}/health"
    try:
        async with app[http_key].get(url, timeout=aiohttp.ClientTimeout(total=3)) as response:
            return response.status == 200
    except (TimeoutError, aiohttp.ClientError):
        return False


async def healthz(request: web.Request) -> web.Response:
    """Report database, Rasa and action server."""
    app = request.app
    database, rasa, actions = await asyncio.gather(
        _database(app), app[rasa_key].ready(), _action_server(app)
    )
    components = {
        "database": "ok" if database else "down",
        "rasa": "ok" if rasa else "down",
        "action_server": "ok" if actions else "down",
    }
    healthy = all(v == "ok" for v in components.values())
    return web.json_response(
        {"status": "ok" if healthy else "degraded", "components": components},
        status=200 if healthy else 503,
    )


class AccessLogger(AbstractAccessLogger):
    """aiohttp's access log without the health probes (the supervisor polls every second).

    Logs the path only, never the query string: it can carry secrets (Meta's
    ``hub.verify_token``) and identifiers (an integration's ``sender_id``).
    """

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if request.path == "/healthz" and response.status == 200:
            return
        self.logger.info(
            '%s "%s %s" %s %.1fms', request.remote, request.method, request.path, response.status, time * 1000
        )


def setup(app: web.Application) -> None:
    """Register the health route."""
    app.router.add_get("/healthz", healthz)
