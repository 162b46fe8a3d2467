"""The ``pustakabot`` command: a thin layer that builds objects and calls plain functions."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click

from bot.settings import ROOT, Settings

BOT_MIGRATIONS = ROOT / "bot" / "migrations"


def _settings() -> Settings:
    return Settings()


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stdout,
    )


def upgrade_database(settings: Settings) -> None:
    """Apply both migration histories (knowledge tables and gateway tables)."""
    from knowledge.db import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)
    upgrade(settings.effective_database_url, script_location=BOT_MIGRATIONS)


@click.group()
def main() -> None:
    """pustakabot: the chatbot of Perpustakaan Kota Prabumulih."""


@main.command()
@click.option("--no-train", is_flag=True, help="Use the existing model even if data changed.")
def run(no_train: bool) -> None:
    """Migrate, load the demo data if empty, train if needed, and start every server."""
    from bot.supervisor import Child, say, supervise
    from bot.training import TrainingError, model_path, rasa_env, train
    from knowledge.db import make_engine, make_sessionmaker, sync_url
    from knowledge.demo import catalog_is_empty, load_demo

    settings = _settings()
    _logging(settings)
    say("migrating the database")
    upgrade_database(settings)
    if settings.load_demo:
        engine = make_engine(settings.effective_database_url)
        sessions = make_sessionmaker(engine)
        if catalog_is_empty(sessions):
            say("loading the demo knowledge base")
            for report in load_demo(sessions, tz=settings.timezone):
                say(report.summary())
        engine.dispose()
    try:
        model = model_path(settings) if no_train and model_path(settings).exists() else None
        if model is None:
            say("checking the Rasa model (trains only when data or config changed)")
            model = train(settings)
    except TrainingError as exc:
        say(exc.output)
        raise click.ClickException("Training failed; see the output above.") from exc
    py = sys.executable
    tracker = sync_url(settings.effective_tracker_store_url)
    children = [
        Child(
            "rasa",
            [
                str(settings.rasa_venv / "bin" / "rasa"), "run",
                "--model", str(model),
                "--endpoints", str(ROOT / "endpoints.yml"),
                "--credentials", str(ROOT / "credentials.yml"),
                "--interface", settings.host, "--port", str(settings.rasa_port),
            ],
            env={
                **rasa_env(settings),
                "PUSTAKABOT_ACTION_ENDPOINT": f"{settings.effective_action_server_url}/webhook",
                "PUSTAKABOT_TRACKER_STORE": tracker,
            },
            cwd=str(ROOT),
        ),
        Child("actions", [py, "-m", "bot", "actions"]),
        Child("gateway", [py, "-m", "bot", "gateway"]),
    ]
    base = f"http://{settings.host}:{settings.port}"
    code = asyncio.run(supervise(children, health_url=f"{base}/healthz", chat_url=f"{base}/"))
    sys.exit(code)


@main.command()
def gateway() -> None:
    """Start only the gateway (web chat, webhooks, console)."""
    from aiohttp import web

    from bot.app import create_app

    settings = _settings()
    _logging(settings)
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None)


@main.command()
def actions() -> None:
    """Start only the action server."""
    from actions.server import serve
    from knowledge.kb import KnowledgeBase

    settings = _settings()
    _logging(settings)
    kb = KnowledgeBase(
        settings.effective_database_url, settings.faq_dir, embedding_model=settings.embedding_model
    )
    serve(kb, host=settings.host, port=settings.action_port, tz=settings.timezone)


@main.command("train")
@click.option("--force", is_flag=True, help="Train even if nothing changed.")
def train_command(force: bool) -> None:
    """Train the Rasa model when data or config changed."""
    from bot.training import TrainingError, train

    settings = _settings()
    _logging(settings)
    try:
        path = train(settings, force=force)
    except TrainingError as exc:
        click.echo(exc.output, err=True)
        raise click.ClickException("Pelatihan model gagal.") from exc
    click.echo(f"Model: {path}")


@main.group()
def faq() -> None:
    """Librarians' FAQ files."""


@faq.command("check")
@click.argument("folder", required=False, type=click.Path(path_type=Path))
def faq_check(folder: Path | None) -> None:
    """Validate the FAQ files and report problems as file:line."""
    from knowledge.faq import check_folder

    folder = folder or _settings().faq_dir
    items, problems = check_folder(folder)
    for problem in problems:
        click.echo(f"✗ {problem}", err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} masalah ditemukan di {folder}.")
    click.echo(f"✓ {len(items)} entri FAQ valid di {folder}.")


@main.group()
def db() -> None:
    """Database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the tables (SQLite or PostgreSQL)."""
    settings = _settings()
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

    settings = _settings()
    upgrade_database(settings)
    sessions = make_sessionmaker(make_engine(settings.effective_database_url))
    for report in load_demo(sessions, tz=settings.timezone):
        click.echo(report.summary())
