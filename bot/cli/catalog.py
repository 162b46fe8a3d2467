"""The knowledge base's sources: the `catalog` and `events` groups."""

from __future__ import annotations

import logging
import signal
import threading
import sys
from pathlib import Path

import click

from bot.cli import configure_logging, load_settings, main, upgrade_database
from bot.settings import Settings


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

    settings = load_settings()
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
    from knowledge.sources.sync import sync_configured

    settings = load_settings()
    configure_logging(settings)
    plan = _sync_plan(settings)
    if plan.empty:
        raise click.ClickException(
            "Belum ada sumber katalog: isi PUSTAKABOT_OAI_URL, PUSTAKABOT_SLIMS_DSN atau PUSTAKABOT_EVENTS_URL."
        )
    sessions = _sessions(settings)

    def once(full: bool) -> list:
        reports, failures = sync_configured(sessions, plan, full=full)
        for report in reports:
            _echo_report(report)
        for failure in failures:
            click.echo(f"✗ {failure.source}: gagal, data lama tetap dipakai ({failure.reason})", err=True)
        return failures

    if every is None:
        if once(full):
            raise SystemExit(1)
        return
    # Periodic: only the replica leading "catalog-sync" syncs (bot/replicas/leader.py); a sync
    # hiccup is logged and never stops the loop.
    from bot.replicas.leader import leader_lock, run_as_leader

    lock = leader_lock(
        "catalog-sync", redis_url=settings.redis_url, database_url=settings.effective_database_url,
        prefix=settings.redis_prefix, ttl=settings.leader_ttl_seconds,
    )
    first = [full]

    def job() -> None:
        once(first[0])
        first[0] = False

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())  # give the lease back on the way out
    run_as_leader(lock, job, every=max(every, 0.1) * 60, stop=stop)


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

    settings = load_settings()
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

    sessions = _sessions(load_settings())
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

    settings = load_settings()
    sessions = _sessions(settings)
    try:
        report = import_ics(sessions, location, tz=settings.timezone)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"Kalender tidak bisa dibaca: {exc}") from exc
    _echo_report(report)
