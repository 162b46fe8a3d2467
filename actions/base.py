"""Shared base of the actions that read the knowledge base."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action
from rasa_sdk.events import SlotSet

from knowledge.kb import KnowledgeBase


@dataclass(frozen=True)
class ActionContext:
    """What every action may use: the knowledge base and the library's time zone."""

    kb: KnowledgeBase
    zone: ZoneInfo


class KnowledgeAction(Action):
    """An action built with its dependencies (registered as an instance, not discovered)."""

    def __init__(self, ctx: ActionContext) -> None:
        self.ctx = ctx

    @staticmethod
    def understood(topic: str) -> list[dict[str, Any]]:
        """Events marking a turn the bot understood (resets the failure counter)."""
        return [SlotSet("topic", topic), SlotSet("failed_turns", 0.0)]


def button(title: str, payload: str) -> dict[str, str]:
    """A Rasa button."""
    return {"title": title, "payload": payload}


def intent_payload(intent: str, **entities: Any) -> str:
    """``/intent{"entity": "value"}`` as Rasa parses it, for button payloads."""
    import json

    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"
