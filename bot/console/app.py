"""Builds the console sub-application and the handoff service, and wires both into the gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.console import security, views
from bot.console.hub import ConsoleHub
from bot.console.limiter import LoginLimiter
from bot.handoff import HandoffService
from bot.handoff.base import OutboxLike
from bot.handoff.queries import short_id
from bot.handoff.schedule import ScheduleFile
from bot.replicas.relay import RedisRelay
from bot.keys import (
    console_hub_key,
    handoff_key,
    login_limiter_key,
    outbox_key,
    replicas_key,
    sessions_key,
    settings_key,
)

HERE = Path(__file__).resolve().parent
CHANNELS = {"web": "Web chat", "telegram": "Telegram", "messenger": "Messenger", "instagram": "Instagram", "whatsapp": "WhatsApp"}
REASONS = {
    "patron_request": "minta petugas",
    "not_understood": "bot tidak paham",
    "complaint": "keluhan",
    "staff_takeover": "diambil alih petugas",
    "platform_inbox": "dijawab dari inbox Meta",
    "handover": "diambil aplikasi lain (handover)",
    "story": "story Instagram",
}
AUTHORS = {"patron": "Pemustaka", "bot": "Bot", "agent": "Pustakawan", "system": "Sistem", "note": "Catatan internal"}


def _outbox_of(app: web.Application) -> Callable[[], OutboxLike | None]:
    # The outbox is built by the channel connectors' context, after this one: look it up late.
    def get() -> OutboxLike | None:
        return app.get(outbox_key)

    return get


async def handoff_context(app: web.Application) -> AsyncIterator[None]:
    """Create the handoff service (needs the database; the router uses it)."""
    settings = app[settings_key]
    hub = app[console_hub_key]
    app[handoff_key] = HandoffService(
        app[sessions_key],
        schedule=ScheduleFile(settings.staff_schedule_file, settings.timezone),
        notify=hub.broadcast,
        outbox=_outbox_of(app),
        rate_after_resolve=settings.feedback_mode != "off",
    )
    yield


async def relay_context(app: web.Application) -> AsyncIterator[None]:
    """With Redis: console updates of every replica reach the consoles open on this one."""
    replicas = app[replicas_key]
    if replicas.redis is None:
        yield
        return
    hub = app[console_hub_key]
    relay = RedisRelay(replicas.redis, f"{replicas.prefix}console", replicas.origin, hub.deliver,
                       listener=replicas.listener)
    hub.relay = relay.publish
    await relay.start()
    yield
    hub.relay = None
    await relay.stop()


async def _close_sockets(app: web.Application) -> None:
    await app[console_hub_key].close_all()


def _filters(tz: ZoneInfo) -> dict[str, Callable[..., str]]:
    def local(moment: datetime) -> datetime:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return aware.astimezone(tz)

    def clock(moment: datetime) -> str:
        return local(moment).strftime("%d/%m %H.%M")

    def ago(moment: datetime) -> str:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        seconds = max(0, int((datetime.now(UTC) - aware).total_seconds()))
        if seconds < 60:
            return "baru saja"
        if seconds < 3600:
            return f"{seconds // 60} menit"
        if seconds < 86400:
            return f"{seconds // 3600} jam {seconds % 3600 // 60} menit"
        return f"{seconds // 86400} hari"

    def iso(moment: datetime) -> str:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return aware.isoformat()

    return {
        "clock": clock,
        "ago": ago,
        "iso": iso,
        "channel": lambda c: CHANNELS.get(c, c),
        "reason": lambda r: REASONS.get(r or "", r or ""),
        "author": lambda a: AUTHORS.get(a, a),
        "short_id": short_id,
    }


def create_console(tz: str) -> web.Application:
    """The sub-application mounted at ``/console/``."""
    console = web.Application(
        middlewares=[security.headers_middleware, security.auth_middleware, security.csrf_middleware]
    )
    env = aiohttp_jinja2.setup(
        console,
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=jinja2.select_autoescape(["html"], default=True),
    )
    env.filters.update(_filters(ZoneInfo(tz)))
    views.setup_routes(console, HERE / "static")
    return console


def setup(app: web.Application) -> None:
    """Mount the console at ``/console/`` and register the hub, rate limiter and handoff service.

    Call after the database cleanup context and before the one that builds the router.
    """
    settings = app[settings_key]
    app[console_hub_key] = ConsoleHub()
    replicas = app[replicas_key]
    app[login_limiter_key] = LoginLimiter(settings.console_login_attempts, redis=replicas.redis, prefix=replicas.prefix)
    app.cleanup_ctx.append(relay_context)
    app.cleanup_ctx.append(handoff_context)
    app.on_shutdown.append(_close_sockets)
    app.add_subapp("/console/", create_console(settings.timezone))
