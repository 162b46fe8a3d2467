"""The action server: rasa-sdk's endpoint serving our actions, built with their dependencies."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic

from actions.base import ActionContext
from actions.catalog import ActionSearchCatalog, ActionSuggestPurchase
from actions.ebooks import ActionListEbooks
from actions.events import ActionListEvents
from actions.faq import ActionAnswerFaq, ActionFallback, ActionOutOfScope
from actions.handoff import ActionHandoff
from knowledge.kb import KnowledgeBase

log = logging.getLogger(__name__)


def build_executor(ctx: ActionContext) -> ActionExecutor:
    """An executor with every action registered as an instance."""
    executor = ActionExecutor()
    for action in (
        ActionAnswerFaq(ctx),
        ActionFallback(ctx),
        ActionOutOfScope(ctx),
        ActionSearchCatalog(ctx),
        ActionSuggestPurchase(ctx),
        ActionListEvents(ctx),
        ActionListEbooks(ctx),
        ActionHandoff(),
    ):
        executor.register_action(action)
    return executor


def serve(kb: KnowledgeBase, *, host: str, port: int, tz: str) -> None:
    """Serve the actions on ``host:port`` in this process (blocking)."""
    ctx = ActionContext(kb=kb, zone=ZoneInfo(tz))
    kb.faq_index()  # load FAQ files and embeddings before the first patron waits for them
    app = create_app(build_executor(ctx), cors_origins=[])
    app.prepare(host=host, port=port, single_process=True, access_log=False, motd=False)
    log.info("action server on http://%s:%d", host, port)
    Sanic.serve_single(app)
