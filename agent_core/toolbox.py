"""MemGPT's built-in tools: messaging, core memory, recall and archival memory."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agent_core.dates import parse_range
from agent_core.domain import Passage, PassageRecord, Reply, ReplyCallback, StoredMessage
from agent_core.errors import ToolError
from agent_core.state import AgentRecord
from agent_core.tools import ToolRegistry

if TYPE_CHECKING:
    from agent_core.backends.sqlite_state import SqliteState
    from agent_core.ports import ArchivalStore, Embedder

PAGE_SIZE = 5


@dataclass(slots=True)
class ToolContext:
    """What a tool may touch during one agent step."""

    agent: AgentRecord
    workspace: str
    state: SqliteState
    archive: ArchivalStore
    embedder: Embedder
    source_ids: Sequence[str]
    now: datetime
    on_reply: ReplyCallback | None = None
    sent: list[str] = field(default_factory=list)
    archival_added: int = 0


def display_text(message: StoredMessage) -> str:
    """What a stored message said, as a person would read it."""
    if message.role == "user" and message.content:
        try:
            packed = json.loads(message.content)
        except json.JSONDecodeError:
            return message.content
        if isinstance(packed, dict) and "message" in packed:
            who = packed.get("name")
            return f"{who}: {packed['message']}" if who else str(packed["message"])
        return message.content
    parts = [message.content] if message.content else []
    for call in message.tool_calls:
        if call.name == "send_message":
            try:
                parts.append(str(json.loads(call.arguments).get("message", "")))
            except (json.JSONDecodeError, AttributeError):
                parts.append(call.arguments)
    return " ".join(parts)


def _page_header(kind: str, total: int, page: int, shown: int) -> str:
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if total == 0:
        return f"No {kind} found."
    if shown == 0:
        return (f"Page {page} is past the end: {total} {kind} in {pages} page(s), "
                f"pages 0-{pages - 1}.")
    first = page * PAGE_SIZE + 1
    return (f"Showing {kind} {first}-{first + shown - 1} of {total} "
            f"(page {page} of pages 0-{pages - 1}):")


def _check_page(page: int) -> int:
    if page < 0:
        raise ToolError("page must be 0 or more (0 is the first page).")
    return page


async def send_message(ctx: ToolContext, message: str) -> str:
    """Sends a message to the human user.

    Args:
        message: Message contents. All unicode (including emojis) are supported.
    """
    if not message.strip():
        raise ToolError("The message is empty. Call send_message with the text to send.")
    ctx.sent.append(message)
    if ctx.on_reply is not None:
        await ctx.on_reply(Reply(message))
    return "Sent message successfully."


def _block_or_fail(ctx: ToolContext, label: str) -> tuple[str, int]:
    block = ctx.agent.block(label)
    if block is None:
        labels = ", ".join(b.label for b in ctx.agent.blocks)
        raise ToolError(f"No core memory block named '{label}'. Blocks: {labels}.")
    return block.value, block.limit


def _store_block(ctx: ToolContext, label: str, value: str, limit: int) -> str:
    if len(value) > limit:
        raise ToolError(
            f"Edit failed: the '{label}' block would be {len(value)} characters, over its "
            f"limit of {limit}. Make room first: shorten it with core_memory_replace (summarize "
            "what is there) or move details to archival memory with archival_memory_insert.")
    ctx.agent.set_block(label, value)
    return f"Core memory block '{label}' updated ({len(value)}/{limit} characters)."


async def core_memory_append(ctx: ToolContext, label: str, content: str) -> str:
    """Append to the contents of core memory.

    Args:
        label: Section of the memory to be edited (persona or human).
        content: Content to write to the memory. All unicode (including emojis) are supported.
    """
    old, limit = _block_or_fail(ctx, label)
    return _store_block(ctx, label, f"{old}\n{content}" if old else content, limit)


async def core_memory_replace(ctx: ToolContext, label: str, old_content: str,
                              new_content: str) -> str:
    """Replace the contents of core memory. To delete memories, use an empty string for new_content.

    Args:
        label: Section of the memory to be edited (persona or human).
        old_content: String to replace. Must be an exact match.
        new_content: Content to write to the memory. All unicode (including emojis) are supported.
    """
    old, limit = _block_or_fail(ctx, label)
    if not old_content:
        raise ToolError("old_content is empty. Give the exact text to replace.")
    if old_content not in old:
        raise ToolError(f"'{old_content}' was not found in the '{label}' block; it must match "
                        "exactly. Read the block in your core memory and try again.")
    return _store_block(ctx, label, old.replace(old_content, new_content), limit)


def _render_messages(messages: Sequence[StoredMessage]) -> str:
    return "\n".join(
        json.dumps({"time": m.created_at.isoformat(timespec="seconds"), "role": m.role,
                    "message": display_text(m)}, ensure_ascii=False)
        for m in messages)


async def conversation_search(ctx: ToolContext, query: str, page: int = 0) -> str:
    """Search prior conversation history (recall memory) by text, best matches first.

    Args:
        query: Words to search for.
        page: Which page of results to return (0 is the first).
    """
    page = _check_page(page)
    found, total = await ctx.state.search_messages(ctx.agent.id, query, PAGE_SIZE,
                                                   page * PAGE_SIZE)
    header = _page_header("messages", total, page, len(found))
    return f"{header}\n{_render_messages(found)}" if found else header


async def conversation_search_date(ctx: ToolContext, start_date: str, end_date: str,
                                   page: int = 0) -> str:
    """Search prior conversation history (recall memory) between two dates, oldest first.

    Args:
        start_date: Start of the range: YYYY-MM-DD, an ISO datetime, 'today',
            'yesterday' or 'N days ago'.
        end_date: End of the range, included whole when a date: YYYY-MM-DD, an ISO
            datetime, 'today' or 'now'.
        page: Which page of results to return (0 is the first).
    """
    page = _check_page(page)
    start, end = parse_range(start_date, end_date, ctx.now)
    found, total = await ctx.state.messages_between(ctx.agent.id, start, end, PAGE_SIZE,
                                                    page * PAGE_SIZE)
    header = _page_header("messages", total, page, len(found))
    return f"{header}\n{_render_messages(found)}" if found else header


async def archival_memory_insert(ctx: ToolContext, content: str) -> str:
    """Add to archival memory. Phrase the memory so that it can be easily queried later.

    Args:
        content: Content to write to the memory. All unicode (including emojis) are supported.
    """
    if not content.strip():
        raise ToolError("The content is empty; nothing was stored.")
    vector = (await ctx.embedder.embed([content]))[0]
    await ctx.archive.insert([PassageRecord(content, vector, ctx.agent.id, ctx.workspace,
                                            ctx.now)])
    ctx.archival_added += 1
    return "Stored in archival memory."


def _render_passage(p: Passage) -> dict[str, Any]:
    item: dict[str, Any] = {"time": p.created_at.isoformat(timespec="seconds"), "text": p.text}
    if p.source_name:
        item.update(source=p.source_name, file=p.doc, page=p.page)
    if p.score is not None:
        item["score"] = round(p.score, 3)
    return item


async def archival_memory_search(ctx: ToolContext, query: str, page: int = 0) -> str:
    """Search archival memory (your own memories and attached documents) by meaning.

    Args:
        query: What to search for.
        page: Which page of results to return (0 is the first).
    """
    page = _check_page(page)
    owners = [ctx.agent.id, *ctx.source_ids]
    total = await ctx.archive.count(owners)
    if total == 0:
        return "No passages found: archival memory is empty."
    vector = (await ctx.embedder.embed([query]))[0]
    found = await ctx.archive.search(query, vector, owners, PAGE_SIZE, page * PAGE_SIZE)
    header = _page_header("passages", total, page, len(found))
    lines = [json.dumps(_render_passage(p), ensure_ascii=False) for p in found]
    return "\n".join([header, *lines])


def builtin_tools() -> ToolRegistry:
    """A registry holding MemGPT's seven tools."""
    registry = ToolRegistry()
    registry.register(send_message, heartbeat=False)
    for func in (core_memory_append, core_memory_replace, conversation_search,
                 conversation_search_date, archival_memory_insert, archival_memory_search):
        registry.register(func)
    return registry
