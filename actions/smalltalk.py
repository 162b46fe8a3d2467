"""Greetings, thanks, goodbyes, "are you a bot?", yes and no: one short reply each."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.i18n import language, t


class ActionSmallTalk(Action):
    """Answers one kind of small talk (``greet``, ``thanks``, ...) in the patron's language."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def name(self) -> str:
        return f"utter_{self.kind}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=t(f"smalltalk.{self.kind}", language(tracker)))
        return [SlotSet("failed_turns", 0.0)]
