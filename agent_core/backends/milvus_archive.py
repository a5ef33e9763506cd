"""The archival store in Milvus: one shared collection, searched by owner.

Milvus Lite (a local path) and a Milvus server (``http(s)://``/``tcp://`` URI) lay the
collection out differently, because they are fast in different ways (REFERENCE.md):

* Lite scans every row of the searched partitions in Python, so each owner (agent or
  source) gets its own partition, created on first insert, and a search names the
  partitions (``partition_names=[owner, *sources]``): it costs only their rows.
* A server caps manual partitions at 1,024, so ``owner`` is a partition key and a
  search filters ``owner in [...]``.

Both use a FLAT (exact) index with cosine similarity: filtered HNSW silently loses
results on Lite. ``Scope`` hides the difference from the rest of the store.

On Lite, searches of recently searched owners run as exact numpy products over a
write-through cache of their vectors (``vector_cache``), then fetch only the winners'
fields: ~15x cheaper than Lite's own per-row scan, with the same results.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

import numpy as np
from pymilvus import MilvusClient

from agent_core.backends.milvus_schema import (
    MAX_WINDOW,
    OUTPUT_FIELDS,
    PROP_DIMENSION,
    PROP_MODEL,
    VARCHAR_LIMITS,
    Layout,
    Scope,
    batches,
    built_with,
    check_match,
    clip,
    collection_schema,
    connect,
    in_list,
    is_lite_uri,
    partition_for,
    prepare_lite,
    quote,
    to_passage,
    to_row,
)
from agent_core.backends.vector_cache import Ids, Matrix, VectorCache, unit_rows
from agent_core.domain import Passage, PassageRecord
from agent_core.errors import EmbeddingMismatchError, StorageError

__all__ = ["Layout", "MilvusArchive", "is_lite_uri"]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

_CACHE_ROWS = 250_000  # ~384 MB of float32 vectors at dimension 384


_lite_users: dict[str, int] = {}  # open archives per Lite data dir, to stop its server last
_caches: dict[str, VectorCache] = {}  # per Lite data dir and collection, shared


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
        self._cache: VectorCache | None = None
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
        target = prepare_lite(uri) if lite else uri
        client = await asyncio.to_thread(connect, target, token, call_timeout)
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
            archive._cache = _caches.setdefault(key, VectorCache(cache_rows))
        return archive

    def _prepare(self, model: str) -> None:
        client, name = self._client, self._collection
        if client.has_collection(name):
            built = built_with(client.describe_collection(name))
            check_match(name, built, model, self.dimension)
            self.layout = built[2]
        else:
            index = client.prepare_index_params()
            index.add_index("vector", index_type="FLAT", metric_type="COSINE")
            client.create_collection(
                name,
                schema=collection_schema(self.dimension, self.layout),
                index_params=index,
                properties={PROP_MODEL: model, PROP_DIMENSION: str(self.dimension)},
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

    def _scope(self, owners: Sequence[str]) -> Scope | None:
        """Where to look for ``owners``' passages; None when none of them has any."""
        owners = list(dict.fromkeys(owners))
        if not owners:
            return None
        if self.layout == "partition_key":
            return Scope(None, f"owner in {in_list(owners)}")
        wanted = [partition_for(o) for o in owners]
        if any(p not in self._partitions for p in wanted):
            self._partitions = frozenset(self._client.list_partitions(self._collection))
        # Never pass an unknown name: Lite ignores it, and an empty list means "everything".
        present = [p for p in wanted if p in self._partitions]
        return Scope(present, "") if present else None

    def _scoped(self, scope: Scope) -> dict[str, Any]:
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
            rows = [to_row(r, self.dimension) for r in records]
        except ValueError as exc:
            if "dimensions" in str(exc):
                raise EmbeddingMismatchError(str(exc)) from exc
            raise
        async with self._write_lock:
            return await self._run("insert", self._insert_rows, rows)

    def _insert_rows(self, rows: list[dict[str, Any]]) -> list[int]:
        groups: dict[str | None, list[int]] = {}
        for i, row in enumerate(rows):
            key = partition_for(row["owner"]) if self.layout == "partitions" else None
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
            for batch in batches([rows[i] for i in members]):
                result = self._client.insert(self._collection, batch, **extra)
                for offset, new_id in enumerate(result["ids"]):
                    ids[members[done + offset]] = int(new_id)
                done += len(batch)
            if self._cache is not None and partition is not None:
                new_ids = np.asarray([ids[i] for i in members], dtype=np.int64)
                self._cache.append(
                    partition, new_ids, unit_rows([rows[i]["vector"] for i in members])
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
        if offset < 0 or limit + offset > MAX_WINDOW:
            raise ValueError(f"limit + offset must be between 1 and {MAX_WINDOW}")
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
            output_fields=OUTPUT_FIELDS,
            search_params={"metric_type": "COSINE"},
            **self._scoped(scope),
        )
        return [to_passage(hit, float(hit["distance"])) for hit in hits[0]]

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
        query = unit_rows([vector])[0]
        scores = np.concatenate([e[1] @ query for e in entries if e is not None])
        want = min(limit + offset, len(ids))
        if want <= offset:
            return []
        best = np.argpartition(-scores, want - 1)[:want]
        best = best[np.argsort(-scores[best], kind="stable")][offset:]
        rows = self._client.query(
            self._collection,
            filter=f"id in [{', '.join(str(int(i)) for i in ids[best])}]",
            output_fields=OUTPUT_FIELDS,
            partition_names=partitions,
        )
        by_id = {int(r["id"]): r for r in rows}
        return [
            to_passage(by_id[int(i)], float(scores[b]))
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

    def _cached(self, partition: str) -> tuple[Ids, Matrix] | None:
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
            unit_rows([r["vector"] for r in rows])
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

    async def get(self, ids: Sequence[int], owners: Sequence[str]) -> list[Passage]:
        """The passages with these ids that belong to ``owners``, in the order of ``ids``.

        Ids that do not exist (or belong to another owner) are left out.
        """
        wanted = list(dict.fromkeys(int(i) for i in ids))
        if not wanted:
            return []
        return await self._run("get", self._get, wanted, owners)

    def _get(self, ids: list[int], owners: Sequence[str]) -> list[Passage]:
        scope = self._scope(owners)
        if scope is None:
            return []
        extra = self._scoped(scope)
        extra["filter"] = " and ".join(
            f for f in (extra["filter"], f"id in [{', '.join(map(str, ids))}]") if f)
        rows = self._client.query(self._collection, output_fields=OUTPUT_FIELDS, **extra)
        by_id = {int(r["id"]): to_passage(r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

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
            return sum(self._partition_rows(p) for p in scope.partitions)
        extra = self._scoped(scope)
        extra["filter"] = " and ".join(f for f in (extra["filter"], condition) if f)
        rows = self._client.query(self._collection, output_fields=["count(*)"], **extra)
        return int(rows[0]["count(*)"]) if rows else 0

    def _partition_rows(self, partition: str) -> int:
        """Rows of a Lite partition: from the cache (exact: write-through) or Milvus."""
        entry = self._cache.get(partition) if self._cache is not None else None
        if entry is not None:
            return len(entry[0])
        return int(self._client.get_partition_stats(self._collection, partition)["row_count"])

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
            conditions.append(f"doc == {quote(clip(doc, VARCHAR_LIMITS['doc']))}")
        async with self._write_lock:
            return await self._run("delete", self._delete, owner, " and ".join(conditions))

    def _delete(self, owner: str, condition: str) -> int:
        found = self._count([owner], condition)
        if not found:
            return 0
        if self.layout == "partition_key":
            owner_filter = f"owner == {quote(owner)}"
            full = f"{owner_filter} and {condition}" if condition else owner_filter
            self._client.delete(self._collection, filter=full)
            return found
        partition = partition_for(owner)
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
            output_fields=[*OUTPUT_FIELDS, "vector"],
            **self._scoped(scope),
        )
        try:
            while batch := await self._run("export", iterator.next):
                for row in batch:
                    yield to_passage(row), np.asarray(row["vector"], dtype=np.float32)
        finally:
            await asyncio.to_thread(iterator.close)
