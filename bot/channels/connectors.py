"""Wires the external channels into the gateway: routes, inbox, outbox and their workers.

Telegram is active when ``TELEGRAM_TOKEN`` is set and ``TELEGRAM_MODE`` is not ``off``;
Messenger/Instagram when ``META_APP_SECRET`` is set (sending needs the Page/Instagram token);
WhatsApp when its token, phone number id and an app secret are set (``whatsapp_configured``).
Messages the bot cannot read (photos, stickers, voice, files, locations… on any channel) get one
short text-only reply from :class:`~bot.events.GatewayEvents`, handed them by the inbox.
The outbox always exists (the staff console queues through it, also for the web chat).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bot.channels import meta, telegram, whatsapp
from bot.channels.base import Channel, Pacer
from bot.events import GatewayEvents
from bot.inbox import Inbox
from bot.keys import (
    handoff_key,
    http_key,
    inbox_key,
    locks_key,
    metrics_key,
    nlu_key,
    outbox_key,
    replicas_key,
    router_key,
    sessions_key,
    settings_key,
    telegram_key,
    whatsapp_key,
)
from bot.outbox import Outbox
from bot.subscriptions import GatewaySubscriptions
from bot.replicas.pacing import RedisPacer


def telegram_enabled(app: web.Application) -> bool:
    """True when the Telegram channel is configured."""
    settings = app[settings_key]
    return bool(settings.telegram_token.get_secret_value()) and settings.telegram_mode != "off"


async def _context(app: web.Application) -> AsyncIterator[None]:
    settings = app[settings_key]
    sessions = app[sessions_key]
    channels: dict[str, Channel] = {}
    tg: telegram.TelegramChannel | None = None
    if telegram_enabled(app):
        tg = telegram.TelegramChannel(settings, sessions)
        channels[telegram.NAME] = tg
        app[telegram_key] = tg
    if settings.meta_app_secret.get_secret_value():
        channels.update(meta.channels(settings, app[http_key]))
    if settings.whatsapp_configured:
        wa = whatsapp.channel(settings, app[http_key])
        channels[whatsapp.NAME] = wa
        app[whatsapp_key] = wa
    for channel in channels.values():
        channel.send_timeout = settings.outbox_send_timeout
    replicas = app[replicas_key]
    if replicas.redis is not None:  # one send budget per bot/page/number for all replicas together
        for name, channel in channels.items():
            pacer = getattr(channel, "pacer", None)
            if isinstance(pacer, Pacer):
                channel.pacer = RedisPacer(  # type: ignore[attr-defined]
                    replicas.redis, f"{replicas.prefix}pace:{name}:", interval=pacer.interval,
                    rate=1.0 / pacer.gap if pacer.gap > 0 else 0.0,
                )
    locks = app[locks_key]
    outbox = Outbox(sessions, channels, max_attempts=settings.outbox_max_attempts, locks=locks,
                    metrics=app[metrics_key], on_blocked=GatewaySubscriptions(sessions).blocked)
    inbox = Inbox(
        sessions, app[router_key], outbox, channels,
        events=GatewayEvents(sessions, app[handoff_key]),
        ready=app[nlu_key].ready, hold_notice_after=settings.hold_notice_seconds, locks=locks,
    )
    app[outbox_key] = outbox
    app[inbox_key] = inbox
    if tg is not None:

        async def accept_update(data: dict) -> None:
            assert tg is not None
            await inbox.accept(await tg.resolve(tg.parse(data)))
            query = data.get("callback_query")
            if isinstance(query, dict) and query.get("id"):
                tg.spawn(tg.answer_callback(str(query["id"])))

        await tg.start(accept_update)
    await outbox.start()
    await inbox.start()
    try:
        yield
    finally:
        await inbox.stop()
        await outbox.stop()
        if tg is not None:
            await tg.stop()


def setup(app: web.Application) -> None:
    """Register the webhook routes of the configured channels and the workers' cleanup context.

    Call after the database and HTTP client contexts are registered.
    """
    settings = app[settings_key]
    if settings.telegram_token.get_secret_value() and settings.telegram_mode != "off":
        telegram.setup(app, settings)
    if settings.meta_app_secret.get_secret_value():
        meta.setup(app)
    if settings.whatsapp_configured:
        whatsapp.setup(app)
    app.cleanup_ctx.append(_context)
