"""The context window: token estimates, assembly, and which messages to evict."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from agent_core.domain import ChatMessage, StoredMessage, ToolCall

PRESSURE_FRACTION = 0.75  # warn the agent past this share of the window
EVICT_FRACTION = 0.75  # share of the in-context message tokens evicted on overflow
KEEP_LAST = 3  # messages never evicted
_MESSAGE_OVERHEAD = 4  # tokens per message for role and separators (OpenAI's figure)


class TokenCounter:
    """Estimates tokens without a tokenizer download: ~4 characters a token, calibrated.

    After each call the provider's reported prompt tokens recalibrate the ratio, so
    the estimate follows the real tokenizer of whatever model is behind the endpoint.
    """

    def __init__(self, chars_per_token: float = 3.6) -> None:
        self.chars_per_token = chars_per_token

    def text(self, text: str | None) -> int:
        """Estimated tokens of a text."""
        return int(len(text or "") / self.chars_per_token) + 1

    def message(self, message: ChatMessage | StoredMessage) -> int:
        """Estimated tokens of one message, tool calls included."""
        calls = sum(self.text(c.name) + self.text(c.arguments) for c in message.tool_calls)
        return self.text(message.content) + calls + _MESSAGE_OVERHEAD

    def messages(self, messages: Sequence[ChatMessage | StoredMessage]) -> int:
        """Estimated tokens of a whole request's messages."""
        return sum(self.message(m) for m in messages) + 3

    def calibrate(self, estimated: int, reported: int) -> None:
        """Move the ratio towards what the provider reported (bounded, smoothed)."""
        if estimated <= 0 or reported <= 0:
            return
        observed = self.chars_per_token * estimated / reported
        observed = min(max(observed, 1.5), 8.0)
        self.chars_per_token = 0.7 * self.chars_per_token + 0.3 * observed


@dataclass(frozen=True, slots=True)
class WindowBudget:
    """Token limits derived from the configured context window."""

    window: int

    @property
    def reserve(self) -> int:
        """Tokens kept free for the model's answer."""
        return min(1024, self.window // 8)

    @property
    def limit(self) -> int:
        """The most prompt tokens a request may carry."""
        return self.window - self.reserve

    @property
    def pressure(self) -> int:
        """Past this many prompt tokens the agent is warned."""
        return int(self.window * PRESSURE_FRACTION)


def sanitize_window(messages: Sequence[StoredMessage]) -> list[StoredMessage]:
    """Drop tool results whose call is not in the window, and calls without results.

    The OpenAI format rejects both; they can only appear after a damaged database
    or a hand edit, never from a normal step (steps are committed atomically).
    """
    answered = {m.tool_call_id for m in messages if m.role == "tool"}
    called: set[str] = set()
    clean: list[StoredMessage] = []
    for m in messages:
        if m.role == "tool" and m.tool_call_id not in called:
            continue
        if m.tool_calls and not all(c.id in answered for c in m.tool_calls):
            clean.append(StoredMessage(m.id, m.agent_id, m.role, m.content or "", m.created_at))
            continue
        called.update(c.id for c in m.tool_calls)
        clean.append(m)
    return clean


def eviction_cut(messages: Sequence[StoredMessage], counter: TokenCounter,
                 fraction: float = EVICT_FRACTION) -> int:
    """How many of the oldest messages to evict: about ``fraction`` of their tokens.

    The last ``KEEP_LAST`` messages stay, and the cut never separates a tool call
    from its results (the first kept message is never a tool result).
    """
    costs = [counter.message(m) for m in messages]
    goal = fraction * sum(costs)
    cut, evicted = 0, 0
    while cut < len(messages) - KEEP_LAST and evicted < goal:
        evicted += costs[cut]
        cut += 1
    while cut < len(messages) and messages[cut].role == "tool":
        cut += 1
    return cut


_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)


def inline_tool_calls(content: str | None, known: Sequence[str]) -> tuple[ToolCall, ...]:
    """Tool calls that a model wrote as JSON text instead of using the tools API.

    Local models often answer ``{"name": "send_message", "arguments": {...}}`` in
    plain text; such text is treated as the call it clearly is.
    """
    text = (content or "").strip()
    match = _FENCE.match(text)
    if match:
        text = match.group(1)
    if not text.startswith(("{", "[")):
        return ()
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return ()
    items = value if isinstance(value, list) else [value]
    calls: list[ToolCall] = []
    for item in items:
        if not isinstance(item, dict):
            return ()
        name = item.get("name") or item.get("function")
        args = item.get("arguments", item.get("parameters", {}))
        if not isinstance(name, str) or name not in known:
            return ()
        raw = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
        calls.append(ToolCall(new_call_id(), name, raw))
    return tuple(calls)


def new_call_id() -> str:
    """A tool call id for calls a model produced without one."""
    return f"call_{uuid.uuid4().hex[:24]}"
