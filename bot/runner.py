"""`membot run`: the platforms in one process around one engine, until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from agent_core.engine import Engine
from agent_core.errors import ConfigError
from bot.server import OpsServer
from bot.settings import Settings

_log = logging.getLogger(__name__)

Platform = Callable[[Engine], Awaitable[None]]
PLATFORMS = ("discord", "slack")


def configured_platforms(settings: Settings) -> list[str]:
    """Platforms whose tokens are set."""
    found = []
    if settings["discord_token"]:
        found.append("discord")
    if settings["slack_bot_token"]:
        found.append("slack")
    return found


def platform_entries(settings: Settings, names: list[str]) -> dict[str, Platform]:
    """The entry coroutine of each named platform, with its settings and tokens bound."""
    entries: dict[str, Platform] = {}
    for name in names:
        if name == "discord":
            entries[name] = _discord(settings)
        elif name == "slack":
            entries[name] = _slack(settings)
    return entries


_TOKENS = {"discord": ("discord_token", "DISCORD_TOKEN", "docs/discord.md"),
           "slack": ("slack_bot_token", "SLACK_BOT_TOKEN", "docs/slack.md")}


def require_token(settings: Settings, platform: str) -> str:
    """The platform's token, or a ``ConfigError`` saying what to set."""
    key, env, doc = _TOKENS[platform]
    token: str | None = settings[key]
    if not token:
        raise ConfigError(f"{env} is not set.", key=env,
                          hint=f"See {doc} for creating the {platform} app and its token.")
    return token


def _discord(settings: Settings) -> Platform:
    token, adapter_settings = require_token(settings, "discord"), settings.discord()

    async def run(engine: Engine) -> None:
        from adapters.discord_bot import run_discord

        await run_discord(engine, adapter_settings, token)
    return run


def _slack(settings: Settings) -> Platform:
    token, adapter_settings = require_token(settings, "slack"), settings.slack()

    async def run(engine: Engine) -> None:
        from adapters.slack_bot import run_slack

        await run_slack(engine, adapter_settings, bot_token=token,
                        app_token=settings["slack_app_token"],
                        signing_secret=settings["slack_signing_secret"])
    return run


async def serve(engine: Engine, platforms: Mapping[str, Platform], *,
                stop: asyncio.Event | None = None, http_host: str = "127.0.0.1",
                http_port: int = 0, install_signals: bool = True) -> int:
    """Run the platforms until ``stop`` is set (SIGINT/SIGTERM set it) or one fails.

    On stop, every platform is cancelled (each lets its in-flight turns finish), then
    the engine closes, waiting for any turn still running. Returns the exit code.
    """
    stop = stop or asyncio.Event()
    if install_signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    tasks = {name: asyncio.create_task(entry(engine), name=f"membot-{name}")
             for name, entry in platforms.items()}
    ops = None
    if http_port:
        ops = OpsServer(engine, http_host, http_port, platforms=lambda: _status(tasks))
        await ops.start()
    _log.info("membot running: %s", ", ".join(tasks) or "no platform")
    code = await _wait(tasks, stop)
    for task in tasks.values():
        task.cancel()
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    if ops is not None:
        await ops.aclose()
    await engine.aclose()
    _log.info("membot stopped")
    return code


async def _wait(tasks: dict[str, asyncio.Task[None]], stop: asyncio.Event) -> int:
    stopper = asyncio.create_task(stop.wait(), name="membot-stop")
    done, _ = await asyncio.wait([stopper, *tasks.values()],
                                 return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    code = 0
    for name, task in tasks.items():
        if task in done:
            exc = task.exception()
            if exc is not None:
                network = isinstance(exc, OSError)  # DNS, refused, TLS: no traceback needed
                _log.error("%s stopped: %s%s", name, exc,
                           " (check the network and the platform's status)" if network else "",
                           exc_info=None if network or isinstance(exc, ConfigError) else exc)
                if isinstance(exc, ConfigError):
                    raise exc
                code = 1
            else:
                _log.warning("%s stopped by itself", name)
    return code


def _status(tasks: dict[str, asyncio.Task[None]]) -> dict[str, Any]:
    return {name: {"running": not task.done()} for name, task in tasks.items()}
