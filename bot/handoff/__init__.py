"""Live-agent handoff, one module per job.

- :mod:`~bot.handoff.texts`: what the patron is told, in Indonesian and English
- :mod:`~bot.handoff.schedule`: staffed hours and holidays from ``schedule.yml``
- :mod:`~bot.handoff.service`: the state machine (start, patron message, claim, reply, note, resolve)
- :mod:`~bot.handoff.queries`: what the console reads (queue, transcript view, positions)
- :mod:`~bot.handoff.polling`: the web chat's polling for librarian messages
- :mod:`~bot.handoff.base`: the shared error, outbox and notifier contracts

When a message asks for a person, complains or cancels is a priority rule of the answer engine
(:mod:`actions.rules`), read in one place with the others. The tables are in
:mod:`bot.handoff_models` (with the staff tables ``bot.staff`` needs).
"""

from bot.handoff.service import HandoffService
from bot.handoff.texts import text

__all__ = ["HandoffService", "text"]
