"""The local HTTP server every platform fake runs on (127.0.0.1, a free port)."""

from __future__ import annotations

from aiohttp import web


class LocalServer:
    """Serves one aiohttp application on 127.0.0.1 until :meth:`stop`."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, app: web.Application) -> int:
        """Serve ``app`` on a free loopback port; returns the port."""
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
