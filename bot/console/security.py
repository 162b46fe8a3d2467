"""Console security: session cookie auth, CSRF on every form, Origin checks, cookie flags.

* The session cookie is HttpOnly, SameSite=Strict, path ``/console/`` and Secure unless the
  gateway is reached over plain http on localhost (``PUSTAKABOT_CONSOLE_COOKIE_SECURE``).
* Every POST carries a CSRF token: the session's token once logged in, a double-submit cookie on
  the login form. A POST whose Origin header names another site is refused as well.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.keys import sessions_key, settings_key
from bot.staff import StaffUser, user_for_token

SESSION_COOKIE = "pustakabot_console"
LOGIN_CSRF_COOKIE = "pustakabot_login_csrf"
COOKIE_PATH = "/console/"
CSRF_FIELD = "_csrf"
USER = web.RequestKey("staff", StaffUser)  # the logged-in staff member (absent if none)
PUBLIC = frozenset({"login", "login_post", "static"})  # route names reachable without a session

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0].strip("[]") if host.count(":") <= 1 or host.startswith("[") else host
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def cookie_secure(request: web.Request) -> bool:
    """Whether console cookies get the Secure flag for this request."""
    mode = request.config_dict[settings_key].console_cookie_secure.strip().lower()
    if mode in ("true", "1", "yes"):
        return True
    if mode in ("false", "0", "no"):
        return False
    return request.secure or not _is_loopback(request.host)


def set_cookie(response: web.StreamResponse, request: web.Request, name: str, value: str, *, max_age: int) -> None:
    """Set a console cookie with the safe flags."""
    response.set_cookie(
        name, value, max_age=max_age, path=COOKIE_PATH, httponly=True, samesite="Strict",
        secure=cookie_secure(request),
    )


def allowed_origins(request: web.Request) -> set[str]:
    """Origins allowed to post forms and open the websocket."""
    settings = request.config_dict[settings_key]
    origins = {f"{request.scheme}://{request.host}"}
    if settings.console_origin:
        origins.add(settings.console_origin.rstrip("/"))
    return origins


def origin_ok(request: web.Request, *, required: bool = False) -> bool:
    """Whether the request's Origin header is ours (absent is accepted unless ``required``)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return not required
    return origin.rstrip("/") in allowed_origins(request)


def new_csrf_token() -> str:
    """A fresh random token."""
    return secrets.token_urlsafe(32)


def _same(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    return hmac.compare_digest(str(a).encode("utf-8", "replace"), str(b).encode("utf-8", "replace"))


def _route_name(request: web.Request) -> str | None:
    route = request.match_info.route
    return route.name if route is not None else None


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the logged-in staff member, or send the visitor to the login page."""
    token = request.cookies.get(SESSION_COOKIE)
    user: StaffUser | None = None
    if token:
        async with request.config_dict[sessions_key]() as session:
            user = await user_for_token(session, token)
    if user is not None:
        request[USER] = user
    name = _route_name(request)
    if user is None and name not in PUBLIC:
        if request.method == "GET" and name != "ws":
            raise web.HTTPSeeOther(request.app.router["login"].url_for())
        raise web.HTTPUnauthorized(text="Silakan masuk dulu.")
    return await handler(request)


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a POST without the right CSRF token or from another site."""
    if request.method == "POST":
        if not origin_ok(request):
            raise web.HTTPForbidden(text="Permintaan ditolak: asal halaman tidak dikenal.")
        form = await request.post()
        sent = form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token")
        user: StaffUser | None = request.get(USER)
        expected = user.csrf_token if user is not None else request.cookies.get(LOGIN_CSRF_COOKIE)
        if not _same(str(sent) if sent is not None else None, expected):
            raise web.HTTPForbidden(text="Permintaan ditolak: token keamanan (CSRF) tidak cocok. Muat ulang halaman.")
    return await handler(request)


@web.middleware
async def headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Security headers for every console response."""
    response = await handler(request)
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self' ws: wss:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    return response
