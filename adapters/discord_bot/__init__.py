"""The Discord adapter: a persistent agent per user, slash commands, uploads as sources."""

from __future__ import annotations

from adapters.discord_bot.client import MembotClient, default_intents
from adapters.discord_bot.runner import run_discord, sync_discord_commands
from adapters.discord_bot.settings import AutoIngest, CommandSync, DiscordSettings, ScopePolicy

__all__ = [
    "AutoIngest",
    "CommandSync",
    "DiscordSettings",
    "MembotClient",
    "ScopePolicy",
    "default_intents",
    "run_discord",
    "sync_discord_commands",
]
