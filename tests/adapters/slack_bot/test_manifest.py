"""The shipped app manifest matches what the bot handles."""

from __future__ import annotations

import re

from adapters.slack_bot.manifest import BOT_SCOPES, render_manifest, shipped_manifest
from adapters.slack_bot.settings import COMMAND_VERBS, SlackSettings


def test_shipped_manifest_is_the_default_rendering() -> None:
    assert shipped_manifest() == render_manifest(SlackSettings())


def test_manifest_declares_every_command_scope_and_event() -> None:
    text = shipped_manifest()
    commands = re.findall(r'- command: "(/[^"]+)"', text)
    assert commands == [f"/{verb}" for verb in COMMAND_VERBS]
    for scope in BOT_SCOPES:
        assert f'- "{scope}"' in text
    for event in ("app_mention", "message.im", "message.channels"):
        assert f'- "{event}"' in text
    assert "socket_mode_enabled: true" in text


def test_http_mode_manifest_points_everything_at_the_request_url() -> None:
    url = "https://bot.example.com/slack/events"
    text = render_manifest(SlackSettings(command_prefix="mb-"), request_url=url)
    assert "socket_mode_enabled: false" in text
    assert text.count(f'"{url}"') == len(COMMAND_VERBS) + 2  # commands, events, interactivity
    assert '- command: "/mb-attach"' in text
