"""Every typed application key of the gateway, in one place."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels.telegram import TelegramChannel
from bot.console.hub import ConsoleHub
from bot.console.limiter import LoginLimiter
from bot.handoff import HandoffService
from bot.inbox import Inbox
from bot.outbox import Outbox
from bot.rasa import RasaClient
from bot.router import Router
from bot.settings import Settings
from bot.webchat_identity import ChatIdentity, ChatLimits

settings_key = web.AppKey("settings", Settings)
engine_key = web.AppKey("engine", AsyncEngine)
sessions_key = web.AppKey("sessions", async_sessionmaker[AsyncSession])
http_key = web.AppKey("http", aiohttp.ClientSession)
rasa_key = web.AppKey("rasa", RasaClient)
router_key = web.AppKey("router", Router)
handoff_key = web.AppKey("handoff", HandoffService)
console_hub_key = web.AppKey("console_hub", ConsoleHub)
login_limiter_key = web.AppKey("login_limiter", LoginLimiter)
outbox_key = web.AppKey("outbox", Outbox)
inbox_key = web.AppKey("inbox", Inbox)
telegram_key = web.AppKey("telegram", TelegramChannel)
chat_identity_key = web.AppKey("chat_identity", ChatIdentity)
chat_limits_key = web.AppKey("chat_limits", ChatLimits)
