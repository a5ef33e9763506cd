"""The archival store in Milvus: one shared collection, searched by owner.

Milvus Lite (a local path) and a Milvus server (``http(s)://``/``tcp://`` URI) lay the
collection out differently, because they are fast in different ways (REFERENCE.md):

* Lite scans every row of the searched partitions in Python, so each owner (agent or
  source) gets its own partition, created on first insert, and a search names the
  partitions (``partition_names=[owner, *sources]``): it costs only their rows.
* A server caps manual partitions at 1,024, so ``owner`` is a partition key and a
  search filters ``owner in [...]``.

Both use a FLAT (exact) index with cosine similarity: filtered HNSW silently loses
results on Lite. ``_Scope`` hides the difference from the rest of the store.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha1
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

import numpy as np

from agent_core.domain import Passage, PassageRecord
from agent_core.errors import EmbeddingMismatchError, StorageError

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

Layout = Literal["partitions", "partition_key"]

_MEMTABLE_ENV = "MILVUS_LITE_MEMTABLE_MEMORY_LIMIT_BYTES"
_MEMTABLE_BYTES = 12 * 1024 * 1024
_SERVER_SCHEMES = ("http://", "https://", "tcp://", "unix:")
_PROP_MODEL = "membot.embedding_model"
_PROP_DIMENSION = "membot.dimension"
_VARCHAR_LIMITS = {"text": 65535, "owner": 128, "workspace": 256, "source_name": 512, "doc": 1024}
_OUTPUT_FIELDS = ["text", "owner", "workspace", "source_name", "doc", "page", "chunk", "created_at"]
_BATCH_ROWS = 512
_BATCH_BYTES = 16 * 1024 * 1024
_PARTITION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAX_WINDOW = 16384  # Milvus caps limit + offset per search


def is_lite_uri(uri: str) -> bool:
    """Whether ``uri`` names a Milvus Lite data path rather than a server."""
    return not uri.lower().startswith(_SERVER_SCHEMES)


def _clip(value: str, limit: int) -> str:
    """``value`` without control characters, cut to ``limit`` UTF-8 bytes on a character edge."""
    value = _CONTROL_CHARS.sub("", value)
    data = value.encode("utf-8")
    return value if len(data) <= limit else data[:limit].decode("utf-8", errors="ignore")


def _quote(value: str) -> str:
    """A Milvus filter string literal for ``value``."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + '"'


def _in_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(_quote(v) for v in values) + "]"


def _partition_for(owner: str) -> str:
    """The Lite partition of ``owner``: the id itself when Milvus accepts it as a name."""
    if _PARTITION_NAME.fullmatch(owner) and owner != "_default":
        return owner
    return "o_" + sha1(owner.encode("utf-8")).hexdigest()


def _to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")
    return int(moment.timestamp() * 1000)


def _row(record: PassageRecord, dimension: int) -> dict[str, Any]:
    vector = np.asarray(record.vector, dtype=np.float32).reshape(-1)
    if vector.shape[0] != dimension:
        raise ValueError(
            f"a passage vector has {vector.shape[0]} dimensions; the archive holds {dimension}"
        )
    row: dict[str, Any] = {
        "vector": vector.tolist(),
        "owner": record.owner,
        "workspace": record.workspace,
        "source_name": record.source_name,
        "doc": record.doc,
        "text": record.text,
    }
    for name, limit in _VARCHAR_LIMITS.items():
        row[name] = _clip(row[name], limit)
    row.update(page=int(record.page), chunk=int(record.chunk), created_at=_to_ms(record.created_at))
    return row


def _passage(hit: dict[str, Any], score: float | None = None) -> Passage:
    entity = hit.get("entity", hit)
    return Passage(
        id=int(hit["id"]),
        text=entity["text"],
        owner=entity["owner"],
        workspace=entity["workspace"],
        created_at=datetime.fromtimestamp(entity["created_at"] / 1000, UTC),
        source_name=entity["source_name"],
        doc=entity["doc"],
        page=int(entity["page"]),
        chunk=int(entity["chunk"]),
        score=score,
    )


def _batches(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows cut into insert requests of bounded count and size."""
    out: list[list[dict[str, Any]]] = [[]]
    size = 0
    for row in rows:
        row_bytes = len(row["text"].encode("utf-8")) + 4 * len(row["vector"]) + 512
        if out[-1] and (len(out[-1]) >= _BATCH_ROWS or size + row_bytes > _BATCH_BYTES):
            out.append([])
            size = 0
        out[-1].append(row)
        size += row_bytes
    return out if out[0] else []


@dataclass(frozen=True, slots=True)
class _Scope:
    """Where a request looks: partitions (Lite) or an owner filter (server); None: nowhere."""

    partitions: list[str] | None
    filter: str


def _lite_lock_holder(path: str) -> bool:
    """Whether another process holds the lock of the Lite data dir at ``path``."""
    lock = Path(path) / "LOCK"
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
