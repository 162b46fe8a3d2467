"""Migration b0009 (the outbox's "sending" mark) goes up and down on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect

from bot.cli import upgrade_database
from bot.settings import Settings
from knowledge.db import alembic_config

MIGRATIONS = Path(__file__).resolve().parents[2] / "bot" / "migrations"


def _outbox_columns(url: str) -> set[str]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    try:
        return {c["name"] for c in inspect(engine).get_columns("outbox")}
    finally:
        engine.dispose()


def _up_down_up(url: str) -> None:
    settings = Settings(database_url=url)
    upgrade_database(settings)
    assert {"sending_at", "platform_ids"} <= _outbox_columns(url)
    command.downgrade(alembic_config(url, MIGRATIONS), "b0009-1")
    columns = _outbox_columns(url)
    assert "sending_at" not in columns and "platform_ids" not in columns and "parts_sent" in columns
    upgrade_database(settings)
    assert {"sending_at", "platform_ids"} <= _outbox_columns(url)


def test_b0009_goes_up_and_down_on_sqlite(tmp_path: Path) -> None:
    _up_down_up(f"sqlite:///{tmp_path / 'outbox.db'}")


@pytest.mark.postgres
def test_b0009_goes_up_and_down_on_postgresql(pg_url: str) -> None:
    _up_down_up(pg_url)
