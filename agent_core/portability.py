"""Agents as portable JSON documents, and moving archival passages between Milvus stores."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from agent_core.domain import ConversationKey, MemoryBlock, PassageRecord, StoredMessage, ToolCall
from agent_core.errors import MembotError, NotFoundError
from agent_core.state import AgentRecord, NewMessage, new_id
from agent_core.toolbox import display_text

if TYPE_CHECKING:
    from agent_core.engine import Engine
    from agent_core.ports import ArchivalStore

_log = logging.getLogger(__name__)

FORMAT = "membot-agent"
VERSION = 1
_BATCH = 256


def _message_json(m: StoredMessage) -> dict[str, Any]:
    return {"role": m.role, "content": m.content, "created_at": m.created_at.isoformat(),
            "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments}
                           for c in m.tool_calls],
            "tool_call_id": m.tool_call_id, "name": m.name}


async def export_agent(engine: Engine, conversation: str) -> dict[str, Any]:
    """The conversation's active agent as one JSON-ready document (vectors included)."""
    rec = await engine.state.active_agent(conversation)
    if rec is None:
        raise NotFoundError(f"No agent for '{conversation}'.", hint="`membot agents` lists them.")
    messages = await engine.state.all_messages(rec.id)
    position = {m.id: i for i, m in enumerate(messages)}
    passages = []
    async for passage, vector in engine.archive.iter_passages(rec.id):  # type: ignore[attr-defined]
        passages.append({"text": passage.text, "created_at": passage.created_at.isoformat(),
                         "vector": [round(float(x), 7) for x in vector]})
    sources = await engine.state.attached_sources(rec.id)
    return {
        "format": FORMAT, "version": VERSION,
        "agent": {"conversation": rec.conversation, "name": rec.name,
                  "system_prompt": rec.system_prompt, "model": rec.model,
                  "context_window": rec.context_window, "summary": rec.summary,
                  "created_at": rec.created_at.isoformat(),
                  "blocks": [{"label": b.label, "value": b.value, "limit": b.limit}
                             for b in rec.blocks],
                  "in_context": [position[i] for i in rec.in_context if i in position]},
        "embedding": {"model": engine.embedder.name, "dimension": engine.embedder.dimension},
        "messages": [_message_json(m) for m in messages],
        "archival": passages,
        "attached_sources": [s.name for s in sources],
    }


def _new_message(item: dict[str, Any]) -> tuple[NewMessage, datetime]:
    calls = tuple(ToolCall(c["id"], c["name"], c["arguments"]) for c in item["tool_calls"])
    stored = StoredMessage(0, "", item["role"], item["content"],
                           datetime.fromisoformat(item["created_at"]), calls,
                           item.get("tool_call_id"), item.get("name"))
    searchable = item["role"] in ("user", "assistant")
    text = display_text(stored) if searchable else None
    return (NewMessage(stored.role, stored.content, calls, stored.tool_call_id, stored.name,
                       search_text=text or None), stored.created_at)


async def import_agent(engine: Engine, document: dict[str, Any],
                       conversation: ConversationKey | None = None,
                       replace_existing: bool = False) -> AgentRecord:
    """Create an agent from an exported document; re-embeds if the embedding model differs."""
    if document.get("format") != FORMAT or document.get("version") != VERSION:
        raise MembotError("This is not a membot agent export (format version 1).")
    data = document["agent"]
    key = str(conversation) if conversation else data["conversation"]
    current = await engine.state.active_agent(key)
    if current is not None:
        if not replace_existing:
            raise MembotError(f"'{key}' already has an agent.",
                              hint="Import with --replace to reset it, or --as another key.")
        await engine.state.deactivate_agent(current.id)
    rec = AgentRecord(id=new_id("a"), conversation=key, name=data["name"],
                      system_prompt=data["system_prompt"],
                      blocks=[MemoryBlock(**b) for b in data["blocks"]], model=data["model"],
                      context_window=data["context_window"],
                      embedding_model=engine.embedder.name, summary=data["summary"],
                      created_at=datetime.fromisoformat(data["created_at"]))
    messages = [_new_message(m) for m in document["messages"]]
    await engine.state.import_agent(rec, messages, data["in_context"])
    await _import_passages(engine, rec, document)
    await engine.forget_cached(key)
    for name in document.get("attached_sources", []):
        source = await engine.state.get_source(ConversationKey.parse(key).workspace, name)
        if source is not None:
            await engine.state.attach(rec.id, source.id)
    return rec


async def _import_passages(engine: Engine, rec: AgentRecord, document: dict[str, Any]) -> None:
    items = document.get("archival", [])
    same = (document["embedding"]["model"] == engine.embedder.name and
            document["embedding"]["dimension"] == engine.embedder.dimension)
    workspace = ConversationKey.parse(rec.conversation).workspace
    for start in range(0, len(items), _BATCH):
        batch = items[start:start + _BATCH]
        if same:
            vectors = np.asarray([p["vector"] for p in batch], dtype=np.float32)
        else:
            vectors = await engine.embedder.embed([p["text"] for p in batch])
        await engine.archive.insert([
            PassageRecord(p["text"], v, rec.id, workspace, datetime.fromisoformat(p["created_at"]))
            for p, v in zip(batch, vectors, strict=True)])
    if not same and items:
        _log.info("re-embedded %d passages with %s", len(items), engine.embedder.name)


async def migrate_archive(engine: Engine, target: ArchivalStore) -> dict[str, int]:
    """Copy every agent's and source's passages into ``target``; returns counts per kind."""
    counts = {"owners": 0, "passages": 0}
    owners = [a.id for a in await engine.state.all_agents()]
    owners += [s.id for s in await engine.state.all_sources()]
    for owner in owners:
        batch: list[PassageRecord] = []
        async for passage, vector in engine.archive.iter_passages(owner):  # type: ignore[attr-defined]
            batch.append(PassageRecord(passage.text, vector, passage.owner, passage.workspace,
                                       passage.created_at, passage.source_name, passage.doc,
                                       passage.page, passage.chunk))
            if len(batch) >= _BATCH:
                await target.insert(batch)
                counts["passages"] += len(batch)
                batch = []
        if batch:
            await target.insert(batch)
            counts["passages"] += len(batch)
        counts["owners"] += 1
    flush = getattr(target, "flush", None)
    if flush is not None:
        await flush()
    return counts

