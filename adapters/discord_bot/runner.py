"""Entry points the CLI calls: run the bot until cancelled, or only sync slash commands."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from adapters.discord_bot.client import MembotClient
from adapters.discord_bot.settings import DiscordSettings
from adapters.discord_bot.sync import sync_commands
from agent_core.errors import ConfigError

if TYPE_CHECKING:
    from agent_core.engine import Engine

_log = logging.getLogger(__name__)

INTENT_HINT = (
    "Enable the Message Content intent for the bot in the Discord Developer Portal "
    "(Bot > Privileged Gateway Intents)."
)


async def run_discord(engine: Engine, settings: DiscordSettings, token: str) -> None:
    """Run the Discord bot until cancelled; in-flight turns finish before it returns.

    Args:
        engine: the opened engine (the caller closes it afterwards).
        settings: the adapter's settings.
        token: the bot token (``DISCORD_TOKEN``); never logged.

    Raises:
        ConfigError: the token was refused or a privileged intent is not enabled.
    """
    client = MembotClient(engine, settings)
    try:
        await client.start(token, reconnect=True)
    except discord.LoginFailure as exc:
        raise ConfigError(
            "Discord refused the bot token.",
            key="DISCORD_TOKEN",
            hint="Copy the token again from the Developer Portal (Bot > Reset Token).",
        ) from exc
    except discord.PrivilegedIntentsRequired as exc:
        raise ConfigError(
            "Discord refused the Message Content intent.", key="DISCORD_TOKEN", hint=INTENT_HINT
        ) from exc
    finally:
        await client.shutdown()
        _log.info("Discord adapter stopped")


async def sync_discord_commands(engine: Engine, settings: DiscordSettings, token: str) -> int:
    """Push the slash command set to Discord now (``membot discord sync``), without the gateway.

    Returns:
        How many targets (global, or each configured server) were synced.
    """
    client = MembotClient(engine, settings, sync_on_start=False)
    try:
        await client.login(token)
    except discord.LoginFailure as exc:
        raise ConfigError("Discord refused the bot token.", key="DISCORD_TOKEN") from exc
    try:
        return await sync_commands(client.tree, settings, force=True)
    finally:
        await client.close()
