"""A keyword (BM25) index of archival passages in SQLite FTS5.

It sits beside the vector archive and holds, for every passage, the id the archive
gave it, its owner (agent id or source id), its file name and its text. Hybrid
retrieval (``agent_core.hybrid``) fuses its ranking with the archive's dense one.

Searches stay inside the owners asked for: every row carries an owner *tag* (a
digits-only hash of the owner, indexed in its own column so that FTS5 narrows the
match to those owners' rows before ranking), and the exact owner is checked again
in SQL. One connection (aiosqlite, WAL) serves the process; writes are serialized
by a lock and run in one transaction each.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from types import TracebackType
from typing import Any

import aiosqlite

from agent_core.backends.sqlite_db import open_database, transaction
from agent_core.errors import StorageError

__all__ = ["KeywordIndex", "fts_query", "owner_tag"]

_log = logging.getLogger(__name__)

MIGRATIONS: tuple[str, ...] = (
    # 1: the first release. ``tag`` is indexed (owner filter), ``owner``/``doc`` are not.
    """
    CREATE VIRTUAL TABLE passages USING fts5(
        text, tag, owner UNINDEXED, doc UNINDEXED,
        tokenize='porter unicode61 remove_diacritics 2'
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

_SYNCED = "synced"  # meta key: "1" once the index holds every passage of the archive
_MAX_WORDS = 64  # longest query kept (words beyond it add little and cost a lot)
_BATCH = 500  # rows per SQL statement, under SQLite's variable limit


# English function words: dropped from queries (not from the index), so that a passage
# matching only "the", "with" and "how" does not compete with real matches.
STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for
from further had has have having he her here hers herself him himself his how i if in
into is it its itself just me more most my myself no nor not now of off on once only or
other our ours ourselves out over own same she should so some such than that the their
theirs them themselves then there these they this those through to too under until up
very was we were what when where which while who whom why will with would you your yours
yourself yourselves
""".split())


def owner_tag(owner: str) -> str:
    """The token standing for ``owner`` in the index: digits only, so no stemmer alters it."""
    return str(int.from_bytes(hashlib.sha256(owner.encode("utf-8")).digest()[:8], "big"))


def fts_query(text: str) -> str:
    """A safe FTS5 expression for ``text``: every word quoted, any word may match.

    Stop words are left out unless the text has nothing else. Returns an empty string
    when ``text`` has no word at all.
    """
    words = "".join(c if c.isalnum() else " " for c in text).lower().split()
    unique = list(dict.fromkeys(words))
    kept = [w for w in unique if w not in STOP_WORDS] or unique
    return " OR ".join(f'"{w}"' for w in kept[:_MAX_WORDS])


def _owners_match(owners: Sequence[str]) -> str:
    return "tag : (" + " OR ".join(f'"{owner_tag(o)}"' for o in owners) + ")"


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


class KeywordIndex:
    """Passages' text ranked by BM25 (FTS5), searched by owner.

    Open with :meth:`open`; close with :meth:`aclose` (or ``async with``).
    """

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        self._write = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> KeywordIndex:
        """Open (creating and migrating if needed) the index database at ``path``.

        Raises:
            StorageError: the file cannot be opened, or was made by a newer membot.
        """
        return cls(await open_database(path, MIGRATIONS, "the keyword index"), path)

    async def aclose(self) -> None:
        """Close the connection (every write is already committed)."""
        await self._db.close()

    async def __aenter__(self) -> KeywordIndex:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    def _transaction(self, what: str) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        return transaction(self._db, self._write, f"keyword index {what}")

    async def _fetchall(self, sql: str, args: Iterable[Any] = ()) -> list[Any]:
        async with self._db.execute(sql, tuple(args)) as cur:
            return list(await cur.fetchall())

    async def add(self, ids: Sequence[int], owners: Sequence[str], docs: Sequence[str],
                  texts: Sequence[str]) -> None:
        """Index passages (a passage already indexed under the same id is replaced).

        Raises:
            ValueError: the four sequences differ in length.
            StorageError: SQLite failed; nothing of this call is stored.
        """
        if not len(ids) == len(owners) == len(docs) == len(texts):
            raise ValueError("ids, owners, docs and texts must have the same length")
        rows = [(int(i), t, owner_tag(o), o, d)
                for i, o, d, t in zip(ids, owners, docs, texts, strict=True)]
        async with self._transaction("add") as db:
            for start in range(0, len(rows), _BATCH):
                batch = rows[start:start + _BATCH]
                await db.execute(f"DELETE FROM passages WHERE rowid IN ({_marks(batch)})",
                                 [r[0] for r in batch])
                await db.executemany(
                    "INSERT INTO passages(rowid, text, tag, owner, doc) VALUES (?, ?, ?, ?, ?)",
                    batch)

    async def search(self, query: str, owners: Sequence[str], limit: int) -> list[int]:
        """Ids of the ``limit`` passages of ``owners`` best matching ``query`` (BM25), best first.

        Any word of the query may match; a query without words finds nothing.
        """
        words = fts_query(query)
        owners = list(dict.fromkeys(owners))
        if not words or not owners or limit <= 0:
            return []
        expression = f"{_owners_match(owners)} AND text : ({words})"
        sql = (f"SELECT rowid FROM passages WHERE passages MATCH ? "
               f"AND owner IN ({_marks(owners)}) "
               "ORDER BY bm25(passages, 1.0, 0.0), rowid LIMIT ?")
        try:
            rows = await self._fetchall(sql, [expression, *owners, limit])
        except sqlite3.Error as exc:
            raise StorageError(f"keyword search failed: {exc}") from exc
        return [int(r[0]) for r in rows]

    async def delete(self, owner: str, ids: Sequence[int] | None = None,
                     doc: str | None = None) -> int:
        """Remove an owner's passages: all, only ``ids``, or only file ``doc``'s; how many."""
        if ids is not None and not ids:
            return 0
        where, args = "passages MATCH ? AND owner = ?", [_owners_match([owner]), owner]
        if doc is not None:
            where, args = f"{where} AND doc = ?", [*args, doc]
        removed = 0
        async with self._transaction("delete") as db:
            chunks = [None] if ids is None else [
                [int(i) for i in ids[s:s + _BATCH]] for s in range(0, len(ids), _BATCH)]
            for chunk in chunks:
                extra = "" if chunk is None else f" AND rowid IN ({_marks(chunk)})"
                cur = await db.execute(f"DELETE FROM passages WHERE {where}{extra}",
                                       [*args, *(chunk or [])])
                removed += max(cur.rowcount, 0)
        return removed

    async def count(self, owners: Sequence[str] | None = None) -> int:
        """How many passages are indexed (of ``owners`` only, when given)."""
        if owners is None:
            rows = await self._fetchall("SELECT count(*) FROM passages")
        elif not owners:
            return 0
        else:
            owners = list(dict.fromkeys(owners))
            rows = await self._fetchall(
                f"SELECT count(*) FROM passages WHERE passages MATCH ? "
                f"AND owner IN ({_marks(owners)})", [_owners_match(owners), *owners])
        return int(rows[0][0])

    async def is_synced(self) -> bool:
        """Whether the index was marked as holding every passage of its archive."""
        rows = await self._fetchall("SELECT value FROM meta WHERE key = ?", [_SYNCED])
        return bool(rows) and rows[0][0] == "1"

    async def set_synced(self, synced: bool) -> None:
        """Record whether the index holds every passage of its archive.

        Mark it False whenever the archive may change without the index (dense-only
        retrieval), so the next hybrid start rebuilds it.
        """
        async with self._transaction("mark") as db:
            await db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                             [_SYNCED, "1" if synced else "0"])

    async def clear(self) -> None:
        """Remove every passage (before a rebuild)."""
        async with self._transaction("clear") as db:
            await db.execute("DELETE FROM passages")
