"""Alembic environment of the knowledge tables."""

from __future__ import annotations

from knowledge.db import run_migrations
from knowledge.models import Base

run_migrations(Base.metadata)
