"""Keeps secrets out of the gateway's logs.

* ``httpx``/``httpcore`` log every request line at INFO, and python-telegram-bot's request URL
  contains the bot token (``…/bot<TOKEN>/sendMessage``): those loggers are raised to WARNING.
* As a second line of defence, a filter on the root handlers replaces any configured secret
  (bot token, webhook secret, Meta tokens, API keys…) by ``[redacted]`` in every record, its
  arguments and its traceback.

Both are installed for the lifetime of the application (a cleanup context) and undone after.

:func:`configure` sets up the root handler of every process: plain text lines, or with
``PUSTAKABOT_LOG_FORMAT=json`` one JSON object per line (structlog's ``ProcessorFormatter``
over the standard library's records: ``timestamp``, ``level``, ``logger``, ``event`` and, for an
error, ``exception``). The redaction filter runs before either formatter, and the JSON
formatter renders the traceback the filter already cleaned, so secrets stay out of both.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Iterable
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from bot.settings import Settings

QUIET = ("httpx", "httpcore", "telegram.request", "telegram._bot", "telegram.ext.Updater")
MIN_SECRET = 6  # shorter values would redact ordinary words
REDACTED = "[redacted]"


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value configured in ``settings`` (empty ones left out)."""
    values = [
        value.get_secret_value()
        for name in type(settings).model_fields
        if isinstance(value := getattr(settings, name), SecretStr)
    ]
    values += settings.chat_api_key_list
    return sorted({v for v in values if len(v) >= MIN_SECRET}, key=len, reverse=True)


class Redactor(logging.Filter):
    """Replaces secret values in log records (message, arguments and traceback)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= MIN_SECRET]

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place when it mentions a secret; never drops a record."""
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is logged as is
            return True
        cleaned = self._clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self._clean(record.stack_info)
        return True


def setup(app: web.Application, settings: Settings) -> None:
    """Quiet the request loggers and redact secrets while ``app`` runs."""

    async def context(_app: web.Application) -> AsyncIterator[None]:
        levels = {name: logging.getLogger(name).level for name in QUIET}
        for name in QUIET:
            logger = logging.getLogger(name)
            if logger.getEffectiveLevel() < logging.WARNING:
                logger.setLevel(logging.WARNING)
        redactor = Redactor(secrets_of(settings))
        handlers = list(logging.getLogger().handlers)
        for handler in handlers:
            handler.addFilter(redactor)
        try:
            yield
        finally:
            for handler in handlers:
                handler.removeFilter(redactor)
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)

    app.cleanup_ctx.append(context)


def _cleaned_exception(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    """Render a record's traceback from its (redacted) ``exc_text`` instead of ``exc_info``."""
    record = event.get("_record")
    if isinstance(record, logging.LogRecord) and record.exc_info:
        event.pop("exc_info", None)
        event["exception"] = record.exc_text or logging.Formatter().formatException(record.exc_info)
    return event


def json_formatter() -> logging.Formatter:
    """One JSON object per log record (structlog)."""
    import structlog

    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            _cleaned_exception,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )


def configure(settings: Settings) -> None:
    """The root logger of this process: level and format from ``settings`` (text or json)."""
    if settings.log_format.lower() == "json":
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(json_formatter())
        logging.basicConfig(level=settings.log_level.upper(), handlers=[handler], force=True)
        return
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stdout,
    )
