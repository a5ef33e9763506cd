"""Agent state, recall messages and sources in SQLite (aiosqlite, WAL, FTS5).

One connection serves the process. Every write runs inside one transaction guarded
by an ``asyncio.Lock``, so concurrent agents never interleave statements of their
transactions on the shared connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import aiosqlite

from agent_core.backends.sqlite_db import open_database, transaction
from agent_core.backends.sqlite_schema import MIGRATIONS
from agent_core.domain import MemoryBlock, Role, SourceInfo, StoredMessage, ToolCall
from agent_core.errors import StorageError
from agent_core.state import AgentRecord, NewMessage, new_id, utcnow

_log = logging.getLogger(__name__)

_AGENT_COLUMNS = (
    "id, conversation, name, system_prompt, blocks, model, context_window, embedding_model, "
    "in_context, summary, created_at, last_active"
)
_MESSAGE_COLUMNS = "id, agent_id, role, content, tool_calls, tool_call_id, name, created_at"
_SOURCE_COLUMNS = "id, workspace, name, files, passages, embedding_model, created_at"


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """Aware UTC datetime from epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, UTC)


def _agent_from_row(row: sqlite3.Row) -> AgentRecord:
    blocks = [MemoryBlock(b["label"], b["value"], b["limit"]) for b in json.loads(row["blocks"])]
    return AgentRecord(
        id=row["id"],
        conversation=row["conversation"],
        name=row["name"],
        system_prompt=row["system_prompt"],
        blocks=blocks,
        model=row["model"],
        context_window=row["context_window"],
        embedding_model=row["embedding_model"],
        in_context=json.loads(row["in_context"]),
        summary=row["summary"],
        created_at=from_ms(row["created_at"]),
        last_active=from_ms(row["last_active"]),
    )


def _message_from_row(row: sqlite3.Row) -> StoredMessage:
    calls = tuple(ToolCall(**c) for c in json.loads(row["tool_calls"] or "[]"))
    return StoredMessage(
        id=row["id"],
        agent_id=row["agent_id"],
        role=cast(Role, row["role"]),
        content=row["content"],
        created_at=from_ms(row["created_at"]),
        tool_calls=calls,
        tool_call_id=row["tool_call_id"],
        name=row["name"],
    )


def _source_from_row(row: sqlite3.Row) -> SourceInfo:
    return SourceInfo(
        id=row["id"],
        workspace=row["workspace"],
        name=row["name"],
        files=row["files"],
        passages=row["passages"],
        embedding_model=row["embedding_model"],
        created_at=from_ms(row["created_at"]),
    )


async def _insert_message(db: aiosqlite.Connection, agent_id: str, m: NewMessage,
                          created: datetime) -> int:
    """Insert one message (inside the caller's transaction); returns its id."""
    calls = json.dumps([{"id": c.id, "name": c.name, "arguments": c.arguments}
                        for c in m.tool_calls]) if m.tool_calls else None
    cur = await db.execute(
        "INSERT INTO messages (agent_id, role, content, tool_calls, tool_call_id, name, "
        "search_text, platform_id, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
        (agent_id, m.role, m.content, calls, m.tool_call_id, m.name, m.search_text,
         m.platform_id, to_ms(created)))
    assert cur.lastrowid is not None
    return cur.lastrowid


def _fts_query(text: str) -> str:
    """A safe FTS5 query: every word quoted, any word may match (ranked by bm25)."""
    words = [w for w in "".join(c if c.isalnum() else " " for c in text).split() if w]
    return " OR ".join(f'"{w}"' for w in words)


class SqliteState:
    """The state store. Open with :meth:`open`; close with :meth:`aclose`."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        self._write = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> SqliteState:
        """Open (creating and migrating if needed) the database at ``path``."""
        return cls(await open_database(path, MIGRATIONS, "the state database"), path)

    async def aclose(self) -> None:
        """Close the connection (pending transactions are already committed)."""
        await self._db.close()

    async def ping(self) -> None:
        """A trivial query: raises if the database is unusable."""
        await self._fetchone("SELECT 1")

    def _transaction(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        return transaction(self._db, self._write, "a state database write")

    async def _fetchone(self, sql: str, args: Iterable[Any] = ()) -> sqlite3.Row | None:
        async with self._db.execute(sql, tuple(args)) as cur:
            row: sqlite3.Row | None = await cur.fetchone()
            return row

    async def _fetchall(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        async with self._db.execute(sql, tuple(args)) as cur:
            return list(await cur.fetchall())

    # -- agents ---------------------------------------------------------------------------

    async def active_agent(self, conversation: str) -> AgentRecord | None:
        """The conversation's current agent, if it has one."""
        row = await self._fetchone(
            f"SELECT {_AGENT_COLUMNS} FROM agents WHERE conversation = ? AND active = 1",
            (conversation,))
        return _agent_from_row(row) if row else None

    async def get_agent(self, agent_id: str) -> AgentRecord | None:
        """An agent by id (active or not)."""
        row = await self._fetchone(f"SELECT {_AGENT_COLUMNS} FROM agents WHERE id = ?",
                                   (agent_id,))
        return _agent_from_row(row) if row else None

    async def create_agent(self, agent: AgentRecord) -> None:
        """Insert a new active agent for its conversation."""
        async with self._transaction() as db:
            await db.execute(
                f"INSERT INTO agents ({_AGENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                self._agent_values(agent))

    async def save_agent(self, agent: AgentRecord) -> None:
        """Write an agent's mutable state (core memory, context, summary, activity)."""
        async with self._transaction() as db:
            await self._update_agent(db, agent)

    async def list_agents(self) -> list[AgentRecord]:
        """All active agents, most recently active first."""
        rows = await self._fetchall(
            f"SELECT {_AGENT_COLUMNS} FROM agents WHERE active = 1 ORDER BY last_active DESC")
        return [_agent_from_row(r) for r in rows]

    async def conversation_agents(self, conversation: str) -> list[AgentRecord]:
        """Every agent a conversation ever had (the active one and those reset)."""
        rows = await self._fetchall(
            f"SELECT {_AGENT_COLUMNS} FROM agents WHERE conversation = ? ORDER BY created_at",
            (conversation,))
        return [_agent_from_row(r) for r in rows]

    async def deactivate_agent(self, agent_id: str) -> None:
        """Unlink an agent from its conversation (``/reset``); its data stays."""
        async with self._transaction() as db:
            await db.execute("UPDATE agents SET active = 0 WHERE id = ?", (agent_id,))

    async def delete_agent(self, agent_id: str) -> None:
        """Delete an agent with its messages and attachments (``/forget``)."""
        async with self._transaction() as db:
            await db.execute("DELETE FROM messages WHERE agent_id = ?", (agent_id,))
            await db.execute("DELETE FROM agents WHERE id = ?", (agent_id,))

    @staticmethod
    def _agent_values(agent: AgentRecord) -> tuple[Any, ...]:
        blocks = json.dumps([{"label": b.label, "value": b.value, "limit": b.limit}
                             for b in agent.blocks])
        return (agent.id, agent.conversation, agent.name, agent.system_prompt, blocks,
                agent.model, agent.context_window, agent.embedding_model,
                json.dumps(agent.in_context), agent.summary, to_ms(agent.created_at),
                to_ms(agent.last_active))

    async def _update_agent(self, db: aiosqlite.Connection, agent: AgentRecord) -> None:
        values = self._agent_values(agent)
        await db.execute(
            "UPDATE agents SET name=?, system_prompt=?, blocks=?, model=?, context_window=?, "
            "embedding_model=?, in_context=?, summary=?, last_active=? WHERE id=?",
            (*values[2:10], values[11], agent.id))

    async def import_agent(self, agent: AgentRecord,
                           messages: Sequence[tuple[NewMessage, datetime]],
                           in_context_positions: Sequence[int]) -> None:
        """Create an agent with its history (original times) in one transaction.

        ``in_context_positions`` index into ``messages``: those become the window.
        """
        async with self._transaction() as db:
            agent.in_context = []
            await db.execute(
                f"INSERT INTO agents ({_AGENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                self._agent_values(agent))
            ids: list[int] = []
            for m, created in messages:
                ids.append(await _insert_message(db, agent.id, m, created))
            agent.in_context = [ids[i] for i in in_context_positions]
            await self._update_agent(db, agent)

    async def all_agents(self) -> list[AgentRecord]:
        """Every agent, active or reset (archive migration)."""
        rows = await self._fetchall(f"SELECT {_AGENT_COLUMNS} FROM agents")
        return [_agent_from_row(r) for r in rows]

    async def all_sources(self) -> list[SourceInfo]:
        """Every source of every workspace (archive migration)."""
        rows = await self._fetchall(f"SELECT {_SOURCE_COLUMNS} FROM sources")
        return [_source_from_row(r) for r in rows]

    # -- messages -------------------------------------------------------------------------

    async def commit_step(
        self, agent: AgentRecord, messages: Sequence[NewMessage], *, in_context: bool = True
    ) -> list[StoredMessage]:
        """Persist new messages and the agent's state in one transaction.

        The new messages' ids are appended to ``agent.in_context`` when ``in_context``.
        """
        now = utcnow()
        stored: list[StoredMessage] = []
        async with self._transaction() as db:
            for m in messages:
                message_id = await _insert_message(db, agent.id, m, now)
                stored.append(StoredMessage(message_id, agent.id, m.role, m.content, now,
                                            m.tool_calls, m.tool_call_id, m.name))
            previous = list(agent.in_context)
            if in_context:
                agent.in_context.extend(s.id for s in stored)
            agent.last_active = now
            try:
                await self._update_agent(db, agent)
            except BaseException:
                agent.in_context = previous
                raise
        return stored

    async def get_messages(self, ids: Sequence[int]) -> list[StoredMessage]:
        """Messages by id, in the order of ``ids`` (unknown ids are left out)."""
        if not ids:
            return []
        rows = await self._fetchall(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id IN "
            f"({','.join('?' * len(ids))})", ids)
        by_id = {r["id"]: _message_from_row(r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    async def has_platform_message(self, agent_id: str, platform_id: str) -> bool:
        """Whether a platform message id was already stored for this agent."""
        row = await self._fetchone(
            "SELECT 1 FROM messages WHERE agent_id = ? AND platform_id = ?",
            (agent_id, platform_id))
        return row is not None

    async def count_messages(self, agent_id: str) -> int:
        """How many messages an agent has in recall."""
        row = await self._fetchone("SELECT COUNT(*) AS n FROM messages WHERE agent_id = ?",
                                   (agent_id,))
        return int(row["n"]) if row else 0

    async def search_messages(
        self, agent_id: str, query: str, limit: int, offset: int
    ) -> tuple[list[StoredMessage], int]:
        """Ranked full-text search of an agent's recall; returns (page, total matches)."""
        fts = _fts_query(query)
        if not fts:
            return [], 0
        # "+" keeps SQLite from driving the join by the agent's index, which runs the
        # full-text query once per message of the agent (2 s at 10k messages, not 3 ms).
        where = "messages_fts MATCH ? AND +m.agent_id = ?"
        base = f"FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid WHERE {where}"
        try:
            total = await self._fetchone(f"SELECT COUNT(*) AS n {base}", (fts, agent_id))
            cols = ", ".join(f"m.{c.strip()}" for c in _MESSAGE_COLUMNS.split(","))
            rows = await self._fetchall(
                f"SELECT {cols} {base} ORDER BY bm25(messages_fts), m.id DESC LIMIT ? OFFSET ?",
                (fts, agent_id, limit, offset))
        except sqlite3.Error as exc:
            raise StorageError(f"recall search failed: {exc}") from exc
        return [_message_from_row(r) for r in rows], int(total["n"]) if total else 0

    async def messages_between(
        self, agent_id: str, start: datetime, end: datetime, limit: int, offset: int
    ) -> tuple[list[StoredMessage], int]:
        """Searchable messages with ``start <= created_at < end``, oldest first, and a total."""
        args = (agent_id, to_ms(start), to_ms(end))
        where = ("agent_id = ? AND created_at >= ? AND created_at < ? "
                 "AND search_text IS NOT NULL")
        total = await self._fetchone(f"SELECT COUNT(*) AS n FROM messages WHERE {where}", args)
        rows = await self._fetchall(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE {where} ORDER BY id LIMIT ? OFFSET ?",
            (*args, limit, offset))
        return [_message_from_row(r) for r in rows], int(total["n"]) if total else 0

    async def all_messages(self, agent_id: str) -> list[StoredMessage]:
        """Every message of an agent, oldest first (export)."""
        rows = await self._fetchall(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE agent_id = ? ORDER BY id",
            (agent_id,))
        return [_message_from_row(r) for r in rows]

    # -- sources --------------------------------------------------------------------------

    async def create_source(self, workspace: str, name: str, embedding_model: str) -> SourceInfo:
        """A new, empty source of a workspace."""
        info = SourceInfo(new_id("s"), workspace, name, 0, 0, embedding_model, utcnow())
        async with self._transaction() as db:
            await db.execute(
                f"INSERT INTO sources ({_SOURCE_COLUMNS}) VALUES (?,?,?,?,?,?,?)",
                (info.id, workspace, name, 0, 0, embedding_model, to_ms(info.created_at)))
        return info

    async def get_source(self, workspace: str, name: str) -> SourceInfo | None:
        """A workspace's source by name."""
        row = await self._fetchone(
            f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE workspace = ? AND name = ?",
            (workspace, name))
        return _source_from_row(row) if row else None

    async def get_source_by_id(self, source_id: str) -> SourceInfo | None:
        """A source by id."""
        row = await self._fetchone(f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE id = ?",
                                   (source_id,))
        return _source_from_row(row) if row else None

    async def list_sources(self, workspace: str) -> list[SourceInfo]:
        """A workspace's sources by name."""
        rows = await self._fetchall(
            f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE workspace = ? ORDER BY name",
            (workspace,))
        return [_source_from_row(r) for r in rows]

    async def delete_source(self, source_id: str) -> None:
        """Delete a source, its file records and every attachment of it."""
        async with self._transaction() as db:
            await db.execute("DELETE FROM sources WHERE id = ?", (source_id,))

    async def source_file_status(self, source_id: str, sha256: str) -> str | None:
        """'pending', 'done', or None for a file (by content hash) of a source."""
        row = await self._fetchone(
            "SELECT status FROM source_files WHERE source_id = ? AND sha256 = ?",
            (source_id, sha256))
        return str(row["status"]) if row else None

    async def begin_source_file(self, source_id: str, name: str, sha256: str) -> None:
        """Record a file as being loaded (its passages may be incomplete)."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR REPLACE INTO source_files (source_id, sha256, name, status, "
                "created_at) VALUES (?,?,?,'pending',?)",
                (source_id, sha256, name, to_ms(utcnow())))

    async def finish_source_file(
        self, source_id: str, sha256: str, pages: int, passages: int
    ) -> None:
        """Mark a file loaded and add its counts to the source."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE source_files SET status='done', pages=?, passages=? "
                "WHERE source_id=? AND sha256=?", (pages, passages, source_id, sha256))
            await db.execute(
                "UPDATE sources SET files = files + 1, passages = passages + ? WHERE id = ?",
                (passages, source_id))

    async def pending_source_files(self, source_id: str) -> list[tuple[str, str]]:
        """(name, sha256) of a source's files whose load did not finish."""
        rows = await self._fetchall(
            "SELECT name, sha256 FROM source_files WHERE source_id = ? AND status = 'pending'",
            (source_id,))
        return [(r["name"], r["sha256"]) for r in rows]

    async def source_file_names(self, source_id: str) -> list[str]:
        """Names of a source's files (loaded or pending)."""
        rows = await self._fetchall("SELECT name FROM source_files WHERE source_id = ?",
                                    (source_id,))
        return [str(r["name"]) for r in rows]

    async def drop_source_file(self, source_id: str, sha256: str) -> None:
        """Forget a (pending) file record."""
        async with self._transaction() as db:
            await db.execute("DELETE FROM source_files WHERE source_id = ? AND sha256 = ?",
                             (source_id, sha256))

    async def attach(self, agent_id: str, source_id: str) -> None:
        """Attach a source to an agent (idempotent)."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO attachments (agent_id, source_id, created_at) "
                "VALUES (?,?,?)", (agent_id, source_id, to_ms(utcnow())))

    async def detach(self, agent_id: str, source_id: str) -> bool:
        """Detach a source; False if it was not attached."""
        async with self._transaction() as db:
            cur = await db.execute(
                "DELETE FROM attachments WHERE agent_id = ? AND source_id = ?",
                (agent_id, source_id))
            return cur.rowcount > 0

    async def attached_sources(self, agent_id: str) -> list[SourceInfo]:
        """Sources attached to an agent, by name."""
        cols = ", ".join(f"s.{c.strip()}" for c in _SOURCE_COLUMNS.split(","))
        rows = await self._fetchall(
            f"SELECT {cols} FROM sources s JOIN attachments a ON a.source_id = s.id "
            "WHERE a.agent_id = ? ORDER BY s.name", (agent_id,))
        return [_source_from_row(r) for r in rows]

    # -- events ---------------------------------------------------------------------------

    async def claim_event(self, namespace: str, event_id: str) -> bool:
        """True the first time ``(namespace, event_id)`` is claimed, False afterwards."""
        async with self._transaction() as db:
            cur = await db.execute(
                "INSERT OR IGNORE INTO events (namespace, event_id, created_at) VALUES (?,?,?)",
                (namespace, event_id, to_ms(utcnow())))
            return cur.rowcount > 0

    async def prune_events(self, older_than: datetime) -> int:
        """Forget claimed event ids older than a moment; returns how many."""
        async with self._transaction() as db:
            cur = await db.execute("DELETE FROM events WHERE created_at < ?",
                                   (to_ms(older_than),))
            return cur.rowcount

