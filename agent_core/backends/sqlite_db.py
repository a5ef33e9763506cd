"""What membot's SQLite files share: opening with WAL, versioned migrations, transactions."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from agent_core.errors import StorageError

_log = logging.getLogger(__name__)

_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=5000")


async def open_database(path: Path, migrations: Sequence[str], what: str) -> aiosqlite.Connection:
    """Connect to ``path`` (created if missing) and migrate it to ``len(migrations)``.

    ``what`` names the file in errors ("the state database"). Raises ``StorageError``
    when it cannot be opened or was written by a newer membot.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = await aiosqlite.connect(path)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open {what} {path}: {exc}") from exc
    try:
        db.row_factory = sqlite3.Row
        for pragma in _PRAGMAS:
            await db.execute(f"PRAGMA {pragma}")
        await _migrate(db, migrations, f"{what} {path}")
    except BaseException as exc:
        await db.close()
        if isinstance(exc, sqlite3.Error):
            raise StorageError(f"cannot open {what} {path}: {exc}") from exc
        raise
    return db


async def _migrate(db: aiosqlite.Connection, migrations: Sequence[str], what: str) -> None:
    await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
    async with db.execute("SELECT version FROM schema_version") as cur:
        row = await cur.fetchone()
    current = int(row[0]) if row else 0
    latest = len(migrations)
    if current > latest:
        raise StorageError(f"{what} has schema version {current}, newer than this membot "
                           f"({latest})", hint="Upgrade membot to open it.")
    for version in range(current + 1, latest + 1):
        _log.info("migrating %s to schema version %d", what, version)
        await db.executescript(
            "BEGIN;" + migrations[version - 1] + "DELETE FROM schema_version;"
            f"INSERT INTO schema_version VALUES ({version}); COMMIT;")


@asynccontextmanager
async def transaction(db: aiosqlite.Connection, lock: asyncio.Lock,
                      what: str) -> AsyncIterator[aiosqlite.Connection]:
    """One write transaction, serialized by ``lock`` on the shared connection.

    SQLite errors become ``StorageError`` naming ``what`` failed; the transaction is
    rolled back on any error.
    """
    async with lock:
        try:
            await db.execute("BEGIN IMMEDIATE")
            yield db
        except BaseException as exc:
            await db.rollback()
            if isinstance(exc, sqlite3.Error):
                raise StorageError(f"{what} failed: {exc}") from exc
            raise
        else:
            await db.commit()
