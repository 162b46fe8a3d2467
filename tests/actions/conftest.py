"""Fixtures for the action tests: a real knowledge base (SQLite + demo data + the FAQ files)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ActionContext
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
    """What an action said and the events it returned."""

    messages: list[dict[str, Any]]
    events: list[dict[str, Any]]
    slots: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(m.get("text") or "" for m in self.messages)

    @property
    def buttons(self) -> list[dict[str, str]]:
        return [b for m in self.messages for b in (m.get("buttons") or [])]


class Conversation:
    """Runs actions turn after turn, carrying the slots their events set (as Rasa does)."""

    def __init__(self, language: str = "id") -> None:
        self.slots: dict[str, Any] = {"language": language, "failed_turns": 0.0}
        self.events: list[dict[str, Any]] = []  # user and bot events, serialised as Rasa sends them

    async def say(
        self,
        action: Action,
        text: str,
        intent: str,
        entities: dict[str, str] | None = None,
        confidence: float = 0.9,
        ranking: list[dict[str, Any]] | None = None,
    ) -> Turn:
        ents = [{"entity": k, "value": v} for k, v in (entities or {}).items()]
        for e in ents:
            if e["entity"] in ("title", "author", "subject", "period", "language"):
                self.slots[e["entity"]] = e["value"]
        latest = {
            "text": text, "intent": {"name": intent, "confidence": confidence}, "entities": ents,
            "intent_ranking": ranking or [{"name": intent, "confidence": confidence}],
        }
        self.events.append({"event": "user", "text": text, "parse_data": latest})
        tracker = Tracker("patron", dict(self.slots), latest, list(self.events), False, None, {}, "action_listen")
        dispatcher = CollectingDispatcher()
        events = await action.run(dispatcher, tracker, {})
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        for message in dispatcher.messages:
            self.events.append({"event": "bot", "text": message.get("text"), "data": {"buttons": message.get("buttons")}})
        return Turn(dispatcher.messages, events, dict(self.slots))
