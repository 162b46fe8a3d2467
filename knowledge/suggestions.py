"""Patrons' purchase suggestions for books the library does not have."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from knowledge.models import PurchaseSuggestion


def add_suggestion(sessions: sessionmaker[Session], title: str, patron: str | None = None) -> int:
    """Store a suggestion; returns its id."""
    with sessions.begin() as session:
        suggestion = PurchaseSuggestion(title=title[:500], patron=patron)
        session.add(suggestion)
        session.flush()
        return suggestion.id
