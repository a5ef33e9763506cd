"""``run_slack`` in Socket Mode over a real WebSocket to the fake Slack, and its start rules."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from adapters.slack_bot import SlackSettings, run_slack
from agent_core.errors import ConfigError
from agent_core.testing import ScriptedChatModel, echo_responder
from tests.adapters.slack_bot.fake_slack import FakeSlack


async def test_socket_mode_serves_events_and_commands(fake_slack: FakeSlack, make_engine: Any):
    engine = await make_engine(chat_model=ScriptedChatModel(echo_responder))
    settings = SlackSettings(api_url=fake_slack.api_url)
    ready = asyncio.Event()
    task = asyncio.create_task(
        run_slack(
            engine,
            settings,
            bot_token=fake_slack.bot_token,
            app_token=fake_slack.app_token,
            ready=ready,
        ),
        name="run-slack-test",
    )
    try:
        await asyncio.wait_for(ready.wait(), 30)
        await asyncio.wait_for(fake_slack.connected.wait(), 30)
        event = {
            "type": "message",
            "channel_type": "im",
            "channel": "D9",
            "user": "U1",
            "text": "over the socket",
            "ts": "1600000000.000001",
        }
        body = {
            "team_id": fake_slack.team,
            "event": event,
            "type": "event_callback",
            "event_id": "EvSOCKET1",
            "api_app_id": "A0APP",
        }
        ack = await asyncio.wait_for(fake_slack.socket_send("events_api", body), 30)
        assert "envelope_id" in ack
        await asyncio.wait_for(
            fake_slack.wait_until(
                lambda: any(
                    m.text == "echo: over the socket" for m in fake_slack.bot_messages("D9")
                )
            ),
            30,
        )

        rid, url = fake_slack.response_url()
        command = {
            "command": "/membot-help",
            "text": "",
            "team_id": fake_slack.team,
            "user_id": "U1",
            "channel_id": "D9",
            "response_url": url,
        }
        await asyncio.wait_for(fake_slack.socket_send("slash_commands", command), 30)
        await asyncio.wait_for(fake_slack.wait_until(lambda: fake_slack.responses[rid]), 30)
        assert "/attach" in fake_slack.responses[rid][0]["text"]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert task.cancelled()


async def test_http_mode_needs_a_signing_secret(fake_slack: FakeSlack, make_engine: Any):
    engine = await make_engine()
    settings = SlackSettings(api_url=fake_slack.api_url)
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        await run_slack(engine, settings, bot_token=fake_slack.bot_token)
    with pytest.raises(ConfigError, match="xapp-"):
        await run_slack(engine, settings, bot_token=fake_slack.bot_token, app_token="xoxb-no")
    with pytest.raises(ConfigError, match="xoxb-"):
        await run_slack(engine, settings, bot_token="xapp-wrong", signing_secret="s")


async def test_http_mode_listens_until_cancelled(fake_slack: FakeSlack, make_engine: Any):
    import aiohttp

    engine = await make_engine()
    settings = SlackSettings(api_url=fake_slack.api_url, host="127.0.0.1", port=_free_port())
    ready = asyncio.Event()
    task = asyncio.create_task(
        run_slack(
            engine, settings, bot_token=fake_slack.bot_token, signing_secret="s", ready=ready
        ),
        name="run-slack-http-test",
    )
    await asyncio.wait_for(ready.wait(), 30)
    url = f"http://127.0.0.1:{settings.port}/healthz"
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        assert await resp.text() == "ok"
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(url)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
