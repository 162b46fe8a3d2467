"""The gateway's application factory: wires resources and routes, nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from bot import forwarded, health, http_security, logs, metrics
from bot.channels import connectors, webchat
from bot.console import app as console
from actions.engine import AnswerEngine
from bot.db_sessions import gateway_sessions
from bot.keys import (
    answer_engine_key,
    engine_key,
    handoff_key,
    http_key,
    knowledge_key,
    locks_key,
    metrics_key,
    nlu_key,
    outbox_key,
    replicas_key,
    router_key,
    scheduler_key,
    sessions_key,
    settings_key,
)
from bot.feedback import FeedbackPolicy
from bot.nlu import NluClient
from bot.privacy import PrivacyNotice, RetentionJob
from bot.replicas import wiring
from bot.router import Router
from bot.settings import Settings
from bot.subscriptions import GatewaySubscriptions
from knowledge.db import make_async_engine
from knowledge.kb import KnowledgeBase

log = logging.getLogger(__name__)


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = make_async_engine(app[settings_key].effective_database_url)
    app[engine_key] = engine
    app[sessions_key] = gateway_sessions(engine)  # SQLite writers take turns (bot/db_sessions.py)
    locks = app[locks_key] = wiring.conversation_locks(engine)  # across replicas on PostgreSQL
    yield
    await locks.close()
    await engine.dispose()


def knowledge_base(settings: Settings) -> KnowledgeBase:
    """The engine's knowledge base: with the fine-tuned FAQ model and its thresholds when `train`
    made one for the configured embedding model, else the configured model itself."""
    tuned = None
    if settings.faq_fine_tune and settings.embedding_model:
        from knowledge.faq_tune import find_tuned

        tuned = find_tuned(settings.models_dir, settings.embedding_model)
    if tuned is None:
        return KnowledgeBase(
            settings.effective_database_url, settings.faq_dir, embedding_model=settings.embedding_model,
            phrasing_bank=settings.phrasing_bank,
        )
    log.info("FAQ retrieval uses the fine-tuned model %s (answer threshold %.3f)",
             tuned.path.name, tuned.thresholds.answer)
    return KnowledgeBase(
        settings.effective_database_url, settings.faq_dir, embedding_model=str(tuned.path),
        thresholds=tuned.thresholds, semantic_weight=tuned.semantic_weight, phrasing_bank=settings.phrasing_bank,
    )


async def _answering(app: web.Application) -> AsyncIterator[None]:
    """The knowledge base and the answer engine, in this process."""
    settings = app[settings_key]
    kb = await asyncio.to_thread(knowledge_base, settings)
    await asyncio.to_thread(kb.faq_index)  # load FAQ files and embeddings before the first patron
    app[knowledge_key] = kb
    app[answer_engine_key] = AnswerEngine(
        kb, ZoneInfo(settings.timezone), subscriptions=GatewaySubscriptions(app[sessions_key]),
        reminder_hour=settings.reminder_hour,
    )
    yield
    await asyncio.to_thread(kb.close)


async def _retention(app: web.Application) -> AsyncIterator[None]:
    """The transcript retention job (bot/privacy.py), while the gateway serves."""
    settings = app[settings_key]
    job = RetentionJob(app[sessions_key], days=settings.retention_days,
                       interval=settings.retention_interval_hours * 3600)
    # Not in the first minute: a gateway starting up (and its tests) writes the most then.
    task = asyncio.get_running_loop().create_task(job.run_forever(first_delay=min(60.0, job.interval)),
                                                  name="retention")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _clients(app: web.Application) -> AsyncIterator[None]:
    settings = app[settings_key]
    session = aiohttp.ClientSession()
    app[http_key] = session
    app[nlu_key] = NluClient(
        session, settings.effective_rasa_url, token=settings.rasa_token.get_secret_value(),
        timeout=settings.rasa_timeout,
    )
    app[router_key] = Router(
        app[sessions_key], app[nlu_key], app[answer_engine_key], handoff=app[handoff_key],
        debug=settings.debug_replies, subscriptions=app[answer_engine_key].subscriptions,
        locks=app[locks_key], metrics=app[metrics_key],
        feedback=FeedbackPolicy(settings.feedback_mode, settings.feedback_sample_rate),
        privacy=PrivacyNotice.from_settings(settings),
    )
    yield
    await session.close()


async def _scheduling(app: web.Application) -> AsyncIterator[None]:
    """The periodic sender of announcements, reminders and digests (bot/scheduler.py)."""
    from bot.replicas.leader import leader_lock
    from bot.scheduler import Scheduler

    settings = app[settings_key]
    scheduler = Scheduler(
        app[sessions_key], app[outbox_key], app[knowledge_key], zone=ZoneInfo(settings.timezone),
        interval=settings.scheduler_interval_seconds, digest_weekday=settings.digest_weekday,
        digest_hour=settings.digest_hour,
        leader=leader_lock("scheduler", redis_url=settings.redis_url, database_url=settings.database_url,
                           prefix=settings.redis_prefix, ttl=settings.leader_ttl_seconds),
    )
    app[scheduler_key] = scheduler
    scheduler.start()
    yield
    await scheduler.stop()


def create_app(settings: Settings) -> web.Application:
    """Build the gateway for ``settings`` (the database must already be migrated)."""
    app = web.Application(client_max_size=1024**2, middlewares=[forwarded.middleware(settings.trusted_proxies)])
    app[settings_key] = settings
    logs.setup(app, settings)  # first: quiet request loggers before any client starts
    http_security.setup(app)
    app[metrics_key] = metrics.Metrics()
    replicas = app[replicas_key] = wiring.Replicas.from_settings(settings)
    app.cleanup_ctx.append(wiring.context(replicas))
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_answering)
    console.setup(app)  # handoff service + /console/ (before the router is built)
    app.cleanup_ctx.append(_clients)
    app.cleanup_ctx.append(_retention)
    webchat.setup(app)
    connectors.setup(app)
    app.cleanup_ctx.append(_scheduling)  # after the outbox: it sends through it
    health.setup(app)
    metrics.setup(app)
    return app
