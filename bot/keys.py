"""Every typed application key of the gateway, in one place."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.rasa import RasaClient
from bot.router import Router
from bot.settings import Settings

settings_key = web.AppKey("settings", Settings)
engine_key = web.AppKey("engine", AsyncEngine)
sessions_key = web.AppKey("sessions", async_sessionmaker[AsyncSession])
http_key = web.AppKey("http", aiohttp.ClientSession)
rasa_key = web.AppKey("rasa", RasaClient)
router_key = web.AppKey("router", Router)
