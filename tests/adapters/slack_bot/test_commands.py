"""Slash commands and buttons, sent signed over HTTP; answers arrive at the response URL."""

from __future__ import annotations

from agent_core.domain import ConversationKey, UploadedFile
from tests.adapters.slack_bot.conftest import Harness

NOTES = UploadedFile(
    "notes.md", b"# Notes\n\nThe lighthouse keeper feeds the cat at dawn.\n", "text/markdown"
)


async def _load(slack: Harness, name: str = "notes") -> None:
    assert slack.engine is not None
    await slack.engine.load_source(slack.fake.team, name, [NOTES])


def _conv(slack: Harness, scope: str = "U1") -> ConversationKey:
    return ConversationKey("slack", slack.fake.team, scope)


async def _answers(slack: Harness, rid: str) -> list[dict]:
    await slack.drain()
    return slack.fake.responses[rid]


async def test_help_lists_every_command_ephemerally(slack: Harness) -> None:
    await slack.start()
    rid, status = await slack.send.command("/membot-help")
    [answer] = await _answers(slack, rid)
    assert status == 200
    assert answer["response_type"] == "ephemeral"
    for name in ("/attach", "/detach", "/sources", "/memory", "/reset", "/forget"):
        assert name in answer["text"]
    assert "/delete-source" in answer["text"]


async def test_command_prefix_renames_the_commands(slack: Harness) -> None:
    await slack.start(command_prefix="mb-")
    rid, _ = await slack.send.command("/mb-membot-help")
    [answer] = await _answers(slack, rid)
    assert "/mb-attach" in answer["text"]
    rid, status = await slack.send.command("/attach", "x")
    await slack.drain()
    assert slack.fake.responses[rid] == []  # not ours any more: Bolt answers 404
    assert status == 404


async def test_memory_shows_core_memory(slack: Harness) -> None:
    await slack.start()
    rid, _ = await slack.send.command("/memory")
    [answer] = await _answers(slack, rid)
    assert answer["response_type"] == "ephemeral"
    assert "*Core memory*" in answer["text"]
    assert "persona" in answer["text"]


async def test_sources_lists_with_buttons_and_attach_button_attaches(slack: Harness) -> None:
    await slack.start()
    await _load(slack)
    rid, _ = await slack.send.command("/sources")
    [answer] = await _answers(slack, rid)
    button = answer["blocks"][2]["accessory"]
    assert button["text"]["text"] == "Attach" and button["value"] == "notes"

    rid, status = await slack.send.click(button)
    [refreshed] = await _answers(slack, rid)
    assert status == 200
    assert refreshed["replace_original"] is True
    assert refreshed["blocks"][2]["accessory"]["text"]["text"] == "Detach"
    assert [s.name for s in await slack.engine.attached(_conv(slack))] == ["notes"]

    rid, _ = await slack.send.click(refreshed["blocks"][2]["accessory"])
    await slack.drain()
    assert await slack.engine.attached(_conv(slack)) == []


async def test_attach_and_detach_commands(slack: Harness) -> None:
    await slack.start()
    await _load(slack)
    rid, _ = await slack.send.command("/attach", "notes")
    [attached] = await _answers(slack, rid)
    assert "Attached *notes*" in attached["text"]
    rid, _ = await slack.send.command("/attach", "nope")
    [missing] = await _answers(slack, rid)
    assert missing["text"].startswith(":warning:") and "nope" in missing["text"]
    rid, _ = await slack.send.command("/detach", "notes")
    [detached] = await _answers(slack, rid)
    assert "Detached *notes*" in detached["text"]
    rid, _ = await slack.send.command("/attach")
    [usage] = await _answers(slack, rid)
    assert usage["text"].startswith("Usage: `/attach NAME`")


async def test_reset_gives_a_fresh_agent(slack: Harness) -> None:
    await slack.start()
    await slack.send.event(slack.dm("remember the word kiwi"))
    await slack.drain()
    before = await slack.engine.memory(_conv(slack))
    rid, _ = await slack.send.command("/reset")
    [answer] = await _answers(slack, rid)
    after = await slack.engine.memory(_conv(slack))
    assert "fresh agent" in answer["text"]
    assert after.agent_id != before.agent_id and after.messages < before.messages


async def test_forget_asks_then_deletes(slack: Harness) -> None:
    await slack.start()
    await slack.send.event(slack.dm("my secret is 42"))
    await slack.drain()
    before = await slack.engine.memory(_conv(slack))
    rid, _ = await slack.send.command("/forget")
    [prompt] = await _answers(slack, rid)
    button = prompt["blocks"][1]["elements"][0]
    assert button["style"] == "danger" and "confirm" in button
    assert (await slack.engine.memory(_conv(slack))).agent_id == before.agent_id  # not yet

    rid, _ = await slack.send.click(button)
    [done] = await _answers(slack, rid)
    assert "deleted" in done["text"]
    assert (await slack.engine.memory(_conv(slack))).agent_id != before.agent_id


async def test_shared_agent_reset_needs_an_admin(slack: Harness) -> None:
    await slack.start(scope="channel")
    rid, _ = await slack.send.command("/reset", user="U1", channel="C1")
    [refused] = await _answers(slack, rid)
    assert refused["text"].startswith(":warning: Only workspace admins")
    rid, _ = await slack.send.command("/reset", user="UADMIN", channel="C1")
    [done] = await _answers(slack, rid)
    assert "fresh agent" in done["text"]


async def test_delete_source_is_admin_only(slack: Harness) -> None:
    await slack.start(admin_user_ids=frozenset({"U2"}))
    await _load(slack)
    rid, _ = await slack.send.command("/delete-source", "notes", user="U1")
    [refused] = await _answers(slack, rid)
    assert "Only workspace admins" in refused["text"]
    assert [s.name for s in await slack.engine.sources(slack.fake.team)] == ["notes"]

    rid, _ = await slack.send.command("/delete-source", "notes", user="U2")  # configured admin
    [done] = await _answers(slack, rid)
    assert "Deleted source *notes*" in done["text"]
    assert await slack.engine.sources(slack.fake.team) == []


async def test_thread_scope_command_in_a_channel_explains(slack: Harness) -> None:
    await slack.start(scope="thread")
    rid, _ = await slack.send.command("/memory", channel="C1")
    [answer] = await _answers(slack, rid)
    assert "every thread has its own agent" in answer["text"]
