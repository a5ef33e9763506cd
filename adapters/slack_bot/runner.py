"""Running the Slack bot: Socket Mode with an app token, otherwise HTTP mode."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from adapters.slack_bot.app import SlackBot
from adapters.slack_bot.settings import SlackSettings
from agent_core.errors import ConfigError

if TYPE_CHECKING:
    from agent_core.engine import Engine

_log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 1024 * 1024


class SlackHttpServer:
    """HTTP mode: events, commands and interactions POSTed to ``settings.path``.

    Requests go through Bolt, which checks their signature (``X-Slack-Signature``,
    timestamp within 5 minutes) before anything else; ``GET /healthz`` answers ``ok``.
    """

    def __init__(self, bot: SlackBot, settings: SlackSettings) -> None:
        self._bot = bot
        self._settings = settings
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self, port: int | None = None) -> str:
        """Listen (on ``port`` if given, else the configured one; 0 picks a free port).

        Returns:
            The URL Slack should send requests to (with the bound port).
        """
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_post(self._settings.path, self._handle)
        app.router.add_get("/healthz", self._health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, self._settings.host, self._settings.port if port is None else port
        )
        await site.start()
        host, bound = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{bound}{self._settings.path}"
        _log.info("Slack HTTP mode: listening on %s", self.url)
        return self.url

    async def _handle(self, request: web.Request) -> web.Response:
        bolt_request = await to_bolt_request(request)
        bolt_response = await self._bot.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def aclose(self) -> None:
        """Stop listening (requests being answered are finished first)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def run_slack(
    engine: Engine,
    settings: SlackSettings,
    *,
    bot_token: str,
    app_token: str | None = None,
    signing_secret: str | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Serve Slack until cancelled, then finish in-flight work and close.

    Socket Mode when ``app_token`` (``xapp-``) is given: no public URL needed. Otherwise
    HTTP mode on ``settings.host:settings.port`` at ``settings.path``, which needs the
    ``signing_secret``. The engine is the caller's to close.

    Args:
        engine: the opened engine.
        settings: the adapter's settings.
        bot_token: ``SLACK_BOT_TOKEN`` (``xoxb-``).
        app_token: ``SLACK_APP_TOKEN`` (``xapp-``), selects Socket Mode.
        signing_secret: ``SLACK_SIGNING_SECRET``, required in HTTP mode.
        ready: set once the bot is connected or listening.

    Raises:
        ConfigError: a token is missing or malformed.
    """
    if app_token is not None and not app_token.startswith("xapp-"):
        raise ConfigError("SLACK_APP_TOKEN must be an app-level token (xapp-...)", key="app_token")
    if app_token is None and not signing_secret:
        raise ConfigError(
            "Slack needs SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)",
            key="signing_secret",
        )
    bot = SlackBot(engine, settings, bot_token=bot_token, signing_secret=signing_secret)
    try:
        if app_token is not None:
            await _serve_socket_mode(bot, app_token, ready)
        else:
            await _serve_http(bot, settings, ready)
    finally:
        await bot.aclose()


async def _serve_socket_mode(bot: SlackBot, app_token: str, ready: asyncio.Event | None) -> None:
    handler = AsyncSocketModeHandler(bot.app, app_token, web_client=bot.client)
    try:
        await handler.connect_async()  # type: ignore[no-untyped-call]
        _log.info("Slack Socket Mode: connected")
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


async def _serve_http(bot: SlackBot, settings: SlackSettings, ready: asyncio.Event | None) -> None:
    server = SlackHttpServer(bot, settings)
    try:
        await server.start()
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()
    finally:
        await server.aclose()
