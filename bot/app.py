"""The gateway's application factory: wires resources and routes, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot import health, http_security, logs
from bot.channels import connectors, webchat
from bot.console import app as console
from bot.db_sessions import gateway_sessions
from bot.keys import (
    engine_key,
    handoff_key,
    http_key,
    rasa_key,
    router_key,
    sessions_key,
    settings_key,
)
from bot.rasa import RasaClient
from bot.router import Router
from bot.settings import Settings
from knowledge.db import make_async_engine


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = make_async_engine(app[settings_key].effective_database_url)
    app[engine_key] = engine
    app[sessions_key] = gateway_sessions(engine)  # SQLite writers take turns (bot/db_sessions.py)
    yield
    await engine.dispose()


async def _clients(app: web.Application) -> AsyncIterator[None]:
    settings = app[settings_key]
    session = aiohttp.ClientSession()
    app[http_key] = session
    app[rasa_key] = RasaClient(session, settings.effective_rasa_url, timeout=settings.rasa_timeout)
    app[router_key] = Router(app[sessions_key], app[rasa_key], handoff=app[handoff_key])
    yield
    await session.close()


def create_app(settings: Settings) -> web.Application:
    """Build the gateway for ``settings`` (the database must already be migrated)."""
    app = web.Application(client_max_size=1024**2)
    app[settings_key] = settings
    logs.setup(app, settings)  # first: quiet request loggers before any client starts
    http_security.setup(app)
    app.cleanup_ctx.append(_database)
    console.setup(app)  # handoff service + /console/ (before the router is built)
    app.cleanup_ctx.append(_clients)
    webchat.setup(app)
    connectors.setup(app)
    health.setup(app)
    return app
