"""What an action tells the engine besides its reply: the kind of turn, the title searched.

An action calls :func:`signal` with facts the gateway stores for the librarians' analytics or
acts on (a patron's feedback, a confirmed "hapus data saya"). Like the handoff request, a signal
travels as a ``json_message`` of rasa-sdk's dispatcher and never reaches the patron.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

SIGNAL_KEY = "pustakabot_signal"


def signal(dispatcher: CollectingDispatcher, **values: Any) -> None:
    """Tell the engine ``values`` (e.g. ``kind="asked_back"``, ``searched="bumi", found=False``)."""
    dispatcher.utter_message(json_message={SIGNAL_KEY: values})


__all__ = ["SIGNAL_KEY", "signal"]
