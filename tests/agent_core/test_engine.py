"""The agent loop end to end: real SQLite, real Milvus Lite, the real embedding model."""

from __future__ import annotations

import json

from agent_core.domain import ConversationKey, IncomingMessage, Reply
from agent_core.testing import (
    ScriptedChatModel,
    call_tool,
    overflow_error,
    plain_text,
    raw_calls,
    send_message,
    unreachable_error,
)
from tests.conftest import MakeEngine

ALICE = ConversationKey("test", "w1", "alice")
BOB = ConversationKey("test", "w1", "bob")


def msg(text: str, conv: ConversationKey = ALICE, mid: str | None = None) -> IncomingMessage:
    return IncomingMessage(conv, text, message_id=mid)


def tool_results(model: ScriptedChatModel, call: int) -> list[dict[str, object]]:
    """The tool results the model saw in its ``call``-th request."""
    return [json.loads(m.content or "{}") for m in model.calls[call].messages
            if m.role == "tool"]


async def test_core_memory_survives_a_restart(make_engine: MakeEngine) -> None:
    model = ScriptedChatModel().enqueue(
        call_tool("core_memory_append", heartbeat=True, label="human",
                  content="Name: Ada. Works on the Q3 budget."),
        send_message("Nice to meet you, Ada!"))
    engine = await make_engine(chat_model=model)
    result = await engine.handle(msg("Hi, I'm Ada and I work on the Q3 budget."))
    assert [r.text for r in result.replies] == ["Nice to meet you, Ada!"]
    await engine.aclose()

    model2 = ScriptedChatModel().enqueue(send_message("You're Ada."))
    engine2 = await make_engine(chat_model=model2)
    await engine2.handle(msg("Who am I?"))
    system = model2.calls[0].messages[0].content or ""
    assert "Name: Ada. Works on the Q3 budget." in system
    view = await engine2.memory(ALICE)
    assert view.messages >= 6  # user, assistant, tool ... from both days


async def test_recall_search_finds_a_message_hundreds_of_turns_ago(
        make_engine: MakeEngine) -> None:
    model = ScriptedChatModel(lambda m: send_message("ok"))
    engine = await make_engine(chat_model=model, context_window=4096)
    await engine.handle(msg("The budget for the offsite is 4200 euros, approved by Maria."))
    for i in range(300):
        await engine.handle(msg(f"Small talk number {i} about the weather."))
    model.enqueue(call_tool("conversation_search", heartbeat=True, query="offsite budget"),
                  send_message("It was 4200 euros."))
    calls_before = len(model.calls)
    await engine.handle(msg("What did I say about the offsite budget?"))
    result = tool_results(model, calls_before + 1)[-1]
    assert result["status"] == "OK"
    assert "4200 euros" in str(result["message"])
    assert "of 2 " in str(result["message"])  # the fact and the question: a real total


async def test_archival_memory_is_found_by_meaning_and_isolated(make_engine: MakeEngine) -> None:
    model = ScriptedChatModel()
    engine = await make_engine(chat_model=model)
    model.enqueue(call_tool("archival_memory_insert", heartbeat=True,
                            content="Alice's daughter Emma is allergic to peanuts."),
                  send_message("Noted."))
    await engine.handle(msg("Please remember Emma's peanut allergy."))
    model.enqueue(call_tool("archival_memory_search", heartbeat=True,
                            query="food restrictions of my kid"),
                  send_message("Emma is allergic to peanuts."))
    n = len(model.calls)
    await engine.handle(msg("Any food issues with my child?"))
    found = tool_results(model, n + 1)[-1]
    assert "allergic to peanuts" in str(found["message"])
    assert "of 1 " in str(found["message"])

    model.enqueue(call_tool("archival_memory_search", heartbeat=True, query="peanut allergy"),
                  send_message("I know nothing about that."))
    n = len(model.calls)
    await engine.handle(msg("Does anyone have allergies?", BOB))
    bob_sees = tool_results(model, n + 1)[-1]
    assert "peanut" not in str(bob_sees["message"]).lower()
    assert "empty" in str(bob_sees["message"])


async def test_heartbeat_chain_stops_at_the_step_limit(make_engine: MakeEngine) -> None:
    looping = ScriptedChatModel(lambda m: call_tool("conversation_search", heartbeat=True,
                                                    query="anything"))
    engine = await make_engine(chat_model=looping, max_steps=4)
    replies: list[Reply] = []

    async def collect(r: Reply) -> None:
        replies.append(r)

    result = await engine.handle(msg("loop forever please"), on_reply=collect)
    assert len(looping.calls) == 4
    assert result.steps == 4
    assert [r.kind for r in replies] == ["notice"]
    assert "stopped after 4 steps" in replies[0].text
    # the agent is told about the limit in its next turn
    looping.responder = lambda m: send_message("sorry")
    await engine.handle(msg("hello?"))
    assert "limit of 4 function calls" in (looping.calls[-1].messages[-2].content or "")


async def test_malformed_outputs_become_messages_the_model_can_fix(
        make_engine: MakeEngine) -> None:
    model = ScriptedChatModel().enqueue(
        raw_calls(("send_message", '{"message": "unterminated')),
        raw_calls(("launch_rockets", "{}")),
        raw_calls(("core_memory_append", '{"label": "human"}')),
        raw_calls(("core_memory_append", '{"label": "human", "content": "likes tea", '
                                         '"request_heartbeat": false}'),
                  ("send_message", '{"message": "Got it: tea."}')),
    )
    engine = await make_engine(chat_model=model)
    result = await engine.handle(msg("I like tea"))
    assert [r.text for r in result.replies] == ["Got it: tea."]
    errors = [tool_results(model, i)[-1]["message"] for i in (1, 2, 3)]
    assert "not valid JSON" in str(errors[0])
    assert "No function named 'launch_rockets'" in str(errors[1])
    assert "Missing required argument" in str(errors[2])
    assert "likes tea" in (await engine.memory(ALICE)).blocks[1].value
    model.assert_complete()


async def test_plain_text_and_json_text_answers_reach_the_user(make_engine: MakeEngine) -> None:
    model = ScriptedChatModel().enqueue(
        plain_text("Hello from a model without tools."),
        plain_text('{"name": "send_message", "arguments": {"message": "hi from JSON"}}'),
        plain_text(""), send_message("after an empty answer"))
    engine = await make_engine(chat_model=model)
    assert (await engine.handle(msg("a"))).text == "Hello from a model without tools."
    assert (await engine.handle(msg("b"))).text == "hi from JSON"
    assert (await engine.handle(msg("c"))).text == "after an empty answer"


async def test_core_memory_limit_gives_an_actionable_error(make_engine: MakeEngine) -> None:
    model = ScriptedChatModel().enqueue(
        call_tool("core_memory_append", heartbeat=True, label="human", content="x" * 2500),
        send_message("ok"))
    engine = await make_engine(chat_model=model)
    await engine.handle(msg("remember a lot"))
    error = str(tool_results(model, 1)[-1]["message"])
    assert "over its limit of 2000" in error and "archival_memory_insert" in error


async def test_llm_failure_is_a_readable_reply_and_the_message_is_kept(
        make_engine: MakeEngine) -> None:
    model = ScriptedChatModel().enqueue(unreachable_error())
    engine = await make_engine(chat_model=model)
    result = await engine.handle(msg("are you there?"))
    assert result.replies[0].kind == "error"
    assert "Cannot reach the model endpoint" in result.replies[0].text
    model.enqueue(call_tool("conversation_search", heartbeat=True, query="there"),
                  send_message("yes"))
    await engine.handle(msg("second try"))
    assert "are you there?" in str(tool_results(model, 2)[-1]["message"])


async def test_provider_overflow_evicts_and_retries(make_engine: MakeEngine) -> None:
    model = ScriptedChatModel(lambda m: send_message("ok"))
    engine = await make_engine(chat_model=model)
    for i in range(12):
        await engine.handle(msg(f"message {i} " + "words " * 30))
    before = (await engine.memory(ALICE)).in_context
    model.enqueue(overflow_error(), plain_text("summary: twelve messages of words"),
                  send_message("still here"))
    result = await engine.handle(msg("and now?"))
    assert result.text == "still here"
    view = await engine.memory(ALICE)
    assert view.in_context < before
    assert "twelve messages" in view.summary


async def test_duplicate_platform_message_is_answered_once(make_engine: MakeEngine) -> None:
    model = ScriptedChatModel(lambda m: send_message("once"))
    engine = await make_engine(chat_model=model)
    first = await engine.handle(msg("hi", mid="m-1"))
    again = await engine.handle(msg("hi", mid="m-1"))
    assert first.text == "once" and again.duplicate and again.replies == ()
    assert len(model.calls) == 1


async def test_reset_and_forget(make_engine: MakeEngine) -> None:
    model = ScriptedChatModel(lambda m: send_message("ok")).enqueue(
        call_tool("archival_memory_insert", heartbeat=True, content="secret plan"),
        send_message("saved"))
    engine = await make_engine(chat_model=model)
    await engine.handle(msg("save my secret plan"))
    first_id = (await engine.memory(ALICE)).agent_id
    await engine.reset(ALICE)
    view = await engine.memory(ALICE)
    assert view.agent_id != first_id and view.messages == 0 and view.archival == 0
    await engine.forget(ALICE)
    assert await engine.state.get_agent(first_id) is None
    assert await engine.archive.count([first_id]) == 0


async def test_workspace_persona_and_idle_agents_leave_memory(make_engine: MakeEngine) -> None:
    model = ScriptedChatModel(lambda m: send_message("ok"))
    engine = await make_engine(chat_model=model, workspace_personas=(("w1", "doc_qa"),),
                               idle_seconds=0.0)
    await engine.handle(msg("hi"))
    assert "document research assistant" in (model.calls[0].messages[0].content or "")
    assert engine.loaded_agents == 1
    await engine.handle(msg("hi", BOB))  # loading Bob sweeps idle Alice out of memory
    assert engine.loaded_agents == 1
    view = await engine.memory(ALICE)  # and she is read back from disk intact
    assert view.messages == 3
