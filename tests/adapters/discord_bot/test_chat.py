"""Chatting with the bot: DMs, mentions, threads, replies split at Discord's limit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from adapters.discord_bot import DiscordSettings
from agent_core.domain import ChatMessage, Completion
from agent_core.errors import LLMError
from agent_core.testing import ScriptedChatModel, echo_responder, last_user_text, send_message
from tests.adapters.discord_bot.conftest import MakeWorld


async def test_dm_gets_the_agents_reply(make_world: MakeWorld) -> None:
    world = await make_world(chat_model=ScriptedChatModel(echo_responder))
    await world.say("alice", "hello there", dm=True)
    assert world.fake.posted(world.dms["alice"]) == ["echo: hello there"]
    assert world.dms["alice"] in world.fake.typing


async def test_mention_in_a_channel_is_answered_without_the_mention(make_world: MakeWorld) -> None:
    world = await make_world(chat_model=ScriptedChatModel(echo_responder))
    await world.say("alice", "what is 2+2?", mention=True)
    assert world.fake.posted(world.general) == ["echo: what is 2+2?"]
    sent = world.fake.messages[world.general][0]
    assert sent["allowed_mentions"]["parse"] == []  # the agent can never ping @everyone
    assert "message_reference" not in sent  # a quiet channel: no need to quote


async def test_channel_chatter_other_bots_and_itself_are_ignored(make_world: MakeWorld) -> None:
    model = ScriptedChatModel(echo_responder)
    world = await make_world(chat_model=model)
    await world.say("alice", "just talking to bob")
    await world.say("otherbot", "beep", mention=True)
    world.people["self"] = world.bot
    world.members["self"] = world.members["alice"] | {"user": world.bot}
    await world.say("self", "my own words", mention=True)
    assert world.fake.posted(world.general) == []
    assert model.calls == []


async def test_threads_the_bot_started_are_answered_without_mention(make_world: MakeWorld) -> None:
    world = await make_world(chat_model=ScriptedChatModel(echo_responder))
    await world.say("alice", "in the bot's thread", channel=world.bot_thread)
    await world.say("bob", "not yet", channel=world.other_thread)
    assert world.fake.posted(world.bot_thread) == ["echo: in the bot's thread"]
    assert world.fake.posted(world.other_thread) == []
    # once mentioned in a thread, the bot keeps listening there
    await world.say("bob", "join us", channel=world.other_thread, mention=True)
    await world.say("bob", "and now?", channel=world.other_thread)
    assert world.fake.posted(world.other_thread) == ["echo: join us", "echo: and now?"]


async def test_user_scope_gives_each_user_their_own_agent(make_world: MakeWorld) -> None:
    model = ScriptedChatModel(echo_responder)
    world = await make_world(chat_model=model)
    await world.say("alice", "my name is Alice", mention=True)
    await world.say("bob", "who am I?", mention=True)
    bob_context = " ".join(m.content or "" for m in model.calls[-1].messages)
    assert "my name is Alice" not in bob_context


async def test_channel_scope_shares_an_agent_that_knows_who_speaks(make_world: MakeWorld) -> None:
    model = ScriptedChatModel(echo_responder)
    world = await make_world(
        chat_model=model, settings=DiscordSettings(scope="channel", command_sync="never")
    )
    await world.say("alice", "I like tea", mention=True)
    await world.say("bob", "what does Alice like?", mention=True)
    contents = [m.content or "" for m in model.calls[-1].messages if m.role == "user"]
    packed = [json.loads(c) for c in contents if c.startswith("{")]
    speakers = {(p.get("name"), p.get("user_id")) for p in packed}
    assert ("Alice", str(world.uid("alice"))) in speakers
    assert ("Bob", str(world.uid("bob"))) in speakers


async def test_long_replies_are_split_at_2000_chars_without_breaking_code(
    make_world: MakeWorld,
) -> None:
    code = "```python\n" + "\n".join(f"print({i})  # step {i}" for i in range(250)) + "\n```"
    text = "Here is the script.\n\n" + code + "\n\n" + "That is all. " * 50
    world = await make_world(chat_model=ScriptedChatModel().enqueue(send_message(text)))
    await world.say("alice", "write me a long script", dm=True)
    posted = world.fake.posted(world.dms["alice"])
    assert len(posted) >= 3
    assert all(len(p) <= 2000 for p in posted)
    assert all(p.count("```") % 2 == 0 for p in posted)
    assert "print(249)" in posted[-2] + posted[-1]
    assert world.fake.rejections == []


async def test_llm_failure_becomes_a_readable_reply(make_world: MakeWorld) -> None:
    model = ScriptedChatModel().enqueue(
        LLMError("The model endpoint is unreachable.", status=503, hint="Check MEMBOT_BASE_URL.")
    )
    world = await make_world(chat_model=model)
    await world.say("alice", "are you there?", mention=True)
    [posted] = world.fake.posted(world.general)
    assert posted.startswith("⚠️ ")
    assert "unreachable" in posted


async def test_a_replayed_message_is_never_answered_twice(make_world: MakeWorld) -> None:
    model = ScriptedChatModel(echo_responder)
    world = await make_world(chat_model=model)
    payload = await world.say("alice", "once", dm=True)
    world.client._connection.parse_message_create(payload)  # gateway replay after a resume
    await world.client.drain()
    world.client._seen.clear()  # a restarted process: only the engine remembers
    world.client._connection.parse_message_create(payload)
    await world.client.drain()
    assert world.fake.posted(world.dms["alice"]) == ["echo: once"]
    assert len(model.calls) == 1


class GatedModel:
    """Answers echo, but holds Alice's first turn until Bob has been answered."""

    model = "gated"

    def __init__(self) -> None:
        self.bob_answered = asyncio.Event()

    async def complete(
        self, messages: Sequence[ChatMessage], tools: Sequence[dict[str, Any]]
    ) -> Completion:
        text = last_user_text(messages)
        if text == "alice 1":
            await asyncio.wait_for(self.bob_answered.wait(), 30)
        if text == "bob 2":
            self.bob_answered.set()
        return echo_responder(messages)


async def test_two_users_at_once_each_get_their_own_replies_in_order(
    make_world: MakeWorld,
) -> None:
    world = await make_world(chat_model=GatedModel())
    for text in ("alice 1", "alice 2"):
        world.post("alice", text, mention=True)
    for text in ("bob 1", "bob 2"):
        world.post("bob", text, mention=True)
    await world.client.drain()
    posted = world.fake.posted(world.general)
    assert [p for p in posted if "alice" in p] == ["echo: alice 1", "echo: alice 2"]
    assert [p for p in posted if "bob" in p] == ["echo: bob 1", "echo: bob 2"]
    assert posted.index("echo: bob 2") < posted.index("echo: alice 1")  # Bob was not blocked
    # Alice's answers came after others had written: they quote her messages
    alice_msgs = [m for m in world.fake.messages[world.general] if "alice" in m["content"]]
    assert all("message_reference" in m for m in alice_msgs)


async def test_denied_channels_and_servers_are_ignored(make_world: MakeWorld) -> None:
    model = ScriptedChatModel(echo_responder)
    world = await make_world(chat_model=model)
    object.__setattr__(
        world.client,
        "settings",
        DiscordSettings(command_sync="never", denied_channels=frozenset({world.random})),
    )
    await world.say("alice", "hello?", channel=world.random, mention=True)
    await world.say("alice", "hello!", mention=True)
    assert world.fake.posted(world.random) == []
    assert world.fake.posted(world.general) == ["echo: hello!"]
