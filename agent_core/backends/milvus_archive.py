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
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha1
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

import numpy as np
from pymilvus import DataType, MilvusClient

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
_CACHE_ROWS = 250_000  # ~384 MB of float32 vectors at dimension 384


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


_Matrix = np.ndarray[Any, np.dtype[np.float32]]
_Ids = np.ndarray[Any, np.dtype[np.int64]]


def _unit_rows(vectors: Any) -> _Matrix:
    matrix = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    out = np.zeros_like(matrix)
    np.divide(matrix, norms, out=out, where=norms > 0)
    return out


class _VectorCache:
    """Normalized vectors of recently searched Lite partitions, for exact numpy search.

    Lite scans every row of the searched partitions in Python (~3 µs/row per query);
    a matrix product over the same rows is ~15x cheaper and exactly as exact. Sound
    only because one process owns a Lite data dir (its lock) and every write in it
    goes through here: writes bump a partition's version, and a load that raced a
    write is discarded. Least recently used partitions go beyond ``max_rows``.
    """

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[_Ids, _Matrix]] = OrderedDict()
        self._versions: dict[str, int] = {}
        self._rows = 0

    def version(self, partition: str) -> int:
        with self._lock:
            return self._versions.get(partition, 0)

    def get(self, partition: str) -> tuple[_Ids, _Matrix] | None:
        with self._lock:
            entry = self._entries.get(partition)
            if entry is not None:
                self._entries.move_to_end(partition)
            return entry

    def put(self, partition: str, version: int, ids: _Ids, vectors: _Matrix) -> None:
        """Keep a loaded partition unless a write happened since ``version`` was read."""
        with self._lock:
            if self._versions.get(partition, 0) != version or len(ids) > self.max_rows:
                return
            self._drop(partition)
            self._entries[partition] = (ids, vectors)
            self._rows += len(ids)
            while self._rows > self.max_rows:
                self._drop(next(iter(self._entries)))

    def append(self, partition: str, ids: _Ids, vectors: _Matrix) -> None:
        """Rows just inserted into ``partition``."""
        with self._lock:
            self._versions[partition] = self._versions.get(partition, 0) + 1
            entry = self._entries.get(partition)
            if entry is not None:
                self._rows += len(ids)
                self._entries[partition] = (
                    np.concatenate([entry[0], ids]),
                    np.concatenate([entry[1], vectors]),
                )

    def invalidate(self, partition: str) -> None:
        """Rows of ``partition`` were deleted: forget it until the next load."""
        with self._lock:
            self._versions[partition] = self._versions.get(partition, 0) + 1
            self._drop(partition)

    def _drop(self, partition: str) -> None:
        entry = self._entries.pop(partition, None)
        if entry is not None:
            self._rows -= len(entry[0])


_lite_users: dict[str, int] = {}  # open archives per Lite data dir, to stop its server last
_caches: dict[str, _VectorCache] = {}  # per Lite data dir and collection, shared


def _prepare_lite(uri: str) -> str:
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


def _connect(uri: str, token: str | None, timeout: float) -> MilvusClient:
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


def _schema(dimension: int, layout: Layout) -> Any:
    schema = MilvusClient.create_schema(auto_id=True, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    for name, limit in _VARCHAR_LIMITS.items():
        extra = {"is_partition_key": True} if name == "owner" and layout == "partition_key" else {}
        schema.add_field(name, DataType.VARCHAR, max_length=limit, **extra)
    schema.add_field("page", DataType.INT32)
    schema.add_field("chunk", DataType.INT32)
    schema.add_field("created_at", DataType.INT64)
    return schema


def _built_with(info: dict[str, Any]) -> tuple[str | None, int | None, Layout]:
    """(model, dimension, layout) an existing collection was built with."""
    props = info.get("properties") or {}
    fields = {f["name"]: f for f in info.get("fields", [])}
    if "vector" not in fields or "owner" not in fields:
        raise StorageError(
            f"Collection {info.get('collection_name')!r} exists but was not created by membot.",
            hint="Use another collection name.",
        )
    dim = props.get(_PROP_DIMENSION) or fields["vector"].get("params", {}).get("dim")
    keyed = bool(fields["owner"].get("is_partition_key"))
    return (
        props.get(_PROP_MODEL),
        int(dim) if dim else None,
        ("partition_key" if keyed else "partitions"),
    )


def _check_match(
    collection: str, built: tuple[str | None, int | None, Layout], model: str, dimension: int
) -> None:
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


class MilvusArchive:
    """``ArchivalStore`` over one shared Milvus collection (Lite or server).

    Every pymilvus call is blocking and runs in a worker thread; writes are serialized
    by one lock (Lite asks for it). Use :meth:`open`, then ``aclose()`` or ``async with``.
    """

    def __init__(
        self, client: MilvusClient, *, uri: str, collection: str, dimension: int, layout: Layout
    ) -> None:
        self._client = client
        self._uri = uri
        self._collection = collection
        self.dimension = dimension
        self.layout: Layout = layout
        self._write_lock = asyncio.Lock()
        self._partitions: frozenset[str] = frozenset()
        self._closed = False
        self._consistency = {} if is_lite_uri(uri) else {"consistency_level": "Session"}
        self._cache: _VectorCache | None = None
        self._loader: ThreadPoolExecutor | None = None  # warms the cache off the query path
        self._loading: set[str] = set()

    @classmethod
    async def open(
        cls,
        uri: str,
        *,
        token: str | None = None,
        collection: str = "passages",
        dimension: int,
        embedding_model: str,
        layout: Layout | None = None,
        call_timeout: float = 30.0,
        cache_rows: int = _CACHE_ROWS,
    ) -> MilvusArchive:
        """Connect, create or check the collection, and load it for search.

        Args:
            uri: a local path ending in ``.db`` (Milvus Lite) or a server URI.
            token: server token (``user:password`` or an API key), if any.
            collection: the shared collection's name.
            dimension: the embedding model's native dimension.
            embedding_model: the embedding model's name, recorded with the collection.
            layout: force a layout (default: partitions on Lite, partition key on a server).
            call_timeout: seconds to wait for the server on each call.
            cache_rows: on Lite, how many vectors to keep in memory for exact numpy
                search of recently searched owners (0: always search in Milvus).

        Raises:
            EmbeddingMismatchError: the collection was built with another model/dimension.
            StorageError: Milvus is unreachable, locked or failing.
        """
        lite = is_lite_uri(uri)
        target = _prepare_lite(uri) if lite else uri
        client = await asyncio.to_thread(_connect, target, token, call_timeout)
        if lite:
            _lite_users[target] = _lite_users.get(target, 0) + 1
        chosen: Layout = layout or ("partitions" if lite else "partition_key")
        archive = cls(client, uri=target, collection=collection, dimension=dimension, layout=chosen)
        try:
            await archive._run("open", archive._prepare, embedding_model)
        except BaseException:
            await archive.aclose()
            raise
        if lite and cache_rows > 0 and archive.layout == "partitions":
            key = f"{target}#{collection}"
            archive._cache = _caches.setdefault(key, _VectorCache(cache_rows))
        return archive

    def _prepare(self, model: str) -> None:
        client, name = self._client, self._collection
        if client.has_collection(name):
            built = _built_with(client.describe_collection(name))
            _check_match(name, built, model, self.dimension)
            self.layout = built[2]
        else:
            index = client.prepare_index_params()
            index.add_index("vector", index_type="FLAT", metric_type="COSINE")
            client.create_collection(
                name,
                schema=_schema(self.dimension, self.layout),
                index_params=index,
                properties={_PROP_MODEL: model, _PROP_DIMENSION: str(self.dimension)},
                **self._consistency,
            )
            _log.info("created archive collection %s (%s, dim %d)", name, model, self.dimension)
        client.load_collection(name)  # released after a restart: search fails until loaded
        if self.layout == "partitions":
            self._partitions = frozenset(client.list_partitions(name))

    async def aclose(self) -> None:
        """Close the connection (and stop the Lite server when no archive uses it)."""
        if self._closed:
            return
        self._closed = True
        async with self._write_lock:
            if self._loader is not None:
                await asyncio.to_thread(self._loader.shutdown, wait=True, cancel_futures=True)
            await asyncio.to_thread(self._client.close)
        if self._uri in _lite_users:
            _lite_users[self._uri] -= 1
            if _lite_users[self._uri] <= 0:
                del _lite_users[self._uri]
                for key in [k for k in _caches if k.startswith(f"{self._uri}#")]:
                    del _caches[key]
                from milvus_lite.server_manager import server_manager_instance

                await asyncio.to_thread(server_manager_instance.release_server, self._uri)

    async def __aenter__(self) -> MilvusArchive:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _run(self, what: str, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """``fn(*args)`` in a worker thread; library errors become ``StorageError``."""
        if self._closed:
            raise StorageError("The archive is closed.")
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except (StorageError, ValueError):
            raise
        except Exception as exc:
            raise StorageError(
                f"Milvus {what} failed on collection {self._collection!r} at {self._uri!r}: {exc}"
            ) from exc

    def _scope(self, owners: Sequence[str]) -> _Scope | None:
        """Where to look for ``owners``' passages; None when none of them has any."""
        owners = list(dict.fromkeys(owners))
        if not owners:
            return None
        if self.layout == "partition_key":
            return _Scope(None, f"owner in {_in_list(owners)}")
        wanted = [_partition_for(o) for o in owners]
        if any(p not in self._partitions for p in wanted):
            self._partitions = frozenset(self._client.list_partitions(self._collection))
        # Never pass an unknown name: Lite ignores it, and an empty list means "everything".
        present = [p for p in wanted if p in self._partitions]
        return _Scope(present, "") if present else None

    def _scoped(self, scope: _Scope) -> dict[str, Any]:
        extra: dict[str, Any] = {"filter": scope.filter, **self._consistency}
        if scope.partitions is not None:
            extra["partition_names"] = scope.partitions
        return extra

    async def insert(self, records: Sequence[PassageRecord]) -> list[int]:
        """Store passages (in batches); returns their ids in the order given.

        Raises:
            EmbeddingMismatchError: a vector's dimension is not the archive's.
            ValueError: a ``created_at`` is naive.
        """
        if not records:
            return []
        try:
            rows = [_row(r, self.dimension) for r in records]
        except ValueError as exc:
            if "dimensions" in str(exc):
                raise EmbeddingMismatchError(str(exc)) from exc
            raise
        async with self._write_lock:
            return await self._run("insert", self._insert_rows, rows)

    def _insert_rows(self, rows: list[dict[str, Any]]) -> list[int]:
        groups: dict[str | None, list[int]] = {}
        for i, row in enumerate(rows):
            key = _partition_for(row["owner"]) if self.layout == "partitions" else None
            groups.setdefault(key, []).append(i)
        ids: list[int] = [0] * len(rows)
        for partition, members in groups.items():
            if partition is not None and partition not in self._partitions:
                if not self._client.has_partition(self._collection, partition):
                    self._client.create_partition(self._collection, partition)
                    if self._cache is not None:  # a new partition starts cached, empty
                        empty = np.zeros((0, self.dimension), dtype=np.float32)
                        version = self._cache.version(partition)
                        self._cache.put(partition, version, np.zeros(0, np.int64), empty)
                self._partitions = self._partitions | {partition}
            extra = {"partition_name": partition} if partition else {}
            done = 0
            for batch in _batches([rows[i] for i in members]):
                result = self._client.insert(self._collection, batch, **extra)
                for offset, new_id in enumerate(result["ids"]):
                    ids[members[done + offset]] = int(new_id)
                done += len(batch)
            if self._cache is not None and partition is not None:
                new_ids = np.asarray([ids[i] for i in members], dtype=np.int64)
                self._cache.append(
                    partition, new_ids, _unit_rows([rows[i]["vector"] for i in members])
                )
        return ids

    async def search(
        self, query: str, vector: Any, owners: Sequence[str], limit: int, offset: int = 0
    ) -> list[Passage]:
        """The ``limit`` passages nearest to ``vector`` after ``offset``, of ``owners`` only.

        ``query`` (the text) is not used by this dense search. Scores are cosine
        similarities, best first. Owners with no passages simply contribute nothing.
        """
        if limit <= 0:
            return []
        if offset < 0 or limit + offset > _MAX_WINDOW:
            raise ValueError(f"limit + offset must be between 1 and {_MAX_WINDOW}")
        query_vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query_vector.shape[0] != self.dimension:
            raise EmbeddingMismatchError(
                f"the query vector has {query_vector.shape[0]} dimensions; "
                f"the archive holds {self.dimension}"
            )
        return await self._run("search", self._search, query_vector.tolist(), owners, limit, offset)

    def _search(
        self, vector: list[float], owners: Sequence[str], limit: int, offset: int
    ) -> list[Passage]:
        scope = self._scope(owners)
        if scope is None:
            return []
        if self._cache is not None and scope.partitions is not None:
            found = self._cached_search(vector, scope.partitions, limit, offset)
            if found is not None:
                return found
        hits = self._client.search(
            self._collection,
            data=[vector],
            anns_field="vector",
            limit=limit,
            offset=offset,
            output_fields=_OUTPUT_FIELDS,
            search_params={"metric_type": "COSINE"},
            **self._scoped(scope),
        )
        return [_passage(hit, float(hit["distance"])) for hit in hits[0]]

    def _cached_search(
        self, vector: list[float], partitions: list[str], limit: int, offset: int
    ) -> list[Passage] | None:
        """Exact search over cached vectors, then one fetch of the winners' fields."""
        assert self._cache is not None
        entries = [self._cache.get(p) for p in partitions]
        if any(e is None for e in entries):
            self._warm_later([p for p, e in zip(partitions, entries, strict=True) if e is None])
            return None  # Milvus scans this time; the cache is loaded in the background
        ids = np.concatenate([e[0] for e in entries if e is not None])
        query = _unit_rows([vector])[0]
        scores = np.concatenate([e[1] @ query for e in entries if e is not None])
        want = min(limit + offset, len(ids))
        if want <= offset:
            return []
        best = np.argpartition(-scores, want - 1)[:want]
        best = best[np.argsort(-scores[best], kind="stable")][offset:]
        rows = self._client.query(
            self._collection,
            filter=f"id in [{', '.join(str(int(i)) for i in ids[best])}]",
            output_fields=_OUTPUT_FIELDS,
            partition_names=partitions,
        )
        by_id = {int(r["id"]): r for r in rows}
        return [
            _passage(by_id[int(i)], float(scores[b]))
            for b, i in zip(best, ids[best], strict=True)
            if int(i) in by_id
        ]

    def _warm_later(self, partitions: list[str]) -> None:
        """Load partitions into the cache in a background thread (once each at a time)."""
        if self._closed:
            return
        if self._loader is None:
            self._loader = ThreadPoolExecutor(1, thread_name_prefix="membot-archive-cache")
        for partition in partitions:
            if partition not in self._loading:
                self._loading.add(partition)
                self._loader.submit(self._load_quietly, partition)

    def _load_quietly(self, partition: str) -> None:
        try:
            self._cached(partition)
        except Exception as exc:  # the next search falls back to Milvus and retries
            _log.warning("could not cache archive partition %s: %s", partition, exc)
        finally:
            self._loading.discard(partition)

    def _cached(self, partition: str) -> tuple[_Ids, _Matrix] | None:
        """The partition's cached vectors, loaded on first use (None: too many rows)."""
        assert self._cache is not None
        entry = self._cache.get(partition)
        if entry is not None:
            return entry
        version = self._cache.version(partition)
        stats = self._client.get_partition_stats(self._collection, partition)
        if int(stats["row_count"]) > self._cache.max_rows:
            return None
        rows = self._client.query(
            self._collection,
            filter="",
            output_fields=["vector"],
            partition_names=[partition],
            limit=max(1, int(stats["row_count"]) + 1024),
        )
        ids = np.asarray([int(r["id"]) for r in rows], dtype=np.int64)
        vectors = (
            _unit_rows([r["vector"] for r in rows])
            if rows
            else np.zeros((0, self.dimension), np.float32)
        )
        self._cache.put(partition, version, ids, vectors)
        return ids, vectors

    async def warm(self, owners: Sequence[str]) -> None:
        """Load these owners' vectors into the Lite search cache now (e.g. when an agent
        wakes up), so its first search does not pay for it. No-op on a server."""
        if self._cache is not None:
            await self._run("warm", self._warm, owners)

    def _warm(self, owners: Sequence[str]) -> None:
        scope = self._scope(owners)
        for partition in scope.partitions or [] if scope else []:
            self._cached(partition)

    async def count(self, owners: Sequence[str]) -> int:
        """How many passages these owners hold together (exact; scans only their rows)."""
        return await self._run("count", self._count, owners, "")

    def _count(self, owners: Sequence[str], condition: str) -> int:
        scope = self._scope(owners)
        if scope is None:
            return 0
        if scope.partitions is not None and not condition:
            # Lite answers an unfiltered count(*) for the whole collection; its partition
            # statistics are exact (tombstones applied) and read only primary keys.
            stats = self._client.get_partition_stats
            return sum(int(stats(self._collection, p)["row_count"]) for p in scope.partitions)
        extra = self._scoped(scope)
        extra["filter"] = " and ".join(f for f in (extra["filter"], condition) if f)
        rows = self._client.query(self._collection, output_fields=["count(*)"], **extra)
        return int(rows[0]["count(*)"]) if rows else 0

    async def delete(
        self, owner: str, ids: Sequence[int] | None = None, doc: str | None = None
    ) -> int:
        """Delete an owner's passages: all of them, only ``ids``, or only those of file ``doc``.

        Returns how many passages were deleted. On Lite, deleting all of an owner's
        passages drops its partition.
        """
        if ids is not None and not ids:
            return 0
        conditions = []
        if ids is not None:
            conditions.append(f"id in [{', '.join(str(int(i)) for i in ids)}]")
        if doc is not None:
            conditions.append(f"doc == {_quote(_clip(doc, _VARCHAR_LIMITS['doc']))}")
        async with self._write_lock:
            return await self._run("delete", self._delete, owner, " and ".join(conditions))

    def _delete(self, owner: str, condition: str) -> int:
        found = self._count([owner], condition)
        if not found:
            return 0
        if self.layout == "partition_key":
            owner_filter = f"owner == {_quote(owner)}"
            full = f"{owner_filter} and {condition}" if condition else owner_filter
            self._client.delete(self._collection, filter=full)
            return found
        partition = _partition_for(owner)
        try:
            if condition:
                self._client.delete(self._collection, filter=condition, partition_name=partition)
            else:
                self._client.drop_partition(self._collection, partition)
                self._partitions = self._partitions - {partition}
        finally:
            if self._cache is not None:  # after the write: a racing load is then discarded
                self._cache.invalidate(partition)
        return found

    async def flush(self) -> None:
        """Persist buffered rows into indexed segments (call after a bulk load)."""
        async with self._write_lock:
            await self._run("flush", self._client.flush, self._collection)

    async def iter_passages(
        self, owner: str, batch_size: int = 1000
    ) -> AsyncIterator[tuple[Passage, Any]]:
        """Every passage of ``owner`` with its vector (float32 numpy array), for export."""
        scope = await self._run("export", self._scope, [owner])
        if scope is None:
            return
        iterator = await self._run(
            "export",
            self._client.query_iterator,
            self._collection,
            batch_size=batch_size,
            output_fields=[*_OUTPUT_FIELDS, "vector"],
            **self._scoped(scope),
        )
        try:
            while batch := await self._run("export", iterator.next):
                for row in batch:
                    yield _passage(row), np.asarray(row["vector"], dtype=np.float32)
        finally:
            await asyncio.to_thread(iterator.close)
