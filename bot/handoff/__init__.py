"""Live-agent handoff, one module per job.

- :mod:`~bot.handoff.triggers`: when a patron message asks for a person (or complains), cancel words
- :mod:`~bot.handoff.texts`: what the patron is told, in Indonesian and English
- :mod:`~bot.handoff.schedule`: staffed hours and holidays from ``schedule.yml``
- :mod:`~bot.handoff.service`: the state machine (start, patron message, claim, reply, note, resolve)
- :mod:`~bot.handoff.queries`: what the console reads (queue, transcript view, positions)
- :mod:`~bot.handoff.polling`: the web chat's polling for librarian messages
- :mod:`~bot.handoff.base`: the shared error, outbox and notifier contracts

The tables are in :mod:`bot.handoff_models` (with the staff tables ``bot.staff`` needs).
This package re-exports what the router uses.
"""

from bot.handoff.service import HandoffService
from bot.handoff.texts import text
from bot.handoff.triggers import detect_trigger, guess_language

__all__ = ["HandoffService", "detect_trigger", "guess_language", "text"]
