"""Files shared in Slack become sources an attached agent then finds."""

from __future__ import annotations

from typing import Any

from agent_core.testing import call_tool, send_message
from tests.adapters.slack_bot.conftest import Harness

NOTES = (
    b"# Lighthouse notes\n\nThe lighthouse keeper feeds the orange cat every morning at dawn.\n\n"
    b"The lamp is cleaned on Sundays with vinegar and old newspapers.\n"
)


def _share(slack: Harness, files: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return slack.dm("", subtype="file_share", files=files, **kw)


async def test_shared_file_becomes_a_source_an_attached_agent_finds(slack: Harness) -> None:
    await slack.start()
    file = slack.fake.add_file("F1", "Lighthouse Notes.md", NOTES, "text/markdown")
    await slack.send.event(_share(slack, [file]))
    await slack.drain()

    [source] = await slack.engine.sources(slack.fake.team)
    assert source.name == "lighthouse-notes" and source.passages >= 1
    [summary] = slack.fake.bot_messages("D1")
    assert ":white_check_mark: Loaded" in summary.text and "lighthouse-notes" in summary.text
    button = summary.blocks[1]["elements"][0]
    assert button["value"] == "lighthouse-notes"

    rid, _ = await slack.send.click(button)
    await slack.drain()
    assert "Attached *lighthouse-notes*" in slack.fake.responses[rid][0]["text"]
    assert slack.fake.responses[rid][0]["replace_original"] is False  # the summary stays

    slack.model.enqueue(
        call_tool("archival_memory_search", heartbeat=True, query="who feeds the cat?"),
        send_message("The keeper does, at dawn."),
    )
    await slack.send.event(slack.dm("Who feeds the cat?"))
    await slack.drain()
    tool_result = str(slack.model.calls[-1].messages[-1].content)
    assert "lighthouse keeper feeds the orange cat" in tool_result
    assert slack.fake.bot_messages("D1")[-1].text == "The keeper does, at dawn."
    slack.model.assert_complete()


async def test_file_in_a_channel_reports_progress_in_its_thread(slack: Harness) -> None:
    await slack.start()
    file = slack.fake.add_file("F2", "guide.txt", NOTES, "text/plain")
    event = slack.channel_msg("", subtype="file_share", files=[file])
    await slack.send.event(event)
    await slack.drain()

    [summary] = slack.fake.bot_messages("C1")
    assert summary.thread_ts == event["ts"]
    assert summary.edits >= 1  # the progress message became the summary
    assert [s.name for s in await slack.engine.sources(slack.fake.team)] == ["guide"]


async def test_login_page_means_missing_files_read_scope(slack: Harness) -> None:
    await slack.start()
    file = slack.fake.add_file(
        "F3", "paper.pdf", b"%PDF-1.7 ...", "application/pdf", login_page=True
    )
    await slack.send.event(_share(slack, [file]))
    await slack.drain()

    [summary] = slack.fake.bot_messages("D1")
    assert "files:read" in summary.text and ":warning:" in summary.text
    assert await slack.engine.sources(slack.fake.team) == []


async def test_too_large_and_unsupported_files_are_refused_without_download(
    slack: Harness,
) -> None:
    await slack.start(max_file_bytes=1000)
    big = slack.fake.add_file("F4", "big.txt", b"x " * 1000, "text/plain")
    image = slack.fake.add_file("F5", "cat.png", b"\x89PNG....", "image/png")
    await slack.send.event(_share(slack, [big, image]))
    await slack.drain()

    [summary] = slack.fake.bot_messages("D1")
    assert "big.txt is 2.0 KiB; the limit is 1000 bytes" in summary.text
    assert "cat.png is not a document I can read" in summary.text
    assert await slack.engine.sources(slack.fake.team) == []


async def test_files_in_channels_need_a_mention_when_so_configured(slack: Harness) -> None:
    await slack.start(auto_ingest="mention")
    file = slack.fake.add_file("F6", "quiet.txt", NOTES, "text/plain")
    await slack.send.event(slack.channel_msg("", subtype="file_share", files=[file]))
    await slack.drain()
    assert await slack.engine.sources(slack.fake.team) == []

    event = slack.channel_msg(slack.mention("keep this"), subtype="file_share", files=[file])
    await slack.send.event(event)
    await slack.drain()
    assert [s.name for s in await slack.engine.sources(slack.fake.team)] == ["quiet"]
    assert slack.model.calls == []
