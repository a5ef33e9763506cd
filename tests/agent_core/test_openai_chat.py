"""The real `openai` client against a local OpenAI-compatible server."""

from __future__ import annotations

import json

import pytest

from agent_core.backends.openai_chat import OpenAIChatModel
from agent_core.domain import ChatMessage, ConversationKey, IncomingMessage
from agent_core.errors import ContextWindowExceededError, LLMError
from agent_core.testing import FakeOpenAIServer, HttpReply, call_tool, send_message
from tests.conftest import MakeEngine

CONV = ConversationKey("test", "w", "u")


def model_for(server: FakeOpenAIServer, **kw: object) -> OpenAIChatModel:
    return OpenAIChatModel("test-model", api_key="test-key", base_url=server.base_url,
                           retry_base_delay=0.01, **kw)  # type: ignore[arg-type]


async def test_a_whole_turn_over_http_with_tool_chaining(make_engine: MakeEngine) -> None:
    async with FakeOpenAIServer() as server:
        server.enqueue(call_tool("core_memory_append", heartbeat=True, label="human",
                                 content="Prefers metric units."),
                       send_message("Noted, metric it is."))
        engine = await make_engine(chat_model=model_for(server))
        result = await engine.handle(IncomingMessage(CONV, "Use metric units with me."))
        assert result.text == "Noted, metric it is."
        second = server.requests[1]
        assert second["messages"][-1]["role"] == "tool"
        assert json.loads(second["messages"][-1]["content"])["status"] == "OK"
        assert "Prefers metric units." in second["messages"][0]["content"]
        assert {t["function"]["name"] for t in second["tools"]} >= {"send_message",
                                                                    "archival_memory_search"}


async def test_retries_rate_limits_and_server_errors() -> None:
    async with FakeOpenAIServer() as server:
        server.enqueue(HttpReply(429, {"error": {"message": "slow down"}},
                                 {"retry-after": "0.01"}),
                       HttpReply(503, {"error": {"message": "overloaded"}}),
                       send_message("finally"))
        completion = await model_for(server).complete([ChatMessage("user", "hi")], [])
        assert completion.message.tool_calls[0].name == "send_message"
        assert len(server.requests) == 3


async def test_errors_are_readable() -> None:
    async with FakeOpenAIServer(api_key="right") as server:
        with pytest.raises(LLMError, match="refused the API key") as info:
            await model_for(server, max_retries=0).complete([ChatMessage("user", "hi")], [])
        assert "OPENAI_API_KEY" in info.value.user_message()
    unreachable = OpenAIChatModel("m", api_key="k", base_url="http://127.0.0.1:9/v1",
                                  max_retries=1, retry_base_delay=0.01)
    with pytest.raises(LLMError, match="Cannot reach") as info:
        await unreachable.complete([ChatMessage("user", "hi")], [])
    assert "OPENAI_BASE_URL" in info.value.user_message()


async def test_context_overflow_is_recognised() -> None:
    async with FakeOpenAIServer(context_chars=100) as server:
        with pytest.raises(ContextWindowExceededError):
            await model_for(server).complete([ChatMessage("user", "x" * 500)], [])


async def test_usage_is_reported() -> None:
    async with FakeOpenAIServer() as server:
        server.enqueue(send_message("hi"))
        completion = await model_for(server).complete([ChatMessage("user", "x" * 400)], [])
        assert completion.usage is not None and completion.usage.prompt_tokens > 50


async def test_300_turns_stay_inside_the_window_and_all_stay_in_recall(
        make_engine: MakeEngine) -> None:
    window = 2048

    def responder(body: dict[str, object]) -> object:
        if not body.get("tools"):  # the summarizer's request
            return _summary()
        return send_message("ok")

    async with FakeOpenAIServer(responder, context_chars=window * 4) as server:
        engine = await make_engine(chat_model=model_for(server), context_window=window)
        for turn in range(300):
            await engine.handle(IncomingMessage(CONV, f"turn {turn}: codeword w{turn}x "
                                                + "filler " * 15))
        assert server.overflows == 0
        view = await engine.memory(CONV)
        assert view.summary.startswith("Summary:")
        assert view.messages >= 900  # user + assistant + tool result per turn, all kept
        found, total = await engine.state.search_messages(view.agent_id, "w7x", 5, 0)
        assert total == 1 and "turn 7" in (found[0].content or "")
        biggest = max(sum(len(m.get("content") or "") for m in r["messages"])  # type: ignore
                      for r in server.requests)
        assert biggest <= window * 4


def _summary() -> object:
    from agent_core.testing import plain_text

    return plain_text("Summary: the user counted turns with codewords.")
