"""Engines, sessions and migrations for any SQLAlchemy URL (SQLite by default, PostgreSQL too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "mysql": "mysql+aiomysql",
}
_SYNC_DRIVERS = {"postgresql": "postgresql+psycopg2", "mysql": "mysql+pymysql"}


def _prepare_sqlite_file(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def sync_url(url: str) -> str:
    """Return ``url`` with a synchronous driver (psycopg2, pymysql, pysqlite)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in _SYNC_DRIVERS and "+" not in parsed.drivername:
        parsed = parsed.set(drivername=_SYNC_DRIVERS[backend])
    elif "+" in parsed.drivername and backend == "sqlite":
        parsed = parsed.set(drivername="sqlite")
    elif backend == "postgresql" and parsed.drivername == "postgresql+asyncpg":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed.render_as_string(hide_password=False)


def async_url(url: str) -> str:
    """Return ``url`` with an asyncio driver (aiosqlite, asyncpg, aiomysql)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in _ASYNC_DRIVERS:
        parsed = parsed.set(drivername=_ASYNC_DRIVERS[backend])
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create a synchronous engine; SQLite gets WAL, foreign keys and a busy timeout."""
    url = sync_url(url)
    _prepare_sqlite_file(url)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def make_async_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create an asyncio engine for the same database as :func:`make_engine`."""
    url = async_url(url)
    _prepare_sqlite_file(url)
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Session factory whose objects stay usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str, script_location: Path = MIGRATIONS) -> Config:
    """Alembic configuration of the migrations in ``script_location`` for ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, *, script_location: Path = MIGRATIONS, revision: str = "heads") -> None:
    """Apply the migrations in ``script_location`` (default: the knowledge tables) to ``url``."""
    _prepare_sqlite_file(sync_url(url))
    command.upgrade(alembic_config(url, script_location), revision)


def run_migrations(metadata: Any, *, version_table: str = "alembic_version") -> None:
    """Body of an Alembic ``env.py``: migrate ``metadata`` online or offline."""
    from alembic import context
    from sqlalchemy import engine_from_config, pool

    config = context.config
    def own_tables_only(name: str | None, type_: str, _parents: Any) -> bool:
        # Two histories share one database: each ignores the other's tables.
        return type_ != "table" or name in metadata.tables

    options = {
        "target_metadata": metadata,
        "render_as_batch": True,
        "version_table": version_table,
        "include_name": own_tables_only,
    }
    if context.is_offline_mode():
        context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with connectable.connect() as connection:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()


def pending_migrations(url: str, *, script_location: Path = MIGRATIONS, version_table: str = "alembic_version") -> bool:
    """True when the database at ``url`` lacks a migration head of ``script_location``."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config(url, script_location)).get_heads())
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn, opts={"version_table": version_table}).get_current_heads())
    finally:
        engine.dispose()
    return current != heads
