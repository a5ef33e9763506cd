"""A running Slack bot in HTTP mode against the fake Slack, on a real engine."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from adapters.slack_bot import SlackBot, SlackHttpServer, SlackSettings
from agent_core.engine import Engine
from agent_core.testing import ScriptedChatModel, echo_responder
from tests.adapters.slack_bot.fake_slack import FakeSlack, SlackSender

SECRET = "test-signing-secret"


@dataclass
class Harness:
    """The fake Slack, the bot serving HTTP on 127.0.0.1 and what drives them."""

    fake: FakeSlack
    model: ScriptedChatModel
    settings: SlackSettings
    make_engine: Any
    engine: Engine | None = None
    bot: SlackBot | None = None
    server: SlackHttpServer | None = None
    send: SlackSender | None = None
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def start(self, **overrides: Any) -> Harness:
        if overrides:
            self.settings = replace(self.settings, **overrides)
        self.engine = await self.make_engine(chat_model=self.model)
        self.bot = SlackBot(
            self.engine, self.settings, bot_token=self.fake.bot_token, signing_secret=SECRET
        )
        self.server = SlackHttpServer(self.bot, self.settings)
        url = await self.server.start(port=0)
        self.send = SlackSender(url, SECRET, self.fake)
        return self

    async def stop(self) -> None:
        assert self.bot and self.server and self.engine
        await self.server.aclose()
        await self.bot.aclose()
        await self.engine.aclose(grace=5.0)

    async def restart(self) -> None:
        """A process restart: new bot, new engine, same data directory."""
        await self.stop()
        await self.start()

    async def drain(self) -> None:
        assert self.bot
        await self.bot.drain()

    def ts(self) -> str:
        return f"1600000000.{next(self._ts):06d}"

    def dm(self, text: str, user: str = "U1", channel: str = "D1", **kw: Any) -> dict[str, Any]:
        return {
            "type": "message",
            "channel_type": "im",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": kw.pop("ts", None) or self.ts(),
            "team": self.fake.team,
            **kw,
        }

    def channel_msg(
        self, text: str, user: str = "U1", channel: str = "C1", kind: str = "message", **kw: Any
    ) -> dict[str, Any]:
        event = {
            "type": kind,
            "channel": channel,
            "user": user,
            "text": text,
            "ts": kw.pop("ts", None) or self.ts(),
            "team": self.fake.team,
            **kw,
        }
        if kind == "message":
            event["channel_type"] = "channel"
        return event

    def mention(self, text: str) -> str:
        return f"<@{self.fake.bot_user}> {text}"


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    fake.add_user("U1", "Ada")
    fake.add_user("U2", "Grace")
    fake.add_user("UADMIN", "Boss", admin=True)
    yield fake
    await fake.aclose()


@pytest.fixture
async def slack(fake_slack: FakeSlack, make_engine: Any) -> AsyncIterator[Harness]:
    """Not started: call ``await slack.start(**setting_overrides)``."""
    settings = SlackSettings(api_url=fake_slack.api_url, host="127.0.0.1", edit_interval=0.0)
    harness = Harness(fake_slack, ScriptedChatModel(echo_responder), settings, make_engine)
    yield harness
    if harness.bot is not None and harness.server is not None:
        await harness.server.aclose()
        await harness.bot.aclose()
