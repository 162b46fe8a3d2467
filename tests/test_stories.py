"""Dialogue stories (tests/data/stories/*.yml) through the real NLU and the answer engine.

Each story is a conversation: a ``user`` step is parsed by the stack's real Rasa NLU server
(its ``intent`` and marked ``[entities](name)`` must be what the NLU reads), then decided by the
answer engine with the conversation's context carried over; the ``action`` step after it names
what the engine must choose; optional ``says`` / ``not_says`` check the reply's text, ``slots``
the conversation's context after it and ``handoff`` the reason a librarian was called
(``intent: "*"`` skips the NLU check: the engine must decide right whatever it reads). A step
with ``intent`` but no ``user`` gives the NLU's reading directly (``text``, ``entities`` as a
mapping, ``confidence``), and ``tap`` is a button the patron taps (its payload).

The stories run against the engine in this process on a throw-away copy of the demo knowledge
base; stories with a ``user`` step ask the stack's real NLU (one trained model shared with the
other e2e tests), the others need no NLU at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import yaml

from actions.catalog import complete_title
from actions.context import ConversationContext
from actions.engine import AnswerEngine, Decision
from actions.understanding import Entity, Parse
from bot.nlu import NluClient
from bot.settings import ROOT, Settings
from knowledge.db import upgrade
from knowledge.kb import KnowledgeBase
from tests.conftest import Stack, load_demo_data

STORIES = ROOT / "tests" / "data" / "stories"
_MARK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")


@dataclass
class Turn:
    """One patron message of a story and what must follow it."""

    text: str
    intent: str
    entities: list[list[str]]
    given: dict[str, Any] | None = None  # the NLU's reading, when the story gives it
    action: str = ""
    says: list[str] = field(default_factory=list)
    not_says: list[str] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)
    handoff: str | None = None


@dataclass
class Story:
    name: str
    turns: list[Turn]

    @property
    def needs_nlu(self) -> bool:
        return any(t.given is None for t in self.turns)


def load_stories() -> list[Story]:
    stories = []
    for path in sorted(STORIES.glob("*.yml")):
        for raw in yaml.safe_load(path.read_text(encoding="utf-8"))["stories"]:
            turns: list[Turn] = []
            for step in raw["steps"]:
                if "action" in step:
                    turns[-1].action = step["action"]
                    turns[-1].says = list(step.get("says") or [])
                    turns[-1].not_says = list(step.get("not_says") or [])
                    turns[-1].slots = dict(step.get("slots") or {})
                    turns[-1].handoff = step.get("handoff")
                elif "tap" in step:
                    turns.append(Turn(str(step["tap"]), "", [], given={"tap": str(step["tap"])}))
                elif "user" in step:
                    marked = step["user"].strip()
                    entities = sorted([e, v.lower()] for v, e in _MARK.findall(marked))
                    turns.append(Turn(_MARK.sub(r"\1", marked), step["intent"], entities))
                else:
                    turns.append(Turn(str(step.get("text") or ""), step["intent"], [], given=step))
            stories.append(Story(raw["story"], turns))
    return stories


def test_there_are_at_least_ten_multi_turn_stories() -> None:
    assert len([s for s in load_stories() if len(s.turns) >= 2]) >= 10


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnswerEngine]:
    """The engine on the demo knowledge base and the shipped FAQ, with the configured embedder."""
    url = f"sqlite:///{tmp_path_factory.mktemp('stories') / 'kb.db'}"
    upgrade(url)
    load_demo_data(url)
    kb = KnowledgeBase(url, ROOT / "knowledge" / "faq", embedding_model=Settings().embedding_model)
    yield AnswerEngine(kb, ZoneInfo("Asia/Jakarta"))
    kb.close()


def _reading(turn: Turn) -> Parse:
    given = turn.given or {}
    entities = given.get("entities") or []
    if "tap" in given or isinstance(entities, list) and entities:
        # a tapped button: the payload names the intent and entities
        if "tap" in given:
            payload = given["tap"]
        else:
            values = {k: v for e in entities for k, v in e.items()}
            payload = f"/{turn.intent}{json.dumps(values, separators=(',', ':'))}"
        parsed = Parse.from_payload(payload)
        assert parsed is not None
        return parsed
    confidence = float(given.get("confidence", 0.9 if turn.text else 0.2))
    found = tuple(Entity(str(k), str(v), "DIETClassifier") for k, v in (entities or {}).items())
    return Parse(text=turn.text, intent=turn.intent, confidence=confidence,
                 ranking=((turn.intent, confidence),), entities=found)


def _entities_read(parse: Parse, text: str) -> list[list[str]]:
    found = [[e.entity, e.value.lower()] for e in parse.entities if e.entity != "language"]
    if not any(name in ("author", "subject") for name, _ in found):
        # what the catalog action searches for: a title tagged in part is completed from the text
        found = [[n, complete_title(v, text).lower() if n == "title" else v] for n, v in found]
    return sorted(found)


def _cases() -> list[Any]:
    return [
        pytest.param(s, id=s.name, marks=[pytest.mark.e2e] if s.needs_nlu else [])
        for s in load_stories()
    ]


@pytest.mark.parametrize("story", _cases())
async def test_story(story: Story, engine: AnswerEngine, request: pytest.FixtureRequest) -> None:
    nlu: NluClient | None = None
    session: aiohttp.ClientSession | None = None
    if story.needs_nlu:
        stack: Stack = request.getfixturevalue("stack")
        session = aiohttp.ClientSession()
        nlu = NluClient(session, stack.rasa_url, token=stack.rasa_token, timeout=30)
    try:
        await _play(story, engine, nlu)
    finally:
        if session is not None:
            await session.close()


async def _play(story: Story, engine: AnswerEngine, nlu: NluClient | None) -> None:
    context = ConversationContext(language=story.turns[0].given.get("language", "id") if story.turns[0].given else "id")
    for turn in story.turns:
        if turn.given is None:
            assert nlu is not None
            parse = await nlu.parse(turn.text)
            if turn.intent != "*":  # "*": whatever the NLU reads, the engine must decide right
                assert (parse.intent, _entities_read(parse, turn.text)) == (turn.intent, turn.entities), turn.text
        else:
            parse = _reading(turn)
        decision: Decision = await engine.decide(parse.text, parse, context, sender_id=f"story-{story.name}")
        context = decision.context
        said = "\n".join(m.text for m in decision.messages)
        assert decision.explanation["action"] == turn.action, (turn.text, decision.explanation, said)
        for expected in turn.says:
            assert expected.lower() in said.lower(), (turn.text, said)
        for unexpected in turn.not_says:
            assert unexpected.lower() not in said.lower(), (turn.text, said)
        slots = context.slots()
        for name, value in turn.slots.items():
            got = slots.get(name)
            same = got.lower() == value.lower() if isinstance(got, str) and isinstance(value, str) else got == value
            assert same, (turn.text, name, got, value)
        if turn.handoff is not None:
            assert decision.handoff is not None and decision.handoff.reason == turn.handoff, (turn.text, decision.handoff)
        assert decision.messages or decision.handoff is not None, turn.text
