"""The recursive summary: evicted messages folded into one running summary."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agent_core import prompts
from agent_core.domain import ChatMessage
from agent_core.errors import ContextWindowExceededError, LLMError

if TYPE_CHECKING:
    from agent_core.context import TokenCounter
    from agent_core.ports import ChatModel

_log = logging.getLogger(__name__)

SUMMARY_WORDS = 300
_LINE_CHARS = 600  # a long message (a tool result, a pasted document) is cut to this


async def summarize(model: ChatModel, counter: TokenCounter, previous: str,
                    lines: Sequence[str], window: int) -> str:
    """A new summary of ``previous`` plus the evicted ``lines``; never raises.

    The transcript is cut to fit the window; if the provider still reports an
    overflow it is halved (bounded). If the model cannot be used at all, the old
    summary is kept with a note, so an LLM failure never loses the conversation
    (every message stays in recall memory regardless).
    """
    budget_chars = int((window * 0.6) * counter.chars_per_token)
    transcript = [line if len(line) <= _LINE_CHARS else line[:_LINE_CHARS] + " [...]"
                  for line in lines]
    for _ in range(4):
        text = _fit(previous, transcript, budget_chars)
        request = [ChatMessage("system", prompts.SUMMARY_PROMPT.format(words=SUMMARY_WORDS)),
                   ChatMessage("user", text)]
        try:
            completion = await model.complete(request, [])
        except ContextWindowExceededError:
            budget_chars //= 2
            continue
        except LLMError as exc:
            _log.warning("summarizing failed, keeping the previous summary: %s", exc)
            break
        summary = (completion.message.content or "").strip()
        if summary:
            return summary[: SUMMARY_WORDS * 12]
        break
    note = f"({len(lines)} earlier messages are not summarized; search recall memory for them.)"
    return f"{previous}\n{note}".strip()


def _fit(previous: str, transcript: Sequence[str], budget_chars: int) -> str:
    head = f"Summary so far:\n{previous}\n\n" if previous else ""
    body: list[str] = []
    used = len(head)
    for line in reversed(transcript):  # keep the most recent lines when cutting
        if used + len(line) + 1 > budget_chars:
            body.append("[older messages left out]")
            break
        body.append(line)
        used += len(line) + 1
    return head + "Messages to add to the summary:\n" + "\n".join(reversed(body))
