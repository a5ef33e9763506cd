"""One agent's turn: context -> model -> tools -> persist, chained by heartbeats."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent_core import prompts
from agent_core.context import (
    EVICT_FRACTION,
    TokenCounter,
    WindowBudget,
    eviction_cut,
    inline_tool_calls,
    new_call_id,
    sanitize_window,
)
from agent_core.domain import (
    ChatMessage,
    Completion,
    IncomingMessage,
    Reply,
    ReplyCallback,
    StoredMessage,
    ToolCall,
    TurnResult,
)
from agent_core.errors import ContextWindowExceededError, LLMError
from agent_core.state import AgentRecord, NewMessage, utcnow
from agent_core.summarizer import summarize
from agent_core.toolbox import ToolContext, display_text
from agent_core.tools import ToolRegistry

if TYPE_CHECKING:
    from agent_core.backends.sqlite_state import SqliteState
    from agent_core.ports import ArchivalStore, ChatModel, Embedder

_log = logging.getLogger(__name__)

MAX_OVERFLOW_RETRIES = 2


@dataclass(slots=True)
class AgentSession:
    """An agent loaded in memory: its record, its window and its counters."""

    record: AgentRecord
    workspace: str
    window: list[StoredMessage]
    source_ids: list[str]
    source_names: list[str]
    recall_count: int
    archival_count: int
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_used: float = field(default_factory=time.monotonic)
    warned: bool = False


@dataclass(slots=True)
class _Step:
    chain: bool
    sent: bool


class TurnRunner:
    """Runs turns for any agent; holds no per-agent state of its own."""

    def __init__(self, *, state: SqliteState, archive: ArchivalStore, embedder: Embedder,
                 model: ChatModel, tools: ToolRegistry, max_steps: int,
                 llm_slots: asyncio.Semaphore) -> None:
        self.state = state
        self.archive = archive
        self.embedder = embedder
        self.model = model
        self.tools = tools
        self.max_steps = max_steps
        self.llm_slots = llm_slots
        self.counter = TokenCounter()

    async def persist_user_message(self, session: AgentSession, message: IncomingMessage) -> None:
        """Store the user's message (before anything that can fail)."""
        now = utcnow()
        who = f"{message.speaker.name}: " if message.speaker else ""
        new = NewMessage("user", prompts.pack_user_message(message.text, message.speaker, now),
                         search_text=who + message.text, platform_id=message.message_id)
        await self._commit(session, [new])

    async def run(self, session: AgentSession, on_reply: ReplyCallback | None) -> TurnResult:
        """Step the agent until it stops chaining or hits the step limit."""
        ctx = ToolContext(session.record, session.workspace, self.state, self.archive,
                          self.embedder, session.source_ids, utcnow(), on_reply)
        replies: list[Reply] = []
        for step in range(1, self.max_steps + 1):
            ctx.now = utcnow()
            completion = await self._complete(session)
            outcome = await self._apply(session, ctx, completion, replies)
            session.archival_count += ctx.archival_added
            ctx.archival_added = 0
            if not outcome.chain:
                return TurnResult(tuple(Reply(t) for t in ctx.sent) + tuple(replies), step)
        alert = prompts.STEP_LIMIT.format(steps=self.max_steps)
        await self._commit(session, [NewMessage("user", prompts.system_alert(alert, utcnow()))])
        result = [Reply(t) for t in ctx.sent] + replies
        if not ctx.sent:
            notice = Reply(f"I stopped after {self.max_steps} steps without finishing an "
                           "answer. Ask me again, or ask me to continue.", "notice")
            result.append(notice)
            if on_reply is not None:
                await on_reply(notice)
        return TurnResult(tuple(result), self.max_steps)

    async def _commit(self, session: AgentSession,
                      messages: Sequence[NewMessage]) -> list[StoredMessage]:
        stored = await self.state.commit_step(session.record, messages)
        session.window.extend(stored)
        session.recall_count += len(stored)
        return stored

    def _context(self, session: AgentSession) -> list[ChatMessage]:
        rec = session.record
        stats = prompts.memory_stats(session.recall_count, session.archival_count,
                                     session.source_names, utcnow())
        system = prompts.render_system(rec.system_prompt, rec.blocks, stats)
        if rec.summary:
            hidden = session.recall_count - len(session.window)
            system += "\n\n### Earlier conversation\n" + prompts.summary_note(rec.summary, hidden)
        return [ChatMessage("system", system)] + [m.to_chat() for m in
                                                  sanitize_window(session.window)]

    async def _complete(self, session: AgentSession) -> Completion:
        budget = WindowBudget(session.record.context_window)
        for attempt in range(MAX_OVERFLOW_RETRIES + 1):
            messages = self._context(session)
            estimate = self.counter.messages(messages)
            if estimate > budget.limit and await self.evict(session):
                continue
            if estimate > budget.pressure and not session.warned:
                session.warned = True
                alert = prompts.system_alert(prompts.MEMORY_PRESSURE, utcnow())
                await self._commit(session, [NewMessage("user", alert)])
                messages = self._context(session)
                estimate = self.counter.messages(messages)
            try:
                async with self.llm_slots:
                    completion = await self.model.complete(messages, self.tools.schemas())
            except ContextWindowExceededError:
                _log.info("agent %s: provider reported a context overflow (attempt %d)",
                          session.record.id, attempt + 1)
                if not await self.evict(session, fraction=0.9):
                    raise
                continue
            if completion.usage is not None:
                self.counter.calibrate(estimate, completion.usage.prompt_tokens)
            return completion
        raise LLMError("The conversation does not fit the model's context window even after "
                       "summarizing it.", hint="Raise MEMBOT_CONTEXT_WINDOW or use a model "
                       "with a larger context.")

    async def evict(self, session: AgentSession, fraction: float = EVICT_FRACTION) -> bool:
        """Move the oldest messages out of the window into the recursive summary.

        Returns False when nothing can be evicted.
        """
        cut = eviction_cut(session.window, self.counter, fraction)
        if cut == 0:
            return False
        evicted = session.window[:cut]
        rec = session.record
        async with self.llm_slots:
            rec.summary = await summarize(self.model, self.counter, rec.summary,
                                          [f"{m.role}: {display_text(m)}" for m in evicted],
                                          rec.context_window)
        rec.in_context = rec.in_context[cut:]
        await self.state.save_agent(rec)
        del session.window[:cut]
        session.warned = False
        _log.info("agent %s: evicted %d messages into the summary", rec.id, cut)
        return True

    async def _apply(self, session: AgentSession, ctx: ToolContext, completion: Completion,
                     replies: list[Reply]) -> _Step:
        msg = completion.message
        calls = msg.tool_calls or inline_tool_calls(msg.content, self.tools.names())
        if not calls:
            return await self._plain_answer(session, ctx, msg.content, replies)
        calls = _with_ids(calls)
        inner = None if (msg.tool_calls == () and calls) else msg.content
        sent_before = len(ctx.sent)
        results: list[NewMessage] = []
        chain = False
        for call in calls:
            outcome = await self.tools.call(ctx, call.name, call.arguments, ctx.now)
            results.append(NewMessage("tool", outcome.result, tool_call_id=call.id,
                                      name=call.name))
            chain = chain or outcome.heartbeat
        search = " ".join([inner or "", *ctx.sent[sent_before:]]).strip() or None
        assistant = NewMessage("assistant", inner, tool_calls=calls, search_text=search)
        await self._commit(session, [assistant, *results])
        return _Step(chain, len(ctx.sent) > sent_before)

    async def _plain_answer(self, session: AgentSession, ctx: ToolContext, content: str | None,
                            replies: list[Reply]) -> _Step:
        text = (content or "").strip()
        if not text:
            alert = prompts.system_alert(prompts.EMPTY_ANSWER, ctx.now)
            await self._commit(session, [NewMessage("assistant", ""), NewMessage("user", alert)])
            return _Step(chain=True, sent=False)
        await self._commit(session, [NewMessage("assistant", text, search_text=text)])
        reply = Reply(text)
        replies.append(reply)
        if ctx.on_reply is not None:
            await ctx.on_reply(reply)
        return _Step(chain=False, sent=True)


def _with_ids(calls: Sequence[ToolCall]) -> tuple[ToolCall, ...]:
    seen: set[str] = set()
    fixed = []
    for c in calls:
        call_id = c.id if c.id and c.id not in seen else new_call_id()
        seen.add(call_id)
        fixed.append(ToolCall(call_id, c.name, c.arguments))
    return tuple(fixed)
