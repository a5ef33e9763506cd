"""Slash commands are uploaded only when the set changed, or when asked."""

from __future__ import annotations

from adapters.discord_bot import DiscordSettings
from adapters.discord_bot.sync import sync_commands
from tests.adapters.discord_bot.conftest import MakeWorld

EXPECTED = {"attach", "detach", "sources", "load", "memory", "reset", "forget", "delete", "help"}


async def test_auto_sync_uploads_once_then_only_when_changed(make_world: MakeWorld) -> None:
    world = await make_world()
    fake, tree = world.fake, world.client.tree
    auto = DiscordSettings(command_sync="auto")
    assert await sync_commands(tree, auto) == 1
    assert {c["name"] for c in fake.commands} == EXPECTED
    load = next(c for c in fake.commands if c["name"] == "load")
    assert [o["type"] for o in load["options"]] == [11, 3]  # attachment, then optional name
    attach = next(c for c in fake.commands if c["name"] == "attach")
    assert attach["options"][0]["autocomplete"] is True
    assert await sync_commands(tree, auto) == 0  # unchanged: nothing uploaded
    assert fake.command_puts == 1
    fake.commands = [
        c | {"description": "old text"} if c["name"] == "help" else c for c in fake.commands
    ]
    assert await sync_commands(tree, auto) == 1
    assert fake.command_puts == 2


async def test_never_and_forced_sync(make_world: MakeWorld) -> None:
    world = await make_world()
    never = DiscordSettings(command_sync="never")
    assert await sync_commands(world.client.tree, never) == 0
    assert world.fake.command_puts == 0
    assert await sync_commands(world.client.tree, never, force=True) == 1
    assert world.fake.command_puts == 1


async def test_guild_sync_copies_the_commands_to_each_server(make_world: MakeWorld) -> None:
    world = await make_world()
    settings = DiscordSettings(command_sync="always", sync_guild_ids=frozenset({world.guild_id}))
    assert await sync_commands(world.client.tree, settings) == 1
    assert ("PUT", f"/api/v10/applications/{world.app_id}/guilds/{world.guild_id}/commands") in (
        world.fake.requests
    )
    assert {c["name"] for c in world.fake.commands} == EXPECTED
