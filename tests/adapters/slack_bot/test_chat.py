"""Chat through signed HTTP requests: DMs, mentions, threads, dedup, long replies, failures."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from agent_core.domain import ChatMessage, Completion
from agent_core.testing import last_user_text, send_message, unreachable_error
from tests.adapters.slack_bot.conftest import Harness


async def test_dm_is_answered_in_the_dm(slack: Harness) -> None:
    await slack.start()
    status, _ = await slack.send.event(slack.dm("hello there"))
    await slack.drain()

    assert status == 200
    [reply] = slack.fake.bot_messages("D1")
    assert reply.text == "echo: hello there"
    assert reply.thread_ts is None  # top level of the DM, the placeholder became the answer
    assert reply.edits == 1


async def test_ack_comes_before_the_agent_finishes(slack: Harness) -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow_complete(messages: Sequence[ChatMessage], tools: object) -> Completion:
        started.set()
        await release.wait()
        return send_message("done")

    await slack.start()
    slack.model.complete = slow_complete  # type: ignore[method-assign]
    status, _ = await slack.send.event(slack.dm("take your time"))
    assert status == 200  # acked while the model is still blocked
    await started.wait()
    [placeholder] = slack.fake.bot_messages("D1")
    assert "Thinking" in placeholder.text
    release.set()
    await slack.drain()
    assert [m.text for m in slack.fake.bot_messages("D1")] == ["done"]


async def test_mention_answers_in_a_thread_and_strips_the_mention(slack: Harness) -> None:
    await slack.start()
    event = slack.channel_msg(slack.mention("what is up?"), kind="app_mention")
    await slack.send.event(event)
    await slack.drain()

    [reply] = slack.fake.bot_messages("C1")
    assert reply.text == "echo: what is up?"
    assert reply.thread_ts == event["ts"]


async def test_channel_message_without_mention_is_ignored(slack: Harness) -> None:
    await slack.start()
    await slack.send.event(slack.channel_msg("just chatting among humans"))
    await slack.drain()
    assert slack.fake.bot_messages() == []
    assert slack.model.calls == []


async def test_mention_delivered_twice_is_answered_once(slack: Harness) -> None:
    await slack.start()
    ts = slack.ts()
    text = slack.mention("only once please")
    await slack.send.event(slack.channel_msg(text, kind="app_mention", ts=ts))
    await slack.send.event(slack.channel_msg(text, ts=ts))  # the `message` twin
    await slack.drain()
    assert [m.text for m in slack.fake.bot_messages("C1")] == ["echo: only once please"]
    assert len(slack.model.calls) == 1


async def test_thread_continues_without_mention_also_after_restart(slack: Harness) -> None:
    await slack.start()
    root = slack.channel_msg(slack.mention("start"), kind="app_mention")
    slack.fake.add_message("C1", root["ts"], root["text"], "U1")
    await slack.send.event(root)
    await slack.drain()

    await slack.send.event(slack.channel_msg("second", thread_ts=root["ts"]))
    await slack.drain()
    await slack.restart()  # the bot forgot which threads it is in: it asks Slack
    await slack.send.event(slack.channel_msg("third", thread_ts=root["ts"]))
    await slack.drain()

    texts = [m.text for m in slack.fake.bot_messages("C1")]
    assert texts == ["echo: start", "echo: second", "echo: third"]
    assert all(m.thread_ts == root["ts"] for m in slack.fake.bot_messages("C1"))
    # user scope: the same agent remembers the whole thread
    assert "second" in str(slack.model.calls[-1].messages)


async def test_thread_the_bot_is_not_in_is_ignored(slack: Harness) -> None:
    await slack.start()
    slack.fake.add_message("C1", "1500000000.000001", "humans only", "U2")
    await slack.send.event(slack.channel_msg("reply", thread_ts="1500000000.000001"))
    await slack.drain()
    assert slack.fake.bot_messages() == []


async def test_retries_are_deduplicated_also_across_a_restart(slack: Harness) -> None:
    await slack.start()
    event = slack.dm("count me once")
    await slack.send.event(event, event_id="EvRETRY1")
    await slack.drain()
    await slack.send.event(event, event_id="EvRETRY1", retry=1)
    await slack.drain()
    await slack.restart()
    status, _ = await slack.send.event(event, event_id="EvRETRY1", retry=2)
    await slack.drain()
    # a new delivery id for the same message (e.g. re-sent by Slack after a restart)
    await slack.send.event(event, event_id="EvOTHER")
    await slack.drain()

    assert status == 200
    assert [m.text for m in slack.fake.bot_messages("D1")] == ["echo: count me once"]
    assert len(slack.model.calls) == 1


async def test_bad_signature_is_refused(slack: Harness) -> None:
    await slack.start()
    body = '{"type": "event_callback", "event": {"type": "message", "text": "hi"}}'
    status, _ = await slack.send.post(body, "application/json", secret="not-the-secret")
    unsigned_status, _ = await slack.send.post(
        body, "application/json", headers={"X-Slack-Signature": "v0=deadbeef"}
    )
    await slack.drain()
    assert status == 401
    assert unsigned_status == 401
    assert slack.fake.bot_messages() == []


async def test_long_reply_is_split_under_slack_limits(slack: Harness) -> None:
    paragraphs = [
        f"Paragraph {i}: " + "lorem ipsum dolor sit amet " * 29 + "end." for i in range(12)
    ]
    long_text = "\n\n".join(paragraphs)
    slack.model.enqueue(send_message(long_text))
    await slack.start()
    await slack.send.event(slack.dm("tell me everything"))
    await slack.drain()

    posted = slack.fake.bot_messages("D1")
    assert len(posted) >= 3
    assert all(len(m.text) <= 3500 for m in posted)
    assert "\n\n".join(m.text for m in posted) == long_text
    assert not slack.fake.errors()


async def test_msg_too_long_on_update_falls_back_to_posting(slack: Harness) -> None:
    slack.fake.update_limit = 2500  # this workspace refuses long edits
    text = "\n\n".join(f"Point {i}. " + "words " * 60 for i in range(8))
    slack.model.enqueue(send_message(text))
    await slack.start()
    await slack.send.event(slack.dm("long please"))
    await slack.drain()

    posted = slack.fake.bot_messages("D1")
    assert [c.error for c in slack.fake.errors()] == ["msg_too_long"]
    assert posted[0].edits == 1 and len(posted[0].text) <= 2500  # placeholder got a part
    assert " ".join(" ".join(m.text.split()) for m in posted) == " ".join(text.split())
    assert all("Thinking" not in m.text for m in posted)


async def test_update_refused_twice_posts_everything(slack: Harness) -> None:
    slack.fake.update_limit = 100
    text = "\n\n".join(f"Point {i}. " + "words " * 60 for i in range(8))
    slack.model.enqueue(send_message(text))
    await slack.start()
    await slack.send.event(slack.dm("long please"))
    await slack.drain()

    posted = slack.fake.bot_messages("D1")
    assert " ".join(" ".join(m.text for m in posted).split()) == " ".join(text.split())
    assert all(m.edits == 0 for m in posted)  # the placeholder was removed instead


async def test_markdown_reply_is_converted_to_mrkdwn(slack: Harness) -> None:
    slack.model.enqueue(send_message("**Bold** and [docs](https://example.com/a)\n- item"))
    await slack.start()
    await slack.send.event(slack.dm("format"))
    await slack.drain()
    [reply] = slack.fake.bot_messages("D1")
    assert reply.text == "*Bold* and <https://example.com/a|docs>\n• item"


async def test_llm_failure_becomes_a_readable_reply(slack: Harness) -> None:
    slack.model.enqueue(unreachable_error(), unreachable_error())
    await slack.start()
    await slack.send.event(slack.dm("are you there?"))
    await slack.drain()

    [reply] = slack.fake.bot_messages("D1")
    assert reply.text.startswith(":warning:")
    assert "language model" in reply.text
    assert "Thinking" not in reply.text


async def test_channel_scope_shares_one_agent_and_names_speakers(slack: Harness) -> None:
    await slack.start(scope="channel")
    await slack.send.event(slack.channel_msg(slack.mention("I am Ada"), kind="app_mention"))
    await slack.drain()
    await slack.send.event(
        slack.channel_msg(slack.mention("and I am Grace"), user="U2", kind="app_mention")
    )
    await slack.drain()

    seen = str(slack.model.calls[-1].messages)
    assert "I am Ada" in seen and "Grace" in seen
    assert last_user_text(slack.model.calls[-1].messages) == "and I am Grace"


async def test_denied_channel_and_disabled_dms_are_ignored(slack: Harness) -> None:
    await slack.start(denied_channels=frozenset({"C1"}), dm_enabled=False)
    await slack.send.event(slack.channel_msg(slack.mention("hi"), kind="app_mention"))
    await slack.send.event(slack.dm("hi"))
    await slack.drain()
    assert slack.fake.bot_messages() == []
