"""The Discord adapter's settings: plain values, built and validated by ``bot.settings``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agent_core.config import DEFAULT_MAX_FILE_BYTES, check_choice
from agent_core.errors import ConfigError

ScopePolicy = Literal["user", "channel", "thread"]
"""Which agent a message goes to: one per user per server, per channel, or per thread."""

AutoIngest = Literal["on", "off", "mention"]
"""Whether files dropped where the bot listens become sources: always, never, or when
the message mentions the bot (DMs count as a mention)."""

CommandSync = Literal["auto", "always", "never"]
"""When slash commands are synced at start: if the command set changed, every start, never."""


@dataclass(frozen=True, slots=True)
class DiscordSettings:
    """Everything the Discord adapter needs besides the engine and the token.

    Attributes:
        scope: scope policy mapping a message to an agent.
        auto_ingest: what happens to PDF/text/Markdown files dropped into a chat.
        allowed_guilds: if not empty, only these servers are served.
        denied_guilds: servers never served.
        allowed_channels: if not empty, only these channels (or threads under them).
        denied_channels: channels (and threads under them) never served.
        admin_role_ids: roles that may delete sources and reset shared agents, besides
            members with Manage Server.
        admin_user_ids: users with the same rights everywhere.
        dm_enabled: whether the bot answers direct messages.
        command_sync: when to push the slash command set to Discord at start.
        sync_guild_ids: servers to sync commands to directly (appear at once; for
            development); empty means global commands.
        max_file_bytes: largest upload accepted.
        edit_interval: minimum seconds between two edits of a progress message.
        ignore_bots: ignore messages from other bots (the bot always ignores itself).
    """

    scope: ScopePolicy = "user"
    auto_ingest: AutoIngest = "on"
    allowed_guilds: frozenset[int] = frozenset()
    denied_guilds: frozenset[int] = frozenset()
    allowed_channels: frozenset[int] = frozenset()
    denied_channels: frozenset[int] = frozenset()
    admin_role_ids: frozenset[int] = frozenset()
    admin_user_ids: frozenset[int] = frozenset()
    dm_enabled: bool = True
    command_sync: CommandSync = "auto"
    sync_guild_ids: frozenset[int] = frozenset()
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    edit_interval: float = 1.0
    ignore_bots: bool = True

    def __post_init__(self) -> None:
        check_choice("scope", self.scope, ("user", "channel", "thread"))
        check_choice("auto_ingest", self.auto_ingest, ("on", "off", "mention"))
        check_choice("command_sync", self.command_sync, ("auto", "always", "never"))
        if self.max_file_bytes <= 0:
            raise ConfigError(
                f"max_file_bytes must be positive, not {self.max_file_bytes}", key="max_file_bytes"
            )
        if self.edit_interval < 0:
            raise ConfigError(
                f"edit_interval must not be negative, not {self.edit_interval}", key="edit_interval"
            )


