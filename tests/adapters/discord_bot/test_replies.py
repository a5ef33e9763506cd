"""Status messages: created once, edited in place, intermediate edits throttled."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from adapters.discord_bot.replies import Status, reply_text
from agent_core.domain import Reply


def recording_status(interval: float) -> tuple[Status, list[str]]:
    shown: list[str] = []

    async def post(text: str) -> Callable[[str], Awaitable[object]]:
        shown.append("post:" + text)

        async def edit(new: str) -> object:
            shown.append("edit:" + new)
            return None

        return edit

    return Status(post, interval), shown


async def test_intermediate_updates_are_throttled_but_the_final_one_always_shows() -> None:
    status, shown = recording_status(interval=3600.0)
    await status.update("starting")
    for i in range(50):
        await status.update(f"step {i}")
    await status.update("done", final=True)
    assert shown == ["post:starting", "edit:done"]


async def test_without_throttle_every_change_is_shown_once() -> None:
    status, shown = recording_status(interval=0.0)
    for text in ("a", "a", "b", "x" * 2500):
        await status.update(text)
    assert shown[:2] == ["post:a", "edit:b"]
    assert len(shown) == 3 and len(shown[2]) == len("edit:") + 2000  # cut to one message


def test_errors_and_notices_are_marked() -> None:
    assert reply_text(Reply("hi")) == "hi"
    assert reply_text(Reply("model down", "error")) == "⚠️ model down"
    assert reply_text(Reply("memory saved", "notice")).startswith("ℹ️ ")
