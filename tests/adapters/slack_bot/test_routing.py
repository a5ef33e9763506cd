"""Event routing and scope policies, without Slack."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.slack_bot.routing import (
    conversation_for,
    conversation_for_command,
    route_event,
)
from adapters.slack_bot.settings import SlackSettings
from agent_core.domain import ConversationKey
from agent_core.errors import ConfigError

BOT = "UBOT"


async def _never(channel: str, thread_ts: str, parent: str | None) -> bool:
    return False


def _body(**event: Any) -> dict[str, Any]:
    base = {"type": "message", "channel": "C1", "user": "U1", "ts": "2.0", "text": "hi"}
    return {"team_id": "T1", "event_id": "Ev1", "event": {**base, **event}}


async def _route(settings: SlackSettings | None = None, **event: Any):
    return await route_event(_body(**event), BOT, settings or SlackSettings(), _never)


async def test_edits_bots_and_the_bot_itself_are_ignored() -> None:
    assert await _route(subtype="message_changed", text=f"<@{BOT}> x") is None
    assert await _route(bot_id="B2", text=f"<@{BOT}> x") is None
    assert await _route(user=BOT, channel_type="im") is None
    bots_ok = SlackSettings(ignore_bots=False)
    assert await _route(bots_ok, bot_id="B2", text=f"<@{BOT}> x") is not None


async def test_bare_mention_without_text_is_ignored() -> None:
    assert await _route(text=f"<@{BOT}>", type="app_mention") is None


async def test_allowed_channels_limit_channels_not_dms() -> None:
    only_c2 = SlackSettings(allowed_channels=frozenset({"C2"}))
    assert await _route(only_c2, text=f"<@{BOT}> x") is None
    assert await _route(only_c2, channel="D1", channel_type="im") is not None


@pytest.mark.parametrize(
    ("scope", "event", "expected"),
    [
        ("user", {}, "U1"),
        ("channel", {}, "C1"),
        ("thread", {}, "C1-2.0"),  # a channel mention starts a thread
        ("thread", {"thread_ts": "1.0"}, "C1-1.0"),
        ("thread", {"channel": "D1", "channel_type": "im"}, "D1"),
    ],
)
async def test_scope_policies(scope: str, event: dict[str, Any], expected: str) -> None:
    settings = SlackSettings(scope=scope)  # type: ignore[arg-type]
    route = await _route(settings, text=f"<@{BOT}> x", **event)
    assert route is not None
    assert conversation_for(route.place, settings) == ConversationKey("slack", "T1", expected)


def test_commands_in_thread_scope_have_no_agent_in_channels() -> None:
    thread = SlackSettings(scope="thread")
    assert conversation_for_command("T1", "U1", "C1", thread) is None
    assert conversation_for_command("T1", "U1", "D1", thread) == ConversationKey(
        "slack", "T1", "D1"
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"scope": "team"},
        {"command_prefix": "Bad Prefix"},
        {"port": 0},
        {"path": "events"},
        {"max_message_chars": 5000},
        {"api_url": "ftp://x"},
        {"auto_ingest": "always"},
    ],
)
def test_bad_settings_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        SlackSettings(**bad)
