"""The database: `db upgrade` and `demo load`."""

from __future__ import annotations


import click

from bot.cli import load_settings, main, upgrade_database


@main.group()
def db() -> None:
    """Database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the tables (SQLite or PostgreSQL)."""
    settings = load_settings()
    upgrade_database(settings)
    click.echo("Database up to date.")


@main.group()
def demo() -> None:
    """Demo knowledge base of Perpustakaan Kota Prabumulih."""


@demo.command("load")
def demo_load() -> None:
    """Import the demo catalog, e-books and events (idempotent)."""
    from knowledge.db import make_engine, make_sessionmaker
    from knowledge.demo import load_demo

    settings = load_settings()
    upgrade_database(settings)
    sessions = make_sessionmaker(make_engine(settings.effective_database_url))
    for report in load_demo(sessions, tz=settings.timezone):
        click.echo(report.summary())
