"""The patron's address behind a load balancer: ``X-Forwarded-For`` from trusted proxies only.

Behind HAProxy (or an Ingress) every request comes from the proxy's address, so the per-address
limits (web chat, handoffs, console logins) would count all patrons as one. With
``PUSTAKABOT_TRUSTED_PROXIES`` set (addresses or networks), a request *from* one of them is
given the address the proxy saw: the right-most ``X-Forwarded-For`` entry that is not itself a
trusted proxy. A header from anyone else is ignored (it could be forged).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def parse_networks(value: str) -> list[Network]:
    """``"10.0.0.0/8, 127.0.0.1"`` as networks.

    Raises:
        ValueError: an entry is not an address or network.
    """
    return [ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()]


def _trusted(address: str | None, networks: list[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(remote: str | None, forwarded_for: str, networks: list[Network]) -> str | None:
    """The client's address given the peer ``remote`` and its ``X-Forwarded-For`` header."""
    if not networks or not forwarded_for or not _trusted(remote, networks):
        return remote
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return remote  # a malformed chain: keep the proxy's own address
        if not _trusted(hop, networks):
            return hop
    return hops[0] if hops else remote


def middleware(trusted: str) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """An aiohttp middleware applying :func:`client_address` (a no-op when ``trusted`` is empty)."""
    networks = parse_networks(trusted)

    @web.middleware
    async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        if networks:
            address = client_address(request.remote, request.headers.get("X-Forwarded-For", ""), networks)
            if address != request.remote:
                request = request.clone(remote=address)
        return await handler(request)

    return forwarded
