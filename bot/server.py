"""`/healthz` and Prometheus `/metrics` over HTTP (aiohttp), for operators."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from agent_core.engine import Engine

_log = logging.getLogger(__name__)

StatusProvider = Callable[[], dict[str, Any]]


class OpsServer:
    """Serves health and metrics until closed; ``platforms`` reports adapter status."""

    def __init__(self, engine: Engine, host: str, port: int,
                 platforms: StatusProvider | None = None) -> None:
        self.engine = engine
        self.host, self.port = host, port
        self.platforms = platforms or (lambda: {})
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Bind and serve; ``port`` 0 picks a free port (read it back from ``self.port``)."""
        app = web.Application()
        app.router.add_get("/healthz", self._health)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        if server is not None and server.sockets:  # type: ignore[union-attr]
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        _log.info("health and metrics on http://%s:%d/healthz and /metrics", self.host,
                  self.port)

    async def aclose(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def _health(self, request: web.Request) -> web.Response:
        checks: dict[str, Any] = {}
        healthy = True
        try:
            await self.engine.state.ping()
            checks["state"] = "ok"
        except Exception as exc:
            checks["state"] = f"failing: {type(exc).__name__}"
            healthy = False
        platforms = self.platforms()
        if any(p.get("connected") is False for p in platforms.values()):
            healthy = False
        body = {"status": "ok" if healthy else "degraded", "checks": checks,
                "platforms": platforms, "engine": self.engine.describe()}
        return web.json_response(body, status=200 if healthy else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(text=self.engine.metrics.expose(),
                            content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})
