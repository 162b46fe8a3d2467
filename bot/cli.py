"""The ``pustakabot`` command: a thin layer that builds objects and calls plain functions."""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
from pathlib import Path
import click

from bot.settings import ROOT, Settings

from bot.supervisor import Child

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


@main.command()
@click.option("--no-train", is_flag=True, help="Use the existing model even if data changed.")
def run(no_train: bool) -> None:
    """Migrate, load the demo data if empty, train the NLU if needed, and start every server."""
    from bot.supervisor import say, supervise
    from bot.training import TrainingError, model_path, train
    from knowledge.db import make_engine, make_sessionmaker
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
            say("checking the Rasa NLU model (trains only when data or config changed)")
            model = train(settings)
    except TrainingError as exc:
        say(exc.output)
        raise click.ClickException("Training failed; see the output above.") from exc
    # Rasa's HTTP API can replace the model: loopback only, and a token the gateway alone knows.
    token = settings.rasa_token.get_secret_value() or secrets.token_urlsafe(24)
    children = [nlu_child(settings, model, token=token, host="127.0.0.1")]
    py = sys.executable
    children.append(Child("gateway", [py, "-m", "bot", "gateway"], env={"PUSTAKABOT_RASA_TOKEN": token}))
    if settings.catalog_sync_configured:
        minutes = f"{settings.sync_interval_minutes:g}"
        children.append(Child("sync", [py, "-m", "bot", "catalog", "sync", "--every", minutes]))
    base = f"http://{settings.host}:{settings.port}"
    code = asyncio.run(supervise(children, health_url=f"{base}/healthz", chat_url=f"{base}/"))
    sys.exit(code)


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

    settings = _settings()
    _logging(settings)
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

    settings = _settings()
    _logging(settings)
    require_migrated(settings)
    from bot.health import AccessLogger

    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        access_log_class=AccessLogger,
    )


@main.command("train")
@click.option("--force", is_flag=True, help="Train even if nothing changed.")
def train_command(force: bool) -> None:
    """Train the Rasa model and fine-tune the FAQ embedding model when their inputs changed."""
    from bot.training import TrainingError, train, train_faq_model

    settings = _settings()
    _logging(settings)
    try:
        path = train(settings, force=force)
    except TrainingError as exc:
        click.echo(exc.output, err=True)
        raise click.ClickException("Pelatihan model gagal.") from exc
    click.echo(f"Model: {path}")
    tuned = train_faq_model(settings, force=force)
    if tuned is not None:
        click.echo(f"Model FAQ: {tuned.path} (ambang jawab {tuned.thresholds.answer:.3f})")


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


@faq.command("tune")
@click.option("--force", is_flag=True, help="Fine-tune even if the FAQ files did not change.")
def faq_tune(force: bool) -> None:
    """Fine-tune the FAQ embedding model on the FAQ files' question variants (also part of `train`)."""
    from bot.training import train_faq_model

    settings = _settings()
    _logging(settings)
    tuned = train_faq_model(settings, force=force)
    if tuned is None:
        raise click.ClickException("Fine-tuning FAQ tidak dijalankan: dimatikan di pengaturan atau belum ada entri FAQ.")
    click.echo(f"Model FAQ: {tuned.path} (ambang jawab {tuned.thresholds.answer:.3f})")


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


@main.group()
def telegram() -> None:
    """Telegram bot webhook (token from PUSTAKABOT_TELEGRAM_TOKEN)."""


def _telegram_settings() -> Settings:
    settings = _settings()
    if not settings.telegram_token.get_secret_value():
        raise click.ClickException("PUSTAKABOT_TELEGRAM_TOKEN belum diisi (token dari @BotFather).")
    return settings


@telegram.command("set-webhook")
@click.option("--url", default=None, help="Webhook URL; default PUBLIC_URL + /webhooks/telegram.")
@click.option("--drop-pending", is_flag=True, help="Drop updates Telegram is still holding.")
def telegram_set_webhook(url: str | None, drop_pending: bool) -> None:
    """Register the gateway's webhook (with the secret token) at Telegram."""
    from bot.channels.telegram import set_webhook

    settings = _telegram_settings()
    if not url and not settings.public_url:
        raise click.ClickException("Isi PUSTAKABOT_PUBLIC_URL (https://...) atau beri --url.")
    try:
        done = asyncio.run(set_webhook(settings, url, drop_pending=drop_pending))
    except Exception as exc:  # noqa: BLE001 - shown to the operator
        raise click.ClickException(f"Gagal memasang webhook: {exc}") from exc
    click.echo(f"Webhook terpasang: {done}")


@telegram.command("delete-webhook")
@click.option("--drop-pending", is_flag=True, help="Drop updates Telegram is still holding.")
def telegram_delete_webhook(drop_pending: bool) -> None:
    """Remove the webhook (e.g. before using polling mode)."""
    from bot.channels.telegram import delete_webhook

    try:
        asyncio.run(delete_webhook(_telegram_settings(), drop_pending=drop_pending))
    except Exception as exc:  # noqa: BLE001
        raise click.ClickException(f"Gagal menghapus webhook: {exc}") from exc
    click.echo("Webhook dihapus.")


@telegram.command("info")
def telegram_info() -> None:
    """Show the bot and its webhook status (getMe + getWebhookInfo)."""
    from bot.channels.telegram import webhook_info

    try:
        info = asyncio.run(webhook_info(_telegram_settings()))
    except Exception as exc:  # noqa: BLE001
        raise click.ClickException(f"Gagal menghubungi Telegram: {exc}") from exc
    for key, value in info.items():
        click.echo(f"{key}: {value}")


def _sessions(settings: Settings):  # noqa: ANN202 - sessionmaker[Session]
    from knowledge.db import make_engine, make_sessionmaker

    upgrade_database(settings)
    return make_sessionmaker(make_engine(settings.effective_database_url))


def _echo_report(report: object, *, max_skipped: int = 20) -> None:
    from knowledge.sources.report import SyncReport

    assert isinstance(report, SyncReport)
    click.echo(report.summary())
    for where, reason in report.skipped[:max_skipped]:
        click.echo(f"  dilewati {where}: {reason}")
    if len(report.skipped) > max_skipped:
        click.echo(f"  … dan {len(report.skipped) - max_skipped} lagi")


def _sync_plan(settings: Settings):  # noqa: ANN202 - knowledge.sources.sync.SyncPlan
    from knowledge.sources.sync import SyncPlan

    return SyncPlan(
        oai_url=settings.oai_url,
        oai_metadata_prefix=settings.oai_metadata_prefix,
        oai_set=settings.oai_set,
        slims_dsn=settings.slims_dsn.get_secret_value(),
        slims_base_url=settings.slims_base_url,
        events_url=settings.events_url,
        timezone=settings.timezone,
    )


@main.group()
def catalog() -> None:
    """Library catalog: import, sync from the library system, search."""


@catalog.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["marc", "marcxml", "csv"]), help="Detected when omitted.")
@click.option("--source", help="Name the records are keyed under (default: marc or csv).")
@click.option("--replace", is_flag=True, help="Delete this source's records that are not in the file.")
def catalog_import(path: Path, fmt: str | None, source: str | None, replace: bool) -> None:
    """Import a MARC (.mrc), MARCXML or CSV/TSV catalog export; a repeat import changes nothing."""
    from tqdm import tqdm

    from knowledge.sources.formats import UnknownFormat
    from knowledge.sources.sync import SyncFailed, import_file

    settings = _settings()
    sessions = _sessions(settings)
    with tqdm(desc=path.name, unit=" rekaman", disable=None, file=sys.stderr) as bar:
        try:
            report = import_file(
                sessions, path, fmt=fmt, source=source, delete_missing=replace, progress=bar.update
            )
        except UnknownFormat as exc:
            raise click.ClickException(str(exc)) from exc
        except SyncFailed as exc:
            raise click.ClickException(f"Impor gagal, data lama tetap dipakai: {exc.reason}") from exc
    _echo_report(report)


@catalog.command("sync")
@click.option("--full", is_flag=True, help="Read everything again instead of only what changed.")
@click.option("--every", type=float, help="Keep running: sync again every MINUTES.")
def catalog_sync(full: bool, every: float | None) -> None:
    """Sync the configured sources (PUSTAKABOT_OAI_URL, PUSTAKABOT_SLIMS_DSN, PUSTAKABOT_EVENTS_URL)."""
    import time

    from knowledge.sources.sync import sync_configured

    settings = _settings()
    _logging(settings)
    plan = _sync_plan(settings)
    if plan.empty:
        raise click.ClickException(
            "Belum ada sumber katalog: isi PUSTAKABOT_OAI_URL, PUSTAKABOT_SLIMS_DSN atau PUSTAKABOT_EVENTS_URL."
        )
    sessions = _sessions(settings)
    while True:
        try:
            reports, failures = sync_configured(sessions, plan, full=full)
        except Exception:  # under `run`, a sync hiccup must never stop the bot
            if every is None:
                raise
            logging.getLogger(__name__).exception("catalog sync failed; retrying in %s minutes", every)
            reports, failures = [], []
        for report in reports:
            _echo_report(report)
        for failure in failures:
            click.echo(f"✗ {failure.source}: gagal, data lama tetap dipakai ({failure.reason})", err=True)
        if every is None:
            if failures:
                raise SystemExit(1)
            return
        full = False
        time.sleep(max(every, 0.1) * 60)


@catalog.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--limit", default=5, show_default=True, help="Most results shown.")
@click.option("--lang", default="id", type=click.Choice(["id", "en"]), help="Language of the availability line.")
def catalog_search(query: tuple[str, ...], as_json: bool, limit: int, lang: str) -> None:
    """Show what the bot would find for QUERY, with live availability."""
    import json

    from knowledge.availability import describe
    from knowledge.catalog import CatalogQuery, CatalogSearch

    settings = _settings()
    sessions = _sessions(settings)
    text = " ".join(query)
    hits = CatalogSearch(sessions).search(CatalogQuery(text=text, limit=limit))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "query": text,
                    "hits": [
                        {
                            "record_id": h.record_id,
                            "title": h.title,
                            "authors": list(h.authors),
                            "year": h.year,
                            "score": round(h.score, 1),
                            "matched": h.matched,
                            "available": h.availability.available,
                            "total": h.availability.total,
                            "availability": describe(h.availability, lang),
                            "ebook_url": h.ebook_url,
                        }
                        for h in hits
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if not hits:
        click.echo(f"Belum ada di koleksi kami: {text}")
        return
    for h in hits:
        by = f" — {'; '.join(h.authors)}" if h.authors else ""
        click.echo(f"• {h.title}{by}{f' ({h.year})' if h.year else ''} [{h.matched} {h.score:.0f}]")
        click.echo(f"  {describe(h.availability, lang)}")
        if h.ebook_url:
            click.echo(f"  e-book: {h.ebook_url}")


@catalog.command("status")
def catalog_status() -> None:
    """Each source's last sync: when, whether it worked, and its watermark."""
    from knowledge.sources.sync import sync_state

    sessions = _sessions(_settings())
    rows = sync_state(sessions)
    if not rows:
        click.echo("Belum pernah sinkron.")
    for row in rows:
        mark = "✓" if row["ok"] else "✗"
        click.echo(f"{mark} {row['source']}: {row['finished_at']} — {row['summary']} (watermark {row['watermark']})")


@main.group()
def events() -> None:
    """Library events (iCalendar)."""


@events.command("import")
@click.argument("location")
def events_import(location: str) -> None:
    """Import events from an .ics file or URL (recurring events expanded)."""
    from knowledge.sources.ical import import_ics

    settings = _settings()
    sessions = _sessions(settings)
    try:
        report = import_ics(sessions, location, tz=settings.timezone)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"Kalender tidak bisa dibaca: {exc}") from exc
    _echo_report(report)


@main.group()
def staff() -> None:
    """Staff console accounts (librarians: role agent; supervisors: role admin)."""


def _staff_run(operation: str, **kwargs: object) -> str:
    """Run one account operation against the configured database; returns a summary line."""
    from bot import staff as accounts
    from knowledge.db import make_async_engine

    settings = _settings()
    upgrade_database(settings)

    async def go() -> str:
        from sqlalchemy.ext.asyncio import async_sessionmaker

        engine = make_async_engine(settings.effective_database_url)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False).begin() as session:
                if operation == "add":
                    member = await accounts.add_staff(session, **kwargs)  # type: ignore[arg-type]
                    return f"Akun {member.username} ({member.role}) dibuat."
                if operation == "disable":
                    member = await accounts.set_active(session, str(kwargs["username"]), False)
                    return f"Akun {member.username} dinonaktifkan; semua sesinya diakhiri."
                if operation == "enable":
                    member = await accounts.set_active(session, str(kwargs["username"]), True)
                    return f"Akun {member.username} diaktifkan kembali."
                if operation == "reset":
                    member = await accounts.reset_password(
                        session, str(kwargs["username"]), str(kwargs["password"])
                    )
                    return f"Kata sandi {member.username} diganti; semua sesinya diakhiri."
                rows = await accounts.list_staff(session)
                return "\n".join(
                    f"{m.username:20} {m.role:6} {'aktif' if m.active else 'nonaktif':9} {m.display_name}" for m in rows
                ) or "Belum ada akun."
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except accounts.StaffError as exc:
        raise click.ClickException(exc.message) from exc


_password_option = click.option(
    "--password", prompt="Kata sandi", hide_input=True, confirmation_prompt="Ulangi kata sandi",
    help="Leave out to be asked (hidden). At least 10 characters.",
)


@staff.command("add")
@click.argument("username")
@click.option("--name", "display_name", default="", help="Name shown to colleagues and patrons.")
@click.option("--role", type=click.Choice(["agent", "admin"]), default="agent", show_default=True)
@_password_option
def staff_add(username: str, display_name: str, role: str, password: str) -> None:
    """Create a console account."""
    click.echo(_staff_run("add", username=username, display_name=display_name or username,
                          password=password, role=role))


@staff.command("disable")
@click.argument("username")
def staff_disable(username: str) -> None:
    """Disable an account and end its sessions."""
    click.echo(_staff_run("disable", username=username))


@staff.command("enable")
@click.argument("username")
def staff_enable(username: str) -> None:
    """Enable a disabled account again."""
    click.echo(_staff_run("enable", username=username))


@staff.command("reset-password")
@click.argument("username")
@_password_option
def staff_reset_password(username: str, password: str) -> None:
    """Set a new password (ends the account's sessions)."""
    click.echo(_staff_run("reset", username=username, password=password))


@staff.command("list")
def staff_list() -> None:
    """List the accounts."""
    click.echo(_staff_run("list"))
