"""The ``pustakabot`` command: a thin layer that builds objects and calls plain functions.

One module per job registers its commands on :func:`main`: ``serve`` (run, nlu, gateway),
``train`` (train, faq), ``data`` (db, demo), ``catalog`` (catalog, events), ``channels``
(telegram) and ``staff``.
"""

from __future__ import annotations

import click

from bot.settings import ROOT, Settings

BOT_MIGRATIONS = ROOT / "bot" / "migrations"


def load_settings() -> Settings:
    return Settings()


def configure_logging(settings: Settings) -> None:
    from bot.logs import configure

    configure(settings)


def upgrade_database(settings: Settings) -> None:
    """Apply both migration histories (knowledge tables and gateway tables)."""
    from knowledge.db import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)
    upgrade(settings.effective_database_url, script_location=BOT_MIGRATIONS)


def require_migrated(settings: Settings) -> None:
    """Stop with a clear message when the database is behind the code."""
    from knowledge.db import pending_migrations

    url = settings.effective_database_url
    if pending_migrations(url) or pending_migrations(
        url, script_location=BOT_MIGRATIONS, version_table="alembic_version_bot"
    ):
        raise click.ClickException(
            "The database is not migrated to this version: run `pustakabot db upgrade` first."
        )


@click.group()
def main() -> None:
    """pustakabot: the chatbot of Perpustakaan Kota Prabumulih."""


# The command modules register themselves on `main` (imported last: they import from here).
from bot.cli import catalog, channels, data, serve, staff, train  # noqa: E402,F401
