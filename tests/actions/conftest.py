"""Fixtures for the engine and action tests: a real knowledge base (SQLite + demo data + the FAQ
files) and conversations through the real answer engine."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from actions.base import ActionContext
from actions.context import ConversationContext
from actions.engine import AnswerEngine, Decision, HandoffRequest
from actions.understanding import Entity, Parse
from knowledge.db import make_engine, make_sessionmaker, upgrade
from knowledge.demo import load_demo
from knowledge.kb import KnowledgeBase

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionContext]:
    """Actions' context over a throw-away SQLite with the demo catalog, lexical FAQ retrieval."""
    url = f"sqlite:///{tmp_path_factory.mktemp('kb') / 'kb.db'}"
    upgrade(url)
    engine = make_engine(url)
    load_demo(make_sessionmaker(engine))
    engine.dispose()
    kb = KnowledgeBase(url, ROOT / "knowledge" / "faq", embedding_model="")
    yield ActionContext(kb=kb, zone=ZoneInfo("Asia/Jakarta"))
    kb.close()


@dataclass
class Turn:
    """What the engine answered to one message, and the context after it."""

    messages: list[dict[str, Any]]
    decision: Decision
    slots: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(m.get("text") or "" for m in self.messages)

    @property
    def buttons(self) -> list[dict[str, str]]:
        return [b for m in self.messages for b in (m.get("buttons") or [])]

    @property
    def handoff(self) -> HandoffRequest | None:
        return self.decision.handoff


class Conversation:
    """One patron's conversation through the answer engine, turn after turn, carrying the
    context record as the gateway does; each turn's NLU reading is given (intent, entities)."""

    def __init__(self, ctx: ActionContext, language: str = "id") -> None:
        self.engine = AnswerEngine(ctx.kb, ctx.zone)
        self.context = ConversationContext(language="en" if language == "en" else "id")

    async def say(
        self,
        text: str,
        intent: str,
        entities: dict[str, str] | None = None,
        confidence: float = 0.9,
        ranking: list[dict[str, Any]] | None = None,
    ) -> Turn:
        parse = Parse(
            text=text, intent=intent, confidence=confidence,
            ranking=tuple((r["name"], float(r["confidence"])) for r in ranking) if ranking else ((intent, confidence),),
            entities=tuple(Entity(k, v, "DIETClassifier") for k, v in (entities or {}).items()),
        )
        return await self._turn(text, parse)

    async def tap(self, payload: str) -> Turn:
        """The patron taps a button (its payload is read without the NLU)."""
        parse = Parse.from_payload(payload)
        assert parse is not None, payload
        return await self._turn(payload, parse)

    async def _turn(self, text: str, parse: Parse) -> Turn:
        decision = await self.engine.decide(text, parse, self.context, sender_id="patron")
        self.context = decision.context
        messages = [
            {"text": m.text, **({"buttons": [{"title": b.title, "payload": b.payload} for b in m.buttons]} if m.buttons else {})}
            for m in decision.messages
        ]
        return Turn(messages, decision, self.context.slots())
