"""Serving: `run` (the supervised stack), `prepare` (its first step), `nlu` and `gateway` alone."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
from pathlib import Path

import click

from bot.cli import configure_logging, load_settings, main, require_migrated, upgrade_database
from bot.settings import ROOT, Settings
from bot.supervisor import Child


@main.command()
@click.option("--no-train", is_flag=True, help="Use the existing model even if data changed.")
def prepare(no_train: bool) -> None:
    """Migrate, load the demo data if the catalog is empty, train the NLU if needed; prints the
    model's path last (`run` does this in a child process, so the supervisor stays small)."""
    from bot.supervisor import say
    from bot.training import TrainingError, model_path, train
    from knowledge.db import make_engine, make_sessionmaker
    from knowledge.demo import catalog_is_empty, load_demo

    settings = load_settings()
    configure_logging(settings)
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
            say("checking the Rasa NLU model (trains only when data or config changed)")
            model = train(settings)
    except TrainingError as exc:
        say(exc.output)
        raise click.ClickException("Training failed; see the output above.") from exc
    click.echo(f"{MODEL_LINE}{model}")


MODEL_LINE = "model: "


@main.command()
@click.option("--no-train", is_flag=True, help="Use the existing model even if data changed.")
def run(no_train: bool) -> None:
    """Migrate, load the demo data if empty, train the NLU if needed, and start every server."""
    from bot.supervisor import supervise

    settings = load_settings()
    configure_logging(settings)
    py = sys.executable
    model = _prepare(py, no_train)
    # Rasa's HTTP API can replace the model: loopback only, and a token the gateway alone knows.
    token = settings.rasa_token.get_secret_value() or secrets.token_urlsafe(24)
    children = [nlu_child(settings, model, token=token, host="127.0.0.1")]
    children.append(Child("gateway", [py, "-m", "bot", "gateway"],
                          env={"PUSTAKABOT_RASA_TOKEN": token, "MALLOC_ARENA_MAX": "2"}))
    if settings.catalog_sync_configured:
        minutes = f"{settings.sync_interval_minutes:g}"
        children.append(Child("sync", [py, "-m", "bot", "catalog", "sync", "--every", minutes]))
    base = f"http://{settings.host}:{settings.port}"
    code = asyncio.run(supervise(children, health_url=f"{base}/healthz", chat_url=f"{base}/"))
    sys.exit(code)


def _prepare(py: str, no_train: bool) -> Path:
    """`pustakabot prepare` in a child process, its output shown as it comes; the model's path."""
    argv = [py, "-m", "bot", "prepare", *(["--no-train"] if no_train else [])]
    model: Path | None = None
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(MODEL_LINE):
                model = Path(line[len(MODEL_LINE):].strip())
            else:
                sys.stdout.write(line)
                sys.stdout.flush()
    if proc.returncode != 0 or model is None:
        raise click.ClickException("Preparing the stack failed; see the output above.")
    return model


def nlu_child(settings: Settings, model: Path, *, token: str, host: str) -> Child:
    """Rasa serving the NLU model over its HTTP API (``POST /model/parse``), token-protected."""
    from bot.training import rasa_env

    return Child(
        "rasa",
        [
            str(settings.rasa_venv / "bin" / "rasa"), "run", "--enable-api", "--auth-token", token,
            "--model", str(model), "--interface", host, "--port", str(settings.rasa_port),
        ],
        env=rasa_env(settings),
        cwd=str(ROOT),
        secrets=(token,),
    )


@main.command()
@click.option("--interface", default="127.0.0.1", show_default=True,
              help="Address Rasa binds to (a container's own network: 0.0.0.0).")
def nlu(interface: str) -> None:
    """Start only the Rasa NLU server (needs PUSTAKABOT_RASA_TOKEN; trains first if needed)."""
    from bot.supervisor import supervise
    from bot.training import train

    settings = load_settings()
    configure_logging(settings)
    token = settings.rasa_token.get_secret_value()
    if not token:
        raise click.ClickException("Set PUSTAKABOT_RASA_TOKEN: Rasa's HTTP API must not run without a token.")
    child = nlu_child(settings, train(settings), token=token, host=interface)
    sys.exit(asyncio.run(supervise([child], health_url=None, chat_url="")))


@main.command()
def gateway() -> None:
    """Start only the gateway (web chat, webhooks, console) with the answer engine."""
    from aiohttp import web

    from bot.app import create_app

    settings = load_settings()
    configure_logging(settings)
    require_migrated(settings)
    from bot.health import AccessLogger
    from knowledge.batching import serve_single_threaded

    serve_single_threaded()  # conversations answered at once are the parallelism (knowledge/batching.py)

    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        access_log_class=AccessLogger,
    )
