"""Every slash command, dispatched as INTERACTION_CREATE payloads into the command tree."""

from __future__ import annotations

from adapters.discord_bot import DiscordSettings
from agent_core.domain import UploadedFile
from agent_core.testing import ScriptedChatModel, echo_responder
from tests.adapters.discord_bot import gateway as gw
from tests.adapters.discord_bot.conftest import MakeWorld, World


def source_option(value: str) -> list[dict[str, object]]:
    return [{"name": "source", "type": 3, "value": value}]


async def with_source(world: World, name: str = "handbook") -> None:
    text = b"# Handbook\n\nThe office plant is named Gerald and drinks on Tuesdays.\n"
    await world.client.engine.load_source(
        str(world.guild_id), name, [UploadedFile("handbook.md", text, "text/markdown")]
    )


async def test_help_answers_at_once_and_privately(make_world: MakeWorld) -> None:
    world = await make_world()
    record = await world.command("help")
    assert record.callbacks[0]["type"] == 4
    assert record.ephemeral
    assert "/attach" in record.text and "/memory" in record.text
    assert "`/load file [name]`" in record.text and "/delete" in record.text


async def test_sources_attach_detach_round_trip(make_world: MakeWorld) -> None:
    world = await make_world()
    empty = await world.command("sources")
    assert empty.callbacks[0]["type"] == 5  # deferred within the deadline
    assert "No sources yet" in empty.text
    await with_source(world)
    attached = await world.command("attach", options=source_option("handbook"))
    assert "Attached `handbook`" in attached.text
    listing = await world.command("sources")
    assert "**handbook** (attached)" in listing.text
    memory = await world.command("memory")
    assert memory.ephemeral and "handbook" in memory.text and "Core memory" in memory.text
    detached = await world.command("detach", options=source_option("handbook"))
    assert "Detached `handbook`" in detached.text
    again = await world.command("detach", options=source_option("handbook"))
    assert again.text.startswith("⚠️") and "not attached" in again.text


async def test_attaching_an_unknown_source_explains_what_to_do(make_world: MakeWorld) -> None:
    world = await make_world()
    record = await world.command("attach", options=source_option("nope"))
    assert record.text.startswith("⚠️")
    assert "no source named 'nope'" in record.text and "/sources" in record.text


async def test_source_names_autocomplete(make_world: MakeWorld) -> None:
    world = await make_world()
    await with_source(world, "handbook")
    await with_source(world, "hr-policies")
    choices = await world.autocomplete("attach", "source", "hand")
    assert [c["value"] for c in choices] == ["handbook"]
    assert [c["value"] for c in await world.autocomplete("detach", "source", "")] == []


async def test_reset_asks_then_starts_a_fresh_agent(make_world: MakeWorld) -> None:
    world = await make_world(chat_model=ScriptedChatModel(echo_responder))
    await world.say("alice", "remember me", mention=True)
    before = await world.client.engine.memory(key_of(world, "alice"))
    question = await world.command("reset")
    assert question.ephemeral and "fresh agent" in question.text
    assert (await world.client.engine.memory(key_of(world, "alice"))).agent_id == before.agent_id
    await world.click(question, "Reset")
    assert question.text.startswith("🔄 Fresh start")
    after = await world.client.engine.memory(key_of(world, "alice"))
    assert after.agent_id != before.agent_id and after.messages < before.messages


async def test_forget_cancel_changes_nothing_and_confirm_deletes(make_world: MakeWorld) -> None:
    world = await make_world(chat_model=ScriptedChatModel(echo_responder))
    await world.say("alice", "my secret is 42", mention=True)
    key = key_of(world, "alice")
    kept = await world.client.engine.memory(key)
    question = await world.command("forget")
    await world.click(question, "Cancel")
    assert "nothing was changed" in question.text
    assert (await world.client.engine.memory(key)).messages == kept.messages
    question = await world.command("forget")
    stranger = await world.click(question, "Delete everything", who="bob")
    assert stranger.callbacks[0]["type"] == 4 and "Only the person" in stranger.text
    await world.click(question, "Delete everything")
    assert question.text.startswith("🗑️")
    gone = await world.client.engine.memory(key)
    assert gone.agent_id != kept.agent_id and gone.messages == 0


async def test_deleting_a_source_needs_manage_server(make_world: MakeWorld) -> None:
    world = await make_world()
    await with_source(world)
    refused = await world.command("delete", "alice", options=source_option("handbook"))
    assert refused.callbacks[0]["type"] == 4 and refused.ephemeral
    assert "Manage Server" in refused.text
    assert [s.name for s in await world.client.engine.sources(str(world.guild_id))] == ["handbook"]
    manager = await world.command(
        "delete",
        "bob",
        options=source_option("handbook"),
        permissions=gw.MEMBER_PERMISSIONS | gw.MANAGE_GUILD,
    )
    assert "Deleted source `handbook`" in manager.text
    assert await world.client.engine.sources(str(world.guild_id)) == []


async def test_a_configured_admin_role_may_delete_sources(make_world: MakeWorld) -> None:
    world = await make_world()
    world.client.settings = DiscordSettings(
        command_sync="never", admin_role_ids=frozenset({world.admin_role})
    )
    await with_source(world)
    record = await world.command("delete", "carol", options=source_option("handbook"))
    assert "Deleted source" in record.text


async def test_resetting_a_shared_agent_needs_manage_server(make_world: MakeWorld) -> None:
    world = await make_world(settings=DiscordSettings(scope="channel", command_sync="never"))
    refused = await world.command("reset", "alice")
    assert "Manage Server" in refused.text and not refused.original["components"]
    allowed = await world.command("reset", "bob", permissions=gw.MANAGE_GUILD)
    assert allowed.original["components"]


async def test_commands_in_a_denied_channel_are_refused(make_world: MakeWorld) -> None:
    world = await make_world()
    world.client.settings = DiscordSettings(
        command_sync="never", denied_channels=frozenset({world.random})
    )
    record = await world.command("memory", channel=world.random)
    assert record.callbacks[0]["type"] == 4 and "not enabled in this channel" in record.text


async def test_commands_work_in_direct_messages(make_world: MakeWorld) -> None:
    world = await make_world()
    record = await world.command("sources", channel=-1)
    assert "No sources yet" in record.text


def key_of(world: World, who: str):  # type: ignore[no-untyped-def]
    from agent_core.domain import ConversationKey

    return ConversationKey("discord", str(world.guild_id), f"u{world.uid(who)}")
