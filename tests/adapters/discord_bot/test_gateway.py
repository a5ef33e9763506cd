"""The real client loop over a fake gateway: start, reconnect and resume, clean shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import discord
import pytest
import yarl

from adapters.discord_bot import DiscordSettings, run_discord
from agent_core.domain import ChatMessage, Completion
from agent_core.errors import ConfigError
from agent_core.testing import echo_responder, last_user_text
from tests.adapters.discord_bot import gateway as gw
from tests.adapters.discord_bot.conftest import TOKEN, World, build_world
from tests.adapters.discord_bot.fake_discord import FakeDiscord
from tests.adapters.discord_bot.fake_gateway import FakeGateway


class HeldModel:
    """Echoes, but holds turns whose text starts with "slow" until released."""

    model = "held"

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.holding = asyncio.Event()

    async def complete(
        self, messages: Sequence[ChatMessage], tools: Sequence[dict[str, Any]]
    ) -> Completion:
        if last_user_text(messages).startswith("slow"):
            self.holding.set()
            await asyncio.wait_for(self.release.wait(), 30)
        return echo_responder(messages)


@pytest.fixture
async def world(fake: FakeDiscord) -> World:
    return build_world(fake, None)


@pytest.fixture
async def gateway(world: World, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeGateway]:
    ready = {
        "v": 10,
        "user": world.bot,
        "guilds": [{"id": str(world.guild_id), "unavailable": True}],
        "application": {"id": str(world.app_id), "flags": 0},
    }
    server = FakeGateway(TOKEN, ready, [world.guild_payload])
    await server.start()
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(server.url))
    yield server
    await server.close()


def mention(world: World, who: str, text: str) -> dict[str, Any]:
    payload = gw.message(
        world.general,
        world.people[who],
        f"<@{world.bot_id}> {text}",
        guild_id=world.guild_id,
        author_member=world.members[who],
        mentions=[world.bot],
    )
    world.fake.seen_messages.add(int(payload["id"]))
    return payload


async def test_run_discord_survives_reconnects_and_finishes_turns_on_shutdown(
    world: World,
    gateway: FakeGateway,
    make_engine: Any,
) -> None:
    model = HeldModel()
    engine = await make_engine(chat_model=model)
    settings = DiscordSettings(command_sync="auto")
    bot = asyncio.create_task(run_discord(engine, settings, TOKEN), name="test-discord")
    await asyncio.wait_for(gateway.connected.wait(), 30)
    assert {c["name"] for c in world.fake.commands} >= {"attach", "memory", "load"}

    await gateway.dispatch("MESSAGE_CREATE", mention(world, "alice", "first"))
    await world.fake.wait_for(lambda: world.fake.posted(world.general) == ["echo: first"])

    # Discord asks for a reconnect; on resume it re-sends the last message once more
    await gateway.request_reconnect(rewind=1)
    await asyncio.wait_for(gateway.connected.wait(), 30)
    assert gateway.resumes == 1 and gateway.identifies == 1
    await gateway.dispatch("MESSAGE_CREATE", mention(world, "bob", "second"))
    await world.fake.wait_for(lambda: len(world.fake.posted(world.general)) >= 2)
    assert world.fake.posted(world.general) == ["echo: first", "echo: second"]

    # shutting down while a turn is running: the turn finishes and its reply is posted
    await gateway.dispatch("MESSAGE_CREATE", mention(world, "carol", "slow question"))
    await asyncio.wait_for(model.holding.wait(), 30)
    bot.cancel()
    await asyncio.sleep(0)
    model.release.set()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(bot, 30)
    assert world.fake.posted(world.general)[-1] == "echo: slow question"


async def test_missing_message_content_intent_is_a_clear_config_error(
    world: World,
    gateway: FakeGateway,
    make_engine: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import adapters.discord_bot.client as client_module

    def no_content() -> discord.Intents:
        intents = discord.Intents.default()
        intents.message_content = False
        return intents

    monkeypatch.setattr(client_module, "default_intents", no_content)
    engine = await make_engine()
    with pytest.raises(ConfigError) as info:
        await asyncio.wait_for(
            run_discord(engine, DiscordSettings(command_sync="never"), TOKEN), 30
        )
    assert "Message Content" in info.value.user_message()


async def test_a_wrong_token_is_a_clear_config_error(
    world: World,
    gateway: FakeGateway,
    make_engine: Any,
) -> None:
    engine = await make_engine()
    with pytest.raises(ConfigError) as info:
        await run_discord(engine, DiscordSettings(command_sync="never"), "not-the-token")
    assert info.value.key == "DISCORD_TOKEN"
    assert "not-the-token" not in info.value.user_message()
