"""Files dropped into a chat or given to /load become sources an agent can search."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.discord_bot import DiscordSettings
from agent_core.domain import ChatMessage, Completion
from agent_core.testing import ScriptedChatModel, call_tool, send_message
from tests.adapters.discord_bot.conftest import MakeWorld, World

HANDBOOK = (
    b"# Office handbook\n\n"
    b"The office plant is named Gerald. Gerald is watered every Tuesday by the intern.\n\n"
    b"Parking spaces are assigned by the facilities team on the first Monday of the month.\n"
)


def searching_agent(messages: Sequence[ChatMessage]) -> Completion:
    """Searches archival memory, then sends what it found."""
    last = messages[-1]
    if last.role == "tool":
        return send_message("found: " + (last.content or ""))
    return call_tool("archival_memory_search", heartbeat=True, query="what is the plant called")


def final_status(world: World, channel: int) -> str:
    return world.fake.messages[channel][-1]["content"]


async def test_dropped_file_becomes_a_source_an_attached_agent_finds(make_world: MakeWorld) -> None:
    world = await make_world(chat_model=ScriptedChatModel(searching_agent))
    file = world.attach_file("Office Handbook.md", HANDBOOK, "text/markdown")
    await world.say("alice", "", attachments=[file])
    [status] = world.fake.messages[world.general]
    assert status["content"].startswith("✅ Loaded")
    assert (
        "'office-handbook'" in status["content"] and "/attach office-handbook" in status["content"]
    )
    assert status.get("edits", 0) >= 1  # the progress message was edited in place
    assert status["message_reference"]["message_id"]  # it answers the upload
    await world.command(
        "attach", options=[{"name": "source", "type": 3, "value": "office-handbook"}]
    )
    await world.say("alice", "what is the office plant called?", mention=True)
    answer = world.fake.posted(world.general)[-1]
    assert answer.startswith("found:") and "Gerald" in answer


async def test_bad_uploads_get_a_clear_reply(make_world: MakeWorld) -> None:
    world = await make_world(settings=DiscordSettings(command_sync="never", max_file_bytes=1000))
    image = world.attach_file("cat.png", b"\x89PNG....", "image/png")
    await world.say("alice", "", attachments=[image])  # not addressed: images are not our business
    assert world.fake.posted(world.general) == []
    await world.say("alice", "load this", attachments=[image], mention=True)
    big = world.attach_file("huge.pdf", b"%PDF-1.4 " + b"x" * 2000, "application/pdf")
    await world.say("bob", "", attachments=[big])
    broken = world.attach_file("broken.pdf", b"this is not a pdf at all", "application/pdf")
    await world.say("carol", "", attachments=[broken])
    posted = world.fake.posted(world.general)
    assert "cat.png" in posted[0] and "unsupported file type" in posted[0]
    assert "huge.pdf" in posted[2] and "too large" in posted[2] and "limit is" in posted[2]
    assert posted[3].startswith("⚠️") and "broken.pdf" in posted[3]
    assert all(s.passages == 0 for s in await world.client.engine.sources(str(world.guild_id)))


async def test_ingest_modes(make_world: MakeWorld) -> None:
    world = await make_world(settings=DiscordSettings(command_sync="never", auto_ingest="mention"))
    file = world.attach_file("notes.txt", b"Some notes about the launch plan.", "text/plain")
    await world.say("alice", "", attachments=[file])
    assert await world.client.engine.sources(str(world.guild_id)) == []
    await world.say("alice", "", attachments=[file], mention=True)
    assert [s.name for s in await world.client.engine.sources(str(world.guild_id))] == ["notes"]
    world.client.settings = DiscordSettings(command_sync="never", auto_ingest="off")
    other = world.attach_file("other.txt", b"Other notes.", "text/plain")
    await world.say("alice", "", attachments=[other], mention=True)
    assert len(await world.client.engine.sources(str(world.guild_id))) == 1


async def test_an_upload_is_ingested_once_even_if_replayed(make_world: MakeWorld) -> None:
    world = await make_world()
    file = world.attach_file("notes.md", b"# Notes\n\nRemember the milk.", "text/markdown")
    payload = await world.say("alice", "", attachments=[file])
    world.client._seen.clear()
    world.client._connection.parse_message_create(payload)
    await world.client.drain()
    assert len(world.fake.messages[world.general]) == 1
    [source] = await world.client.engine.sources(str(world.guild_id))
    assert source.files == 1


async def test_load_command_reports_progress_and_summary(make_world: MakeWorld) -> None:
    world = await make_world(chat_model=ScriptedChatModel(searching_agent))
    file = world.attach_file("handbook.md", HANDBOOK, "text/markdown")
    options = [
        {"name": "file", "type": 11, "value": file["id"]},
        {"name": "name", "type": 3, "value": "rules"},
    ]
    record = await world.command(
        "load",
        options=options,
        resolved={"attachments": {file["id"]: file}},
        done=lambda r: r.text.startswith(("✅", "⚠️")),
    )
    assert record.callbacks[0]["type"] == 5 and not record.ephemeral
    assert any(e.startswith("⏳") for e in record.original_edits)
    assert "into 'rules'" in record.text
    assert [s.name for s in await world.client.engine.sources(str(world.guild_id))] == ["rules"]


async def test_load_command_refuses_unsupported_files(make_world: MakeWorld) -> None:
    world = await make_world()
    file = world.attach_file("song.mp3", b"ID3....", "audio/mpeg")
    record = await world.command(
        "load",
        options=[{"name": "file", "type": 11, "value": file["id"]}],
        resolved={"attachments": {file["id"]: file}},
    )
    assert record.callbacks[0]["type"] == 4 and record.ephemeral
    assert "song.mp3" in record.text and "unsupported file type" in record.text
