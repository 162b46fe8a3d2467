"""Alembic environment of the gateway tables (own version table, so both histories coexist)."""

from __future__ import annotations

import bot.channel_models  # noqa: F401  (register the channel tables)
import bot.handoff_models  # noqa: F401  (register the handoff tables)
import bot.feedback_models  # noqa: F401  (register the turn and feedback tables)
import bot.subscription_models  # noqa: F401  (register the subscription tables)
from bot.models import Base
from knowledge.db import run_migrations

run_migrations(Base.metadata, version_table="alembic_version_bot")
