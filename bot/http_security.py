"""Security headers on every gateway response (web chat, API, webhooks, console, errors, static).

Registered as an ``on_response_prepare`` signal so it also covers 404s, raised HTTP errors and
static files, which a middleware would miss. The console sets its own stricter policy first
(``bot/console/security.py``); these headers only fill what is still missing. The ``Server``
header names the product, never aiohttp's version.
"""

from __future__ import annotations

from aiohttp import web

SERVER = "pustakabot"
#: the web chat page loads only its own script, style and the bot's images (covers may be remote)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'; object-src 'none'"
)


async def _headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    headers["Server"] = SERVER  # aiohttp only fills it when absent


def setup(app: web.Application) -> None:
    """Add the headers to every response of ``app`` (and of its sub-applications)."""
    app.on_response_prepare.append(_headers)
