"""Scope policies, allow/deny lists and the settings' validation."""

from __future__ import annotations

import pytest

from adapters.discord_bot import DiscordSettings
from adapters.discord_bot.routing import conversation_key, location_allowed
from agent_core.domain import ConversationKey
from agent_core.errors import ConfigError


@pytest.mark.parametrize(
    ("policy", "thread_parent", "scope"),
    [
        ("user", None, "u7"),
        ("user", 3, "u7"),
        ("channel", None, "c5"),
        ("channel", 3, "c3"),  # a thread shares its channel's agent
        ("thread", 3, "t5"),
        ("thread", None, "c5"),
    ],
)
def test_scope_policies(policy: str, thread_parent: int | None, scope: str) -> None:
    key = conversation_key(
        policy,
        guild_id=1,
        channel_id=5,
        thread_parent_id=thread_parent,  # type: ignore[arg-type]
        user_id=7,
    )
    assert key == ConversationKey("discord", "1", scope)


@pytest.mark.parametrize("policy", ["user", "channel", "thread"])
def test_direct_messages_are_always_the_users_own_agent(policy: str) -> None:
    key = conversation_key(
        policy,
        guild_id=None,
        channel_id=5,
        thread_parent_id=None,  # type: ignore[arg-type]
        user_id=7,
    )
    assert key == ConversationKey("discord", "dm-7", "u7")
    assert ConversationKey.parse(str(key)) == key


def test_allow_and_deny_lists() -> None:
    s = DiscordSettings(
        allowed_guilds=frozenset({1}), denied_channels=frozenset({9}), dm_enabled=False
    )
    assert location_allowed(s, 1, 5, None)
    assert not location_allowed(s, 2, 5, None)
    assert not location_allowed(s, 1, 9, None)
    assert not location_allowed(s, 1, 11, 9)  # a thread under a denied channel
    assert not location_allowed(s, None, 5, None)
    only = DiscordSettings(allowed_channels=frozenset({5}))
    assert location_allowed(only, 1, 12, 5) and not location_allowed(only, 1, 6, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("scope", "server"),
        ("auto_ingest", "maybe"),
        ("command_sync", "sometimes"),
        ("max_file_bytes", 0),
        ("edit_interval", -1.0),
    ],
)
def test_bad_settings_name_the_key(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as info:
        DiscordSettings(**{field: value})  # type: ignore[arg-type]
    assert info.value.key == field


def test_default_size_limit_follows_the_engine() -> None:
    from agent_core.config import EngineConfig

    assert DiscordSettings().max_file_bytes == EngineConfig(data_dir=".").max_file_bytes  # type: ignore[arg-type]
