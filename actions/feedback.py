"""Patrons' feedback: 👍 / 👎 on an answer, a 1–5 rating after a librarian's help, a comment.

The buttons come back as payloads (``/feedback{"turn":"12","vote":"down"}``,
``/rate{"handoff":"3","score":"4"}``); a 👎 or a rating asks for an optional comment, kept
pending in the conversation's context (``awaiting``) until the patron writes it or skips. What
the patron said reaches the gateway as a signal (:mod:`actions.outcome`), which stores it.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import button, intent_payload
from actions.i18n import language
from actions.outcome import signal

TEXTS: dict[str, tuple[str, str]] = {
    "up": ("Terima kasih, Kak! Senang bisa membantu. 🙏", "Thank you! Glad I could help. 🙏"),
    "down": (
        "Terima kasih sudah memberi tahu, Kak. Boleh ceritakan apa yang kurang tepat? Tulis saja di "
        "sini, atau pilih \u201cLewati\u201d.",
        "Thanks for telling us. What was wrong or missing? Just write it here, or choose \u201cSkip\u201d.",
    ),
    "rated": (
        "Terima kasih atas penilaiannya, Kak! Ada saran untuk pustakawan kami? Tulis saja di sini, "
        "atau pilih \u201cLewati\u201d.",
        "Thank you for the rating! Any suggestion for our librarians? Just write it here, or choose "
        "\u201cSkip\u201d.",
    ),
    "comment": (
        "Terima kasih atas masukannya, Kak! Sudah kami catat untuk pustakawan.",
        "Thank you for your feedback! We've passed it on to the librarians.",
    ),
    "skip": ("Baik, Kak. Ada lagi yang bisa saya bantu?", "All right. Anything else I can help with?"),
    "skip.button": ("Lewati", "Skip"),
    "bad": ("Maaf Kak, tombol itu sudah tidak berlaku.", "Sorry, that button is no longer valid."),
    "rate.prompt": (
        "Bagaimana pelayanan pustakawan tadi, Kak? Beri nilai 1 (kurang) sampai 5 (sangat baik).",
        "How was the librarian's help? Rate it from 1 (poor) to 5 (excellent).",
    ),
}

UP, DOWN = "👍", "👎"


def text(key: str, lang: str) -> str:
    """Feedback text ``key`` in ``lang``."""
    id_text, en_text = TEXTS[key]
    return en_text if lang == "en" else id_text


def vote_buttons(turn_id: int) -> list[tuple[str, str]]:
    """(title, payload) of the 👍 / 👎 buttons after the answer of turn ``turn_id``."""
    return [(UP, intent_payload("feedback", turn=str(turn_id), vote="up")),
            (DOWN, intent_payload("feedback", turn=str(turn_id), vote="down"))]


def rating_buttons(handoff_id: int) -> list[tuple[str, str]]:
    """(title, payload) of the 1–5 rating buttons after a librarian resolved handoff ``handoff_id``."""
    return [(f"{score} ⭐", intent_payload("rate", handoff=str(handoff_id), score=str(score)))
            for score in range(1, 6)]


def _entity(tracker: Tracker, name: str) -> str:
    value = next(tracker.get_latest_entity_values(name), None)
    return str(value).strip() if value is not None else ""


def _skip(lang: str) -> list[dict[str, str]]:
    return [button(text("skip.button", lang), intent_payload("feedback_skip"))]


class ActionFeedback(Action):
    """A 👍 / 👎 tap on an answer."""

    def name(self) -> str:
        return "action_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        lang = language(tracker)
        turn, vote = _entity(tracker, "turn"), _entity(tracker, "vote")
        if not turn.isdigit() or vote not in ("up", "down"):
            dispatcher.utter_message(text=text("bad", lang))
            return []
        signal(dispatcher, feedback="answer", ref=int(turn), value=1 if vote == "up" else -1)
        if vote == "up":
            dispatcher.utter_message(text=text("up", lang))
            return [SlotSet("awaiting", ""), SlotSet("awaiting_ref", None)]
        dispatcher.utter_message(text=text("down", lang), buttons=_skip(lang))
        return [SlotSet("awaiting", "answer_comment"), SlotSet("awaiting_ref", turn)]


class ActionRate(Action):
    """A 1–5 rating tap after a librarian resolved the conversation."""

    def name(self) -> str:
        return "action_rate"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        lang = language(tracker)
        handoff, score = _entity(tracker, "handoff"), _entity(tracker, "score")
        if not handoff.isdigit() or score not in ("1", "2", "3", "4", "5"):
            dispatcher.utter_message(text=text("bad", lang))
            return []
        signal(dispatcher, feedback="rating", ref=int(handoff), value=int(score))
        dispatcher.utter_message(text=text("rated", lang), buttons=_skip(lang))
        return [SlotSet("awaiting", "rating_comment"), SlotSet("awaiting_ref", handoff)]


class ActionFeedbackComment(Action):
    """The patron's comment after a 👎 or a rating (or "Lewati")."""

    def name(self) -> str:
        return "action_feedback_comment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        lang = language(tracker)
        awaiting = tracker.get_slot("awaiting") or ""
        ref = str(tracker.get_slot("awaiting_ref") or "")
        message = (tracker.latest_message.get("text") or "").strip()
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == "feedback_skip" or not ref.isdigit() or not message:
            dispatcher.utter_message(text=text("skip", lang))
        else:
            target = "rating" if awaiting == "rating_comment" else "answer"
            signal(dispatcher, comment=message[:2000], feedback=target, ref=int(ref))
            dispatcher.utter_message(text=text("comment", lang))
        return [SlotSet("awaiting", ""), SlotSet("awaiting_ref", None)]


__all__ = ["ActionFeedback", "ActionFeedbackComment", "ActionRate", "rating_buttons", "text", "vote_buttons"]
