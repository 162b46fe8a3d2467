"""Staff accounts and console sessions: argon2id password hashes, roles, server-side sessions.

Accounts are managed from the command line (``pustakabot staff add/disable/reset-password``);
the console only logs people in. A session cookie holds a random token; the database keeps only
its SHA-256, so a leaked database does not leak live sessions.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handoff_models import ROLES, AuditEntry, Staff, StaffSession

log = logging.getLogger(__name__)

MIN_PASSWORD = 10
_USERNAME = re.compile(r"^[a-z0-9_.-]{2,64}$")


class StaffError(Exception):
    """An account operation that cannot be done; ``message`` is Indonesian, for the staff member."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class StaffUser:
    """The logged-in staff member of a console request."""

    id: int
    username: str
    display_name: str
    role: str
    csrf_token: str

    @property
    def is_admin(self) -> bool:
        """Whether this member may see the audit log and take conversations from others."""
        return self.role == "admin"


def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id with the library's current recommended parameters


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (after checking its length)."""
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"Kata sandi minimal {MIN_PASSWORD} karakter.")
    return _hasher().hash(password)


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (never raises for a bad hash)."""
    try:
        return _hasher().verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def audit(
    session: AsyncSession,
    action: str,
    *,
    staff_id: int | None = None,
    conversation_id: int | None = None,
    message_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit log entry in ``session``'s transaction."""
    session.add(
        AuditEntry(
            staff_id=staff_id,
            action=action,
            conversation_id=conversation_id,
            message_id=message_id,
            detail=detail,
        )
    )


async def find(session: AsyncSession, username: str) -> Staff | None:
    """The account called ``username`` (case-insensitive), if any."""
    return await session.scalar(select(Staff).where(Staff.username == username.strip().lower()))


async def add_staff(
    session: AsyncSession, username: str, display_name: str, password: str, *, role: str = "agent"
) -> Staff:
    """Create an account.

    Raises:
        StaffError: bad username, role or password, or the username is taken.
    """
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise StaffError("Nama pengguna 2–64 karakter: huruf kecil, angka, titik, garis bawah, atau strip.")
    if role not in ROLES:
        raise StaffError(f"Peran harus salah satu dari: {', '.join(ROLES)}.")
    if await find(session, username) is not None:
        raise StaffError(f"Nama pengguna {username!r} sudah dipakai.")
    staff = Staff(
        username=username,
        display_name=display_name.strip() or username,
        password_hash=await asyncio.to_thread(hash_password, password),
        role=role,
        active=True,
    )
    session.add(staff)
    await session.flush()
    await audit(session, "staff_add", staff_id=None, detail={"username": username, "role": role})
    return staff


async def _existing(session: AsyncSession, username: str) -> Staff:
    staff = await find(session, username)
    if staff is None:
        raise StaffError(f"Akun {username!r} tidak ditemukan.")
    return staff


async def set_active(session: AsyncSession, username: str, active: bool) -> Staff:
    """Enable or disable an account; disabling ends its sessions at once."""
    staff = await _existing(session, username)
    staff.active = active
    if not active:
        await session.execute(delete(StaffSession).where(StaffSession.staff_id == staff.id))
    await audit(session, "staff_enable" if active else "staff_disable", detail={"username": staff.username})
    return staff


async def reset_password(session: AsyncSession, username: str, password: str) -> Staff:
    """Set a new password and end every session of the account."""
    staff = await _existing(session, username)
    staff.password_hash = await asyncio.to_thread(hash_password, password)
    staff.password_changed_at = datetime.now(UTC)
    await session.execute(delete(StaffSession).where(StaffSession.staff_id == staff.id))
    await audit(session, "staff_reset_password", detail={"username": staff.username})
    return staff


async def list_staff(session: AsyncSession) -> list[Staff]:
    """Every account, by username."""
    return list(await session.scalars(select(Staff).order_by(Staff.username)))


_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$Rr3c2AFkMS4C2bkKhiwvhA$cA4DYWD2iMn4ZihbgYQsJB+TMTelozbYVXewQXa93VY"


async def authenticate(session: AsyncSession, username: str, password: str) -> Staff | None:
    """The active account matching ``username`` and ``password``, else None.

    An unknown user costs one hash verification too, so timing does not reveal usernames.
    """
    staff = await find(session, username)
    stored = staff.password_hash if staff is not None else _DUMMY_HASH
    ok = await asyncio.to_thread(verify_password, stored, password)
    if staff is None or not ok or not staff.active:
        return None
    return staff


async def open_session(session: AsyncSession, staff: Staff, *, ttl: timedelta) -> str:
    """Create a console session for ``staff``; returns the cookie token."""
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            token_hash=_token_hash(token),
            staff_id=staff.id,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=datetime.now(UTC) + ttl,
        )
    )
    await session.flush()
    return token


async def user_for_token(session: AsyncSession, token: str) -> StaffUser | None:
    """The staff member of a live session token (None if unknown, expired or disabled)."""
    row = (
        await session.execute(
            select(StaffSession, Staff)
            .join(Staff, Staff.id == StaffSession.staff_id)
            .where(StaffSession.token_hash == _token_hash(token))
        )
    ).first()
    if row is None:
        return None
    sess, staff = row
    expires = sess.expires_at if sess.expires_at.tzinfo else sess.expires_at.replace(tzinfo=UTC)
    if expires < datetime.now(UTC) or not staff.active:
        return None
    return StaffUser(
        id=staff.id,
        username=staff.username,
        display_name=staff.display_name,
        role=staff.role,
        csrf_token=sess.csrf_token,
    )


async def close_session(session: AsyncSession, token: str) -> None:
    """End the session of ``token`` (log out)."""
    await session.execute(delete(StaffSession).where(StaffSession.token_hash == _token_hash(token)))
