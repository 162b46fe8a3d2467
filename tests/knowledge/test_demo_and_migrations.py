"""Demo knowledge base and migrations, on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, inspect, select

from bot.cli import upgrade_database
from bot.settings import Settings
from knowledge.db import make_engine, make_sessionmaker
from knowledge.demo import catalog_is_empty, load_demo
from knowledge.models import Copy, CopyStatus, EBook, Event, Record


def _load_and_check(url: str) -> None:
    upgrade_database(Settings(database_url=url))
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        assert catalog_is_empty(sessions)
        first = load_demo(sessions)
        assert [r.skipped for r in first] == [[], [], []]
        with sessions() as session:
            records = session.scalar(select(func.count(Record.id)))
            copies = session.scalar(select(func.count(Copy.id)))
            ebooks = session.scalar(select(func.count(EBook.id)))
            soon = datetime.now(timezone.utc) + timedelta(days=60)
            upcoming = session.scalar(
                select(func.count(Event.id)).where(Event.starts_at >= datetime.now(timezone.utc), Event.starts_at < soon)
            )
            on_loan = session.scalar(select(func.count(Copy.id)).where(Copy.status == CopyStatus.ON_LOAN))
        assert records >= 100 and copies > records and ebooks >= 5 and upcoming >= 8 and on_loan > 0
        # A second import of the same data changes nothing.
        second = load_demo(sessions)
        assert all(r.added == 0 and r.updated == 0 and r.deleted == 0 for r in second), [r.summary() for r in second]
        assert second[0].unchanged == records
    finally:
        engine.dispose()


def test_demo_loads_idempotently_on_sqlite(tmp_path: Path) -> None:
    _load_and_check(f"sqlite:///{tmp_path / 'kb.db'}")


@pytest.mark.postgres
def test_demo_loads_idempotently_on_postgresql(pg_url: str) -> None:
    _load_and_check(pg_url)


def test_both_migration_histories_coexist(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'both.db'}"
    settings = Settings(database_url=url)
    upgrade_database(settings)
    upgrade_database(settings)  # idempotent
    engine = create_engine(url)
    tables = set(inspect(engine).get_table_names())
    assert {"records", "copies", "faq_entries", "conversations", "messages"} <= tables
    assert {"alembic_version", "alembic_version_bot"} <= tables
    engine.dispose()


def test_models_and_migrations_agree(tmp_path: Path) -> None:
    from alembic import command

    from knowledge.db import alembic_config

    url = f"sqlite:///{tmp_path / 'check.db'}"
    upgrade_database(Settings(database_url=url))
    root = Path(__file__).resolve().parents[2]
    for location in (root / "knowledge" / "migrations", root / "bot" / "migrations"):
        command.check(alembic_config(url, location))  # raises if a model has no migration
