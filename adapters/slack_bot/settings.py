"""The Slack adapter's settings: plain values, built and validated by ``bot.settings``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from agent_core.config import DEFAULT_MAX_FILE_BYTES, check_choice
from agent_core.errors import ConfigError

ScopePolicy = Literal["user", "channel", "thread"]
"""Which agent a message goes to: one per user per workspace, per channel, or per thread."""

AutoIngest = Literal["on", "off", "mention"]
"""Whether files shared where the bot listens become sources: always, never, or only when
the message mentions the bot (direct messages count as a mention)."""

COMMAND_VERBS: tuple[str, ...] = (
    "attach",
    "detach",
    "sources",
    "memory",
    "reset",
    "forget",
    "delete-source",
    "membot-help",
)
"""Base names of the slash commands; ``command_prefix`` is put in front of each."""

SLACK_TEXT_LIMIT = 3500
"""Practical length of one Slack message: ``chat.update`` fails near 4k characters."""

_PREFIX = re.compile(r"^[a-z0-9_-]{0,20}$")


@dataclass(frozen=True, slots=True)
class SlackSettings:
    """Everything the Slack adapter needs besides the engine and the tokens.

    Attributes:
        scope: scope policy mapping a message to an agent.
        auto_ingest: what happens to PDF/text/Markdown files shared in a chat.
        command_prefix: put in front of every slash command name (``"mb-"`` gives
            ``/mb-attach``) so the commands do not clash with other apps.
        allowed_channels: if not empty, only these channel ids are served (DMs aside).
        denied_channels: channel ids never served.
        admin_user_ids: users who may delete sources and reset shared agents, besides
            workspace admins and owners.
        dm_enabled: whether the bot answers direct messages.
        ignore_bots: ignore messages from other bots (the bot always ignores itself).
        max_file_bytes: largest shared file accepted.
        max_message_chars: longest text put into one Slack message.
        edit_interval: minimum seconds between two edits of a progress message.
        port: HTTP mode: the port to listen on.
        host: HTTP mode: the interface to listen on.
        path: HTTP mode: the path for events, commands and interactions.
        api_url: the Web API base URL (GovSlack, tests); ``None`` is Slack's.
    """

    scope: ScopePolicy = "user"
    auto_ingest: AutoIngest = "on"
    command_prefix: str = ""
    allowed_channels: frozenset[str] = frozenset()
    denied_channels: frozenset[str] = frozenset()
    admin_user_ids: frozenset[str] = frozenset()
    dm_enabled: bool = True
    ignore_bots: bool = True
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_message_chars: int = SLACK_TEXT_LIMIT
    edit_interval: float = 1.0
    port: int = 3000
    host: str = "0.0.0.0"
    path: str = "/slack/events"
    api_url: str | None = None

    def __post_init__(self) -> None:
        check_choice("scope", self.scope, ("user", "channel", "thread"))
        check_choice("auto_ingest", self.auto_ingest, ("on", "off", "mention"))
        if not _PREFIX.match(self.command_prefix):
            raise ConfigError(
                f"command_prefix {self.command_prefix!r} is not valid: use at most 20 lowercase "
                "letters, digits, '-' or '_'",
                key="command_prefix",
            )
        _check_positive("max_file_bytes", self.max_file_bytes)
        if not 200 <= self.max_message_chars <= 3900:
            raise ConfigError(
                f"max_message_chars must be between 200 and 3900, not {self.max_message_chars}",
                key="max_message_chars",
            )
        if self.edit_interval < 0:
            raise ConfigError(
                f"edit_interval must not be negative, not {self.edit_interval}", key="edit_interval"
            )
        if not 0 < self.port < 65536:
            raise ConfigError(f"port must be between 1 and 65535, not {self.port}", key="port")
        if not self.path.startswith("/"):
            raise ConfigError(f"path must start with '/', not {self.path!r}", key="path")
        if self.api_url is not None and not self.api_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"api_url must be an http(s) URL, not {self.api_url!r}", key="api_url"
            )

    def command(self, verb: str) -> str:
        """The slash command for ``verb`` (one of ``COMMAND_VERBS``), e.g. ``/attach``."""
        if verb not in COMMAND_VERBS:
            raise ValueError(f"unknown command verb {verb!r}")
        return f"/{self.command_prefix}{verb}"

    @property
    def web_api_url(self) -> str:
        """The Web API base URL, ending with a slash as ``AsyncWebClient`` wants it."""
        url = self.api_url or "https://slack.com/api/"
        return url if url.endswith("/") else url + "/"


def _check_positive(key: str, value: int) -> None:
    if value <= 0:
        raise ConfigError(f"{key} must be positive, not {value}", key=key)
