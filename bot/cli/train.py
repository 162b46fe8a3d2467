"""Training: `train` (the NLU model and the FAQ embedding model) and the `faq` group."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli import configure_logging, load_settings, main


@main.command("train")
@click.option("--force", is_flag=True, help="Train even if nothing changed.")
def train_command(force: bool) -> None:
    """Train the Rasa model and fine-tune the FAQ embedding model when their inputs changed."""
    from bot.training import TrainingError, train, train_faq_model

    settings = load_settings()
    configure_logging(settings)
    try:
        path = train(settings, force=force)
    except TrainingError as exc:
        click.echo(exc.output, err=True)
        raise click.ClickException("Pelatihan model gagal.") from exc
    click.echo(f"Model: {path}")
    tuned = train_faq_model(settings, force=force)
    if tuned is not None:
        click.echo(f"Model FAQ: {tuned.path} (ambang jawab {tuned.thresholds.answer:.3f})")


@main.command("lookups")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder to write to (default: nlu/data/generated, where training reads them).")
def lookups_command(out: Path | None) -> None:
    """Write the NLU's catalog lookup tables (titles, authors, synonyms) from the catalog in the
    database (the demo catalog when it is empty); `train` does this itself before training."""
    from bot.training import GENERATED, catalog_names, write_generated

    settings = load_settings()
    configure_logging(settings)
    files = write_generated(settings, out=out or GENERATED)
    titles, authors = catalog_names(settings)
    click.echo(f"{len(titles)} judul, {len(authors)} pengarang → {', '.join(str(f) for f in files)}")


@main.group()
def faq() -> None:
    """Librarians' FAQ files."""


@faq.command("check")
@click.argument("folder", required=False, type=click.Path(path_type=Path))
def faq_check(folder: Path | None) -> None:
    """Validate the FAQ files and report problems as file:line."""
    from knowledge.faq import check_folder

    folder = folder or load_settings().faq_dir
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

    from knowledge.faq_tune import tunable

    settings = load_settings()
    configure_logging(settings)
    if not tunable(settings.embedding_model):
        raise click.ClickException(
            f"Model FAQ {settings.embedding_model or '(kosong)'} dipakai apa adanya dan tidak bisa di-fine-tune; "
            "fine-tuning hanya untuk model sentence-transformers (PUSTAKABOT_EMBEDDING_MODEL)."
        )
    tuned = train_faq_model(settings, force=force)
    if tuned is None:
        raise click.ClickException("Fine-tuning FAQ tidak dijalankan: dimatikan di pengaturan atau belum ada entri FAQ.")
    click.echo(f"Model FAQ: {tuned.path} (ambang jawab {tuned.thresholds.answer:.3f})")
