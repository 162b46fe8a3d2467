"""Channel setup: the `telegram` group (webhook registration)."""

from __future__ import annotations

import asyncio

import click

from bot.cli import load_settings, main
from bot.settings import Settings


@main.group()
def telegram() -> None:
    """Telegram bot webhook (token from PUSTAKABOT_TELEGRAM_TOKEN)."""


def _telegramload_settings() -> Settings:
    settings = load_settings()
    if not settings.telegram_token.get_secret_value():
        raise click.ClickException("PUSTAKABOT_TELEGRAM_TOKEN belum diisi (token dari @BotFather).")
    return settings


@telegram.command("set-webhook")
@click.option("--url", default=None, help="Webhook URL; default PUBLIC_URL + /webhooks/telegram.")
@click.option("--drop-pending", is_flag=True, help="Drop updates Telegram is still holding.")
def telegram_set_webhook(url: str | None, drop_pending: bool) -> None:
    """Register the gateway's webhook (with the secret token) at Telegram."""
    from bot.channels.telegram import set_webhook

    settings = _telegramload_settings()
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
        asyncio.run(delete_webhook(_telegramload_settings(), drop_pending=drop_pending))
    except Exception as exc:  # noqa: BLE001
        raise click.ClickException(f"Gagal menghapus webhook: {exc}") from exc
    click.echo("Webhook dihapus.")


@telegram.command("info")
def telegram_info() -> None:
    """Show the bot and its webhook status (getMe + getWebhookInfo)."""
    from bot.channels.telegram import webhook_info

    try:
        info = asyncio.run(webhook_info(_telegramload_settings()))
    except Exception as exc:  # noqa: BLE001
        raise click.ClickException(f"Gagal menghubungi Telegram: {exc}") from exc
    for key, value in info.items():
        click.echo(f"{key}: {value}")
