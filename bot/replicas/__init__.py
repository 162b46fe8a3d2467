"""State that must be shared when several gateway replicas run side by side.

Each piece sits behind a small interface with two implementations: one in-process (the SQLite
single-machine default, unchanged behaviour) and one shared (PostgreSQL and/or Redis):

| what | module | in-process | shared |
| --- | --- | --- | --- |
| one replica handles a conversation at a time (inbox, outbox, web chat) | :mod:`.locks` | asyncio locks | PostgreSQL advisory locks |
| rate limits (web chat, console logins) | :mod:`.limits` | :class:`bot.ratelimit.SlidingWindow` | Redis sorted sets (Lua) |
| console live updates | :mod:`.relay` | the process's own sockets | Redis pub/sub |
| one catalog sync / scheduler at a time | :mod:`.leader` | always the leader | Redis lease with expiry, or a PostgreSQL advisory lock |

:func:`bot.replicas.wiring.shared_state` builds the right ones for the settings.
"""
