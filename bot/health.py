"""``GET /healthz``: each component's state; 503 while one is down."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from sqlalchemy import text

from bot.keys import engine_key, knowledge_key, nlu_key


async def _database(app: web.Application) -> bool:
    try:
        async with app[engine_key].connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:  # any driver error means "down"
        return False


async def _knowledge(app: web.Application) -> bool:
    try:
        return await asyncio.to_thread(app[knowledge_key].ping)
    except Exception:  # any driver error means "down"
        return False


async def healthz(request: web.Request) -> web.Response:
    """Report the database, the NLU (Rasa) and the knowledge base."""
    app = request.app
    database, nlu, knowledge = await asyncio.gather(_database(app), app[nlu_key].ready(), _knowledge(app))
    components = {
        "database": "ok" if database else "down",
        "nlu": "ok" if nlu else "down",
        "knowledge": "ok" if knowledge else "down",
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
