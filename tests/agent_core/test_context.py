from __future__ import annotations

from datetime import UTC, datetime

from agent_core.context import TokenCounter, eviction_cut, inline_tool_calls, sanitize_window
from agent_core.domain import StoredMessage, ToolCall

T = datetime(2024, 1, 1, tzinfo=UTC)


def msg(i: int, role: str, text: str = "hello there", calls: tuple[ToolCall, ...] = (),
        call_id: str | None = None) -> StoredMessage:
    return StoredMessage(i, "a", role, text, T, calls, call_id)  # type: ignore[arg-type]


def conversation(turns: int) -> list[StoredMessage]:
    out: list[StoredMessage] = []
    for t in range(turns):
        call = ToolCall(f"c{t}", "send_message", '{"message": "hi"}')
        out += [msg(3 * t, "user", "question " * 20),
                msg(3 * t + 1, "assistant", "thinking", (call,)),
                msg(3 * t + 2, "tool", "ok", call_id=f"c{t}")]
    return out


def test_eviction_takes_about_three_quarters_and_never_splits_a_tool_pair() -> None:
    window = conversation(10)
    counter = TokenCounter()
    cut = eviction_cut(window, counter)
    kept = window[cut:]
    assert kept[0].role != "tool"
    evicted_tokens = counter.messages(window[:cut])
    assert evicted_tokens >= 0.7 * counter.messages(window)
    assert len(kept) >= 3


def test_eviction_keeps_the_last_messages() -> None:
    window = conversation(1)
    assert eviction_cut(window, TokenCounter()) == 0


def test_sanitize_drops_orphan_tool_results() -> None:
    window = conversation(2)[2:]  # starts with the tool result of turn 0
    clean = sanitize_window(window)
    assert clean[0].role == "user"
    assert [m.id for m in clean] == [3, 4, 5]


def test_calibration_follows_reported_usage() -> None:
    counter = TokenCounter()
    before = counter.text("x" * 3600)
    for _ in range(20):
        counter.calibrate(counter.text("x" * 3600), 500)
    assert counter.text("x" * 3600) < before
    assert abs(counter.text("x" * 3600) - 500) < 60


def test_tool_call_written_as_text_is_recognised() -> None:
    calls = inline_tool_calls('```json\n{"name": "send_message", "arguments": '
                              '{"message": "hi"}}\n```', ["send_message"])
    assert len(calls) == 1 and calls[0].name == "send_message"
    assert '"hi"' in calls[0].arguments
    assert inline_tool_calls('{"name": "rm_rf", "arguments": {}}', ["send_message"]) == ()
    assert inline_tool_calls("Sure! Here you go.", ["send_message"]) == ()
