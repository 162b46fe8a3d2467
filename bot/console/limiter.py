"""Console login limits: an attempt is reserved *before* the password hash is checked.

Design (issue 15, item 4):

* **Reserve first.** :meth:`LoginLimiter.reserve` checks and counts the attempt in one
  synchronous step on the event loop, before the (slow, threaded) password hash. Thirty
  parallel guesses therefore cannot all pass the check while the first ones are still being
  hashed: beyond the limit they get 429 without being evaluated, the right password included.
* **Per address: ``limit`` failed attempts per window.** A successful login takes back only its
  own reservation (so librarians sharing one address do not lock each other out by logging in);
  it never clears the failures already counted, so one valid account cannot be used to reset
  the counter between guesses at others (password spraying).
* **Per username: ``limit * USER_FACTOR`` failed attempts per window, from all addresses
  together.** Five wrong passwords from one address cannot lock the account for its librarian
  logging in from elsewhere (that address is stopped long before), while guessing one account
  from many addresses is still capped. Locking an account then needs ``USER_FACTOR`` addresses
  each exhausting its own limit.

With ``PUSTAKABOT_REDIS_URL`` set, both windows live in Redis (:mod:`bot.replicas.limits`), so
the limits hold across every gateway replica and a reservation is one atomic script there.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from bot.replicas.limits import LoginWindows

USER_FACTOR = 10
WINDOW = 900.0


@dataclass
class Reservation:
    """One reserved login attempt; await :meth:`succeeded` when the password was right."""

    limiter: LoginLimiter
    address_key: str
    user_key: str
    id: str

    async def succeeded(self) -> None:
        """Give the slot back: a successful login is not a failed attempt."""
        await self.limiter.windows.undo(self.id, self.address_key, self.user_key)


class LoginLimiter:
    """Failed-login limits per address (``limit``) and per username (``limit * USER_FACTOR``)."""

    def __init__(self, limit: int, window: float = WINDOW, *, redis: Redis | None = None, prefix: str = "") -> None:
        self.limit = limit
        self.windows = LoginWindows(redis, f"{prefix}login:", limit, limit * USER_FACTOR, window)

    async def reserve(self, address: str, username: str) -> Reservation | float:
        """Reserve an attempt; returns the reservation, or the seconds to wait (nothing counted)."""
        address_key, user_key = f"ip:{address}", f"user:{username}"
        got = await self.windows.reserve(address_key, user_key)
        if isinstance(got, float):
            return got
        return Reservation(self, address_key, user_key, got)
