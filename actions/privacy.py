"""A patron's own "hapus data saya": ask for confirmation, then let the gateway delete.

The request is a priority rule (:func:`actions.rules.route`); the confirmation is a button (or a
typed "ya") while the context waits for it (``awaiting`` = "erase_confirm"), so a payload typed
without the question deletes nothing. The deletion itself is the gateway's (``bot/privacy.py``),
told by a signal.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import button, intent_payload
from actions.i18n import language
from actions.outcome import signal
from knowledge.text import fold

TEXTS: dict[str, tuple[str, str]] = {
    "confirm": (
        "Kakak ingin menghapus semua data Kakak di layanan chat ini (riwayat percakapan, penilaian, "
        "dan langganan)? Data yang sudah dihapus tidak bisa dikembalikan.",
        "Do you want to delete all your data in this chat service (conversation history, ratings and "
        "subscriptions)? Deleted data cannot be restored.",
    ),
    "yes": ("Ya, hapus data saya", "Yes, delete my data"),
    "no": ("Tidak jadi", "Cancel"),
    "done": (
        "Data Kakak sudah kami hapus, Kak. Kalau Kakak menulis lagi, percakapan baru akan dimulai.",
        "Your data has been deleted. If you write again, a new conversation starts.",
    ),
    "kept": ("Baik, Kak, data Kakak tidak dihapus.", "All right, your data stays as it is."),
}

_DELETE = re.compile(r"\b(hapus|hapuskan|menghapus|dihapus|delete|erase|remove)\b")
_DATA = re.compile(r"\b(data|datanya|dataku|riwayat|percakapan|chat|history|conversation)\b")
_MINE = re.compile(r"\b(saya|aku|ku|dataku|gue|gw|my|me|mine)\b")
_YES = frozenset({"ya", "iya", "yes", "y", "ya hapus", "iya hapus", "hapus", "yes delete", "ok", "oke", "setuju"})


def text(key: str, lang: str) -> str:
    """Privacy text ``key`` in ``lang``."""
    id_text, en_text = TEXTS[key]
    return en_text if lang == "en" else id_text


def is_erase_request(message: str) -> bool:
    """Whether the patron asks to delete their own data ("hapus data saya", "delete my data")."""
    text = fold(message)
    delete, data = _DELETE.search(text), _DATA.search(text)
    if delete is None or data is None or data.start() < delete.start():
        return False
    return bool(_MINE.search(text)) or len(text.split()) <= 3  # "hapus data", "hapus datanya"


def is_yes(message: str) -> bool:
    """A typed confirmation ("ya", "iya hapus")."""
    return " ".join(fold(message).split()) in _YES


class ActionEraseRequest(Action):
    """Ask whether the patron really wants their data deleted."""

    def name(self) -> str:
        return "action_erase_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        lang = language(tracker)
        dispatcher.utter_message(
            text=text("confirm", lang),
            buttons=[button(text("yes", lang), intent_payload("erase_data", confirm="yes")),
                     button(text("no", lang), intent_payload("erase_data", confirm="no"))],
        )
        return [SlotSet("awaiting", "erase_confirm"), SlotSet("awaiting_ref", None)]


class ActionErase(Action):
    """The answer to the confirmation: delete (a signal to the gateway) or keep."""

    def name(self) -> str:
        return "action_erase"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        lang = language(tracker)
        message = tracker.latest_message.get("text") or ""
        confirmed = next(tracker.get_latest_entity_values("confirm"), None) == "yes" or is_yes(message)
        if tracker.get_slot("awaiting") == "erase_confirm" and confirmed:
            signal(dispatcher, erase=True)
            dispatcher.utter_message(text=text("done", lang))
        else:
            dispatcher.utter_message(text=text("kept", lang))
        return [SlotSet("awaiting", ""), SlotSet("awaiting_ref", None)]


__all__ = ["ActionErase", "ActionEraseRequest", "is_erase_request", "is_yes", "text"]
