"""Every typed application key of the gateway, in one place."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels.telegram import TelegramChannel
from bot.console.hub import ConsoleHub
from bot.console.limiter import LoginLimiter
from bot.handoff import HandoffService
from bot.channels.whatsapp import WhatsAppChannel
from bot.inbox import Inbox
from bot.outbox import Outbox
from bot.metrics import Metrics
from bot.nlu import NluClient
from actions.engine import AnswerEngine
from knowledge.kb import KnowledgeBase
from bot.replicas.locks import ConversationLocks
from bot.replicas.wiring import Replicas
from bot.router import Router
from bot.scheduler import Scheduler
from bot.settings import Settings
from bot.webchat_identity import ChatIdentity, ChatLimits

settings_key = web.AppKey("settings", Settings)
engine_key = web.AppKey("engine", AsyncEngine)
sessions_key = web.AppKey("sessions", async_sessionmaker[AsyncSession])
http_key = web.AppKey("http", aiohttp.ClientSession)
nlu_key = web.AppKey("nlu", NluClient)
knowledge_key = web.AppKey("knowledge", KnowledgeBase)
answer_engine_key = web.AppKey("answer_engine", AnswerEngine)
router_key = web.AppKey("router", Router)
handoff_key = web.AppKey("handoff", HandoffService)
console_hub_key = web.AppKey("console_hub", ConsoleHub)
login_limiter_key = web.AppKey("login_limiter", LoginLimiter)
outbox_key = web.AppKey("outbox", Outbox)
inbox_key = web.AppKey("inbox", Inbox)
telegram_key = web.AppKey("telegram", TelegramChannel)
whatsapp_key = web.AppKey("whatsapp", WhatsAppChannel)
chat_identity_key = web.AppKey("chat_identity", ChatIdentity)
chat_limits_key = web.AppKey("chat_limits", ChatLimits)
scheduler_key = web.AppKey("scheduler", Scheduler)
replicas_key = web.AppKey("replicas", Replicas)
locks_key = web.AppKey("locks", ConversationLocks)
metrics_key = web.AppKey("metrics", Metrics)
