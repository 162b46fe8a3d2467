"""Hands the conversation to a librarian (the gateway reads the custom payload)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.i18n import language, t

HANDOFF_KEY = "handoff"


class ActionHandoff(Action):
    """Tells the patron a librarian is coming and signals the gateway to queue the conversation."""

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = language(tracker)
        reason = "patron_request"
        if int(tracker.get_slot("failed_turns") or 0) >= 2:
            reason = "not_understood"
        dispatcher.utter_message(text=t("handoff.start", lang))
        dispatcher.utter_message(json_message={HANDOFF_KEY: {"reason": reason, "language": lang}})
        return [SlotSet("topic", "handoff"), SlotSet("failed_turns", 0.0)]
