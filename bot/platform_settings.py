"""Settings of the Discord and Slack adapters, derived from their dataclasses.

Every field of ``DiscordSettings``/``SlackSettings`` becomes a setting
``discord.<field>``/``slack.<field>`` (TOML section) with an environment variable
``MEMBOT_DISCORD_<FIELD>``/``MEMBOT_SLACK_<FIELD>`` unless renamed below.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from adapters.discord_bot.settings import DiscordSettings
from adapters.slack_bot.settings import SlackSettings
from agent_core.errors import ConfigError

_ENV_NAMES = {
    "discord.admin_role_ids": "MEMBOT_DISCORD_ADMIN_ROLES",
    "discord.admin_user_ids": "MEMBOT_DISCORD_ADMIN_USERS",
    "discord.dm_enabled": "MEMBOT_DISCORD_DMS",
    "discord.sync_guild_ids": "MEMBOT_DISCORD_SYNC_GUILDS",
    "slack.admin_user_ids": "MEMBOT_SLACK_ADMIN_USERS",
    "slack.api_url": "SLACK_API_URL",
}


def _ints(text: str) -> frozenset[int]:
    return frozenset(int(p) for p in text.replace(" ", "").split(",") if p)


def _strs(text: str) -> frozenset[str]:
    return frozenset(p.strip() for p in text.split(",") if p.strip())


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
        raise ValueError("expected true or false")
    return value in ("1", "true", "yes", "on")


_PARSERS: dict[str, Callable[[str], Any]] = {
    "frozenset[int]": _ints, "frozenset[str]": _strs, "bool": _bool, "int": int,
    "float": float, "str | None": str,
}


def platform_fields() -> list[tuple[str, str, Callable[[str], Any], Any]]:
    """(setting name, env var, parser, default None: the dataclass decides) of each field."""
    rows = []
    for section, cls in (("discord", DiscordSettings), ("slack", SlackSettings)):
        for f in dataclasses.fields(cls):
            name = f"{section}.{f.name}"
            env = _ENV_NAMES.get(name, f"MEMBOT_{section.upper()}_{f.name.upper()}")
            rows.append((name, env, _PARSERS.get(str(f.type), str), None))
    return rows


def build(cls: type[Any], section: str, values: dict[str, Any], max_file_bytes: int) -> Any:
    """The adapter settings object; unset upload limits follow the engine's."""
    kwargs = {k.split(".", 1)[1]: v for k, v in values.items()
              if k.startswith(section + ".") and v is not None}
    kwargs.setdefault("max_file_bytes", max_file_bytes)
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        key = f"{section}.{exc.key}" if exc.key else section
        raise ConfigError(f"Invalid setting {key}: {exc.message}", key=key) from exc
