"""The shared passages collection in Milvus: its schema, rows, filters and connection.

Helpers of ``milvus_archive``: turning passages into rows and back (UTF-8 byte limits,
epoch-millisecond timestamps), filter literals, Lite partition names, creating the
collection and checking the embedding model it was built with.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha1
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pymilvus import DataType, MilvusClient

from agent_core.domain import Passage, PassageRecord
from agent_core.errors import EmbeddingMismatchError, StorageError

Layout = Literal["partitions", "partition_key"]

_MEMTABLE_ENV = "MILVUS_LITE_MEMTABLE_MEMORY_LIMIT_BYTES"
_MEMTABLE_BYTES = 12 * 1024 * 1024
_SERVER_SCHEMES = ("http://", "https://", "tcp://", "unix:")
PROP_MODEL = "membot.embedding_model"
PROP_DIMENSION = "membot.dimension"
VARCHAR_LIMITS = {"text": 65535, "owner": 128, "workspace": 256, "source_name": 512, "doc": 1024}
OUTPUT_FIELDS = ["text", "owner", "workspace", "source_name", "doc", "page", "chunk", "created_at"]
_BATCH_ROWS = 512
_BATCH_BYTES = 16 * 1024 * 1024
_PARTITION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_WINDOW = 16384  # Milvus caps limit + offset per search


def is_lite_uri(uri: str) -> bool:
    """Whether ``uri`` names a Milvus Lite data path rather than a server."""
    return not uri.lower().startswith(_SERVER_SCHEMES)


def clip(value: str, limit: int) -> str:
    """``value`` without control characters, cut to ``limit`` UTF-8 bytes on a character edge."""
    value = _CONTROL_CHARS.sub("", value)
    data = value.encode("utf-8")
    return value if len(data) <= limit else data[:limit].decode("utf-8", errors="ignore")


def quote(value: str) -> str:
    """A Milvus filter string literal for ``value``."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + '"'


def in_list(values: Sequence[str]) -> str:
    """A Milvus filter list literal of strings."""
    return "[" + ", ".join(quote(v) for v in values) + "]"


def partition_for(owner: str) -> str:
    """The Lite partition of ``owner``: the id itself when Milvus accepts it as a name."""
    if _PARTITION_NAME.fullmatch(owner) and owner != "_default":
        return owner
    return "o_" + sha1(owner.encode("utf-8")).hexdigest()


def _to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")
    return int(moment.timestamp() * 1000)


def to_row(record: PassageRecord, dimension: int) -> dict[str, Any]:
    """The collection row of a passage; ``ValueError`` on a wrong dimension or naive time."""
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
    for name, limit in VARCHAR_LIMITS.items():
        row[name] = clip(row[name], limit)
    row.update(page=int(record.page), chunk=int(record.chunk), created_at=_to_ms(record.created_at))
    return row


def to_passage(hit: dict[str, Any], score: float | None = None) -> Passage:
    """A ``Passage`` from a search hit or query row (``created_at`` back to aware UTC)."""
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


def batches(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
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
class Scope:
    """Where a request looks: partitions (Lite) or an owner filter (server); None: nowhere."""

    partitions: list[str] | None
    filter: str


def _lite_lock_holder(path: str) -> bool:
    """Whether another process holds the lock of the Lite data dir at ``path``."""
    import fcntl  # Milvus Lite runs on POSIX only

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


def prepare_lite(uri: str) -> str:
    """The absolute Lite data path for ``uri``, its parent created, the memtable bounded."""
    path = Path(uri).expanduser().resolve()
    if path.suffix != ".db":
        raise StorageError(
            f"Milvus Lite path {str(path)!r} must end in '.db'.",
            hint="Set MEMBOT_MILVUS_URI to a path ending in .db, or to a Milvus server URI.",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    # Small memtable: a search pays ~40 µs per unflushed row (REFERENCE.md, Milvus).
    os.environ.setdefault(_MEMTABLE_ENV, str(_MEMTABLE_BYTES))
    return str(path)


def connect(uri: str, token: str | None, timeout: float) -> MilvusClient:
    """A client for ``uri``; failures become a ``StorageError`` that says what to set."""
    try:
        return MilvusClient(uri=uri, token=token or "", timeout=timeout)
    except Exception as exc:
        if is_lite_uri(uri) and _lite_lock_holder(uri):
            raise StorageError(
                f"The Milvus Lite archive {uri!r} is in use by another membot process.",
                hint="Stop the other process, or give this one its own MEMBOT_DATA_DIR.",
            ) from exc
        raise StorageError(
            f"Cannot open the Milvus archive at {uri!r}: {exc}",
            hint="Check that the server is running, or set MEMBOT_MILVUS_URI "
            "(and MEMBOT_MILVUS_TOKEN) to a reachable Milvus.",
        ) from exc


def collection_schema(dimension: int, layout: Layout) -> Any:
    """The passages schema: ``owner`` is the partition key in the server layout."""
    schema = MilvusClient.create_schema(auto_id=True, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    for name, limit in VARCHAR_LIMITS.items():
        extra = {"is_partition_key": True} if name == "owner" and layout == "partition_key" else {}
        schema.add_field(name, DataType.VARCHAR, max_length=limit, **extra)
    schema.add_field("page", DataType.INT32)
    schema.add_field("chunk", DataType.INT32)
    schema.add_field("created_at", DataType.INT64)
    return schema


def built_with(info: dict[str, Any]) -> tuple[str | None, int | None, Layout]:
    """(model, dimension, layout) an existing collection was built with."""
    props = info.get("properties") or {}
    fields = {f["name"]: f for f in info.get("fields", [])}
    if "vector" not in fields or "owner" not in fields:
        raise StorageError(
            f"Collection {info.get('collection_name')!r} exists but was not created by membot.",
            hint="Use another collection name.",
        )
    dim = props.get(PROP_DIMENSION) or fields["vector"].get("params", {}).get("dim")
    keyed = bool(fields["owner"].get("is_partition_key"))
    return (
        props.get(PROP_MODEL),
        int(dim) if dim else None,
        ("partition_key" if keyed else "partitions"),
    )


def check_match(
    collection: str, built: tuple[str | None, int | None, Layout], model: str, dimension: int
) -> None:
    """Raise ``EmbeddingMismatchError`` unless the collection was built with this model."""
    old_model, old_dim = built[0], built[1]
    if (old_model is None or old_model == model) and old_dim == dimension:
        return
    raise EmbeddingMismatchError(
        f"The archive collection {collection!r} was built with embedding model "
        f"{old_model or 'unknown'!r} ({old_dim} dimensions), but membot is configured with "
        f"{model!r} ({dimension} dimensions).",
        hint=f"Set MEMBOT_EMBEDDING_MODEL back to {old_model!r}, or use a new collection "
        "(or data dir) and re-load the sources / migrate the passages.",
    )
