"""The Discord adapter: a persistent agent per user, slash commands, uploads as sources.

Names are imported on first use so that reading the settings does not load discord.py.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "MembotClient": "adapters.discord_bot.client",
    "default_intents": "adapters.discord_bot.client",
    "run_discord": "adapters.discord_bot.runner",
    "sync_discord_commands": "adapters.discord_bot.runner",
    "AutoIngest": "adapters.discord_bot.settings",
    "CommandSync": "adapters.discord_bot.settings",
    "DiscordSettings": "adapters.discord_bot.settings",
    "ScopePolicy": "adapters.discord_bot.settings",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(name)
