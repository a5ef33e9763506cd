"""Test doubles shipped with membot: a scripted chat model and a local OpenAI-compatible server.

``ScriptedChatModel`` implements the ``ChatModel`` port in-process.
``FakeOpenAIServer`` speaks the real ``/v1/chat/completions`` HTTP protocol on
127.0.0.1 so the real ``openai`` client can be driven end to end; it is strict about
the requests it accepts (auth, message order, tool call ids), like the real service.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from agent_core.domain import ChatMessage, Completion, ToolCall, Usage
from agent_core.errors import ContextWindowExceededError, LLMError

Responder = Callable[[Sequence[ChatMessage]], Completion]


def call_tool(name: str, heartbeat: bool = False, thinking: str | None = None,
              **arguments: Any) -> Completion:
    """A completion that calls one tool (``request_heartbeat`` added unless send_message)."""
    if name != "send_message":
        arguments["request_heartbeat"] = heartbeat
    call = ToolCall(f"call_{uuid.uuid4().hex[:12]}", name, json.dumps(arguments))
    return Completion(ChatMessage("assistant", thinking, (call,)), None, "tool_calls")


def send_message(text: str, thinking: str | None = None) -> Completion:
    """A completion that sends ``text`` to the user."""
    return call_tool("send_message", thinking=thinking, message=text)


def plain_text(text: str) -> Completion:
    """A completion with text and no tool call."""
    return Completion(ChatMessage("assistant", text), None, "stop")


def raw_calls(*calls: tuple[str, str], content: str | None = None) -> Completion:
    """A completion with tool calls whose arguments are given as raw text (may be invalid)."""
    tool_calls = tuple(ToolCall(f"call_{uuid.uuid4().hex[:12]}", n, a) for n, a in calls)
    return Completion(ChatMessage("assistant", content, tool_calls), None, "tool_calls")


def last_user_text(messages: Sequence[ChatMessage]) -> str:
    """The text of the last user message (unpacked from membot's JSON envelope)."""
    for m in reversed(messages):
        if m.role == "user" and m.content:
            try:
                packed = json.loads(m.content)
            except json.JSONDecodeError:
                return m.content
            if isinstance(packed, dict) and packed.get("type") == "user_message":
                return str(packed.get("message", ""))
    return ""


def echo_responder(messages: Sequence[ChatMessage]) -> Completion:
    """Answers every turn with ``echo: <last user text>``."""
    return send_message("echo: " + last_user_text(messages))


@dataclass
class RecordedCall:
    """One request a scripted model received."""

    messages: list[ChatMessage]
    tools: list[dict[str, Any]]


class ScriptedChatModel:
    """A ``ChatModel`` that answers from a queue, then from ``responder`` if given."""

    def __init__(self, responder: Responder | None = None, model: str = "scripted") -> None:
        self.model = model
        self.responder = responder
        self.queue: deque[Completion | BaseException] = deque()
        self.calls: list[RecordedCall] = []

    def enqueue(self, *items: Completion | BaseException) -> ScriptedChatModel:
        """Queue completions (or exceptions to raise) for the next calls."""
        self.queue.extend(items)
        return self

    async def complete(self, messages: Sequence[ChatMessage],
                       tools: Sequence[dict[str, Any]]) -> Completion:
        """The next queued completion; raises queued exceptions."""
        self.calls.append(RecordedCall(list(messages), list(tools)))
        if self.queue:
            item = self.queue.popleft()
            if isinstance(item, BaseException):
                raise item
            return item
        if self.responder is not None:
            return self.responder(messages)
        raise AssertionError("ScriptedChatModel: no completion queued for this call")

    def assert_complete(self) -> None:
        """Fail if queued completions were never requested."""
        assert not self.queue, f"{len(self.queue)} scripted completion(s) were not used"


def overflow_error() -> ContextWindowExceededError:
    """The error a provider's context overflow becomes."""
    return ContextWindowExceededError("The prompt is longer than the model's context window.")


def unreachable_error() -> LLMError:
    """The error an unreachable endpoint becomes."""
    return LLMError("Cannot reach the model endpoint.", retryable=True)


@dataclass
class HttpReply:
    """A scripted raw HTTP answer of the fake server (errors, odd payloads)."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


ServerItem = Completion | HttpReply
ServerResponder = Callable[[dict[str, Any]], ServerItem | Awaitable[ServerItem]]


class FakeOpenAIServer:
    """A local ``/v1/chat/completions`` server. Use as ``async with FakeOpenAIServer() as s``.

    ``s.base_url`` goes to ``OPENAI_BASE_URL``; ``s.requests`` holds the JSON bodies
    received. ``latency`` seconds are slept per request; ``max_concurrency`` makes
    excess concurrent requests wait (like a provider's concurrency cap);
    ``context_chars`` rejects prompts longer than that with the provider's overflow error.
    """

    def __init__(self, responder: ServerResponder | None = None, *, api_key: str = "test-key",
                 latency: float = 0.0, max_concurrency: int | None = None,
                 context_chars: int | None = None) -> None:
        self.responder = responder
        self.api_key = api_key
        self.latency = latency
        self.context_chars = context_chars
        self.queue: deque[ServerItem] = deque()
        self.requests: list[dict[str, Any]] = []
        self.peak_concurrency = 0
        self.overflows = 0
        self._active = 0
        self._slots = asyncio.Semaphore(max_concurrency) if max_concurrency else None
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def enqueue(self, *items: ServerItem) -> FakeOpenAIServer:
        """Queue answers for the next requests."""
        self.queue.extend(items)
        return self

    async def __aenter__(self) -> FakeOpenAIServer:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _chat(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.", "invalid_api_key")
        body = await request.json()
        problem = validate_chat_request(body)
        if problem:
            return _error(400, problem, "invalid_request_error")
        self.requests.append(body)
        chars = sum(len(m.get("content") or "") for m in body["messages"])
        if self.context_chars is not None and chars > self.context_chars:
            self.overflows += 1
            return _error(400, "This model's maximum context length is exceeded.",
                          "context_length_exceeded")
        async with _maybe(self._slots):
            self._active += 1
            self.peak_concurrency = max(self.peak_concurrency, self._active)
            try:
                if self.latency:
                    await asyncio.sleep(self.latency)
                item = await self._next(body)
            finally:
                self._active -= 1
        if isinstance(item, HttpReply):
            return web.json_response(item.body, status=item.status, headers=item.headers)
        return web.json_response(_completion_json(body["model"], item, chars))

    async def _next(self, body: dict[str, Any]) -> ServerItem:
        if self.queue:
            return self.queue.popleft()
        if self.responder is None:
            return _no_script()
        result = self.responder(body)
        return await result if inspect.isawaitable(result) else result


def _no_script() -> HttpReply:
    return HttpReply(500, {"error": {"message": "no scripted answer", "type": "server_error"}})


class _maybe:
    def __init__(self, sem: asyncio.Semaphore | None) -> None:
        self.sem = sem

    async def __aenter__(self) -> None:
        if self.sem is not None:
            await self.sem.acquire()

    async def __aexit__(self, *exc: object) -> None:
        if self.sem is not None:
            self.sem.release()


def _error(status: int, message: str, code: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": "invalid_request_error",
                                        "param": None, "code": code}}, status=status)


def validate_chat_request(body: dict[str, Any]) -> str | None:
    """What the real API would reject in a chat request, or None."""
    if not isinstance(body.get("model"), str) or not isinstance(body.get("messages"), list):
        return "model and messages are required"
    pending: set[str] = set()
    for i, m in enumerate(body["messages"]):
        role = m.get("role")
        if role not in ("system", "user", "assistant", "tool"):
            return f"messages[{i}].role '{role}' is invalid"
        if role == "tool":
            if m.get("tool_call_id") not in pending:
                return (f"messages[{i}]: messages with role 'tool' must be a response to a "
                        "preceding message with 'tool_calls'")
            pending.discard(m["tool_call_id"])
            continue
        if pending:
            return f"messages[{i}]: tool_call_ids did not have response messages: {pending}"
        for call in m.get("tool_calls") or []:
            pending.add(call["id"])
            json.loads(json.dumps(call["function"]["arguments"]))
    for tool in body.get("tools") or []:
        if tool.get("type") != "function" or "name" not in tool.get("function", {}):
            return "tools must be functions with a name"
    return None


def _completion_json(model: str, completion: Completion, prompt_chars: int) -> dict[str, Any]:
    msg = completion.message
    message: dict[str, Any] = {"role": "assistant", "content": msg.content}
    if msg.tool_calls:
        message["tool_calls"] = [{"id": c.id, "type": "function",
                                  "function": {"name": c.name, "arguments": c.arguments}}
                                 for c in msg.tool_calls]
    usage = completion.usage or Usage(prompt_chars // 4 + 1, 10, prompt_chars // 4 + 11)
    return {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion",
            "created": 0, "model": model,
            "choices": [{"index": 0, "message": message,
                         "finish_reason": completion.finish_reason or "stop"}],
            "usage": {"prompt_tokens": usage.prompt_tokens,
                      "completion_tokens": usage.completion_tokens,
                      "total_tokens": usage.total_tokens}}
