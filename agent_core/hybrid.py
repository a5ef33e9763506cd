"""Hybrid archival retrieval: dense vectors and BM25 keywords, fused by reciprocal rank.

Dense embeddings find paraphrases; keywords find exact names, codes and rare words
the embedding blurs. ``eval/retrieval.py`` measures both on the product path (the
README has the figures). ``HybridArchive`` wraps the vector archive and a keyword
index and is itself an ``ArchivalStore``.

The keyword index must hold every passage of the archive. An installation that ran
without it (older versions, or ``retrieval = "dense"``) has passages it never saw:
:meth:`HybridArchive.start_backfill` rebuilds the index from the archive in the
background, and searches use the dense ranking alone until that is done.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol

from agent_core.domain import Passage, PassageRecord

if TYPE_CHECKING:
    from agent_core.backends.keyword_index import KeywordIndex
    from agent_core.ports import ArchivalStore

__all__ = [
    "RRF_K", "DenseArchive", "HybridArchive", "OwnerDirectory", "fuse", "mark_keywords_stale",
    "open_hybrid",
    "with_retrieval",
]

_log = logging.getLogger(__name__)

RRF_K = 60  # reciprocal rank fusion constant (as Milvus's RRFRanker default)
MIN_DEPTH = 50  # each ranking contributes at least this many candidates
_MAX_DEPTH = 16384  # the vector store's largest search window
_BACKFILL_BATCH = 500


class DenseArchive(Protocol):
    """The vector archive ``HybridArchive`` wraps: an ``ArchivalStore`` that can also
    fetch passages by id and list an owner's passages."""

    async def insert(self, records: Sequence[PassageRecord]) -> list[int]: ...

    async def search(self, query: str, vector: Any, owners: Sequence[str], limit: int,
                     offset: int = 0) -> list[Passage]: ...

    async def count(self, owners: Sequence[str]) -> int: ...

    async def delete(self, owner: str, ids: Sequence[int] | None = None,
                     doc: str | None = None) -> int: ...

    async def get(self, ids: Sequence[int], owners: Sequence[str]) -> list[Passage]: ...

    def iter_passages(self, owner: str) -> AsyncIterator[tuple[Passage, Any]]: ...


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


class OwnerDirectory(Protocol):
    """Where the owners of archived passages are listed (the state store)."""

    async def all_agents(self) -> Sequence[_HasId]: ...

    async def all_sources(self) -> Sequence[_HasId]: ...


def fuse(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: ids with ``sum(1 / (k + rank))`` over rankings, best first.

    Ranks start at 1; ties keep the order in which ids were first seen.
    """
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, passage_id in enumerate(ranking, start=1):
            scores[passage_id] = scores.get(passage_id, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


class HybridArchive:
    """``ArchivalStore`` ranking by reciprocal rank fusion of dense and keyword search.

    Writes go to both stores (the vector archive first: its ids key the keyword rows);
    ``count`` is the vector archive's. A ``Passage``'s ``score`` is its fused score.
    """

    def __init__(self, dense: DenseArchive, keywords: KeywordIndex) -> None:
        self.dense = dense
        self.keywords = keywords
        self._ready = asyncio.Event()
        self._ready.set()  # until start_backfill says otherwise, the index is complete
        self._backfill: asyncio.Task[None] | None = None
        self._owner_lock = asyncio.Lock()  # a backfilled owner vs deletes of that owner

    # -- the ArchivalStore port -------------------------------------------------------------

    async def insert(self, records: Sequence[PassageRecord]) -> list[int]:
        """Store passages in the vector archive, then index their text; returns their ids.

        If indexing fails, the passages are removed from the vector archive again and
        the error is raised: nothing is half-stored.
        """
        ids = await self.dense.insert(records)
        try:
            await self.keywords.add(ids, [r.owner for r in records], [r.doc for r in records],
                                    [r.text for r in records])
        except Exception:
            await self._undo_insert(records, ids)
            raise
        return ids

    async def _undo_insert(self, records: Sequence[PassageRecord], ids: Sequence[int]) -> None:
        by_owner: dict[str, list[int]] = {}
        for record, passage_id in zip(records, ids, strict=True):
            by_owner.setdefault(record.owner, []).append(passage_id)
        for owner, owned in by_owner.items():
            try:
                await self.dense.delete(owner, owned)
            except Exception as exc:  # the original error is what the caller must see
                _log.error("could not undo %d archived passages of %s: %s",
                           len(owned), owner, exc)

    async def search(self, query: str, vector: Any, owners: Sequence[str], limit: int,
                     offset: int = 0) -> list[Passage]:
        """The ``limit`` best passages after ``offset`` of ``owners``, by fused rank.

        Each ranking contributes its top ``max(50, 4 * (offset + limit))``. While the
        keyword index is being rebuilt, this is the dense ranking alone.
        """
        if limit <= 0:
            return []
        if offset < 0:
            raise ValueError("offset must not be negative")
        if not self._ready.is_set():
            return await self.dense.search(query, vector, owners, limit, offset)
        depth = max(MIN_DEPTH, 4 * (offset + limit))
        depth = max(min(depth, _MAX_DEPTH), offset + limit)
        dense_hits, keyword_ids = await asyncio.gather(
            self.dense.search(query, vector, owners, depth),
            self.keywords.search(query, owners, depth))
        page = fuse([[p.id for p in dense_hits], keyword_ids])[offset:offset + limit]
        found = {p.id: p for p in dense_hits}
        missing = [i for i, _ in page if i not in found]
        if missing:
            found.update((p.id, p) for p in await self.dense.get(missing, owners))
        stale = [i for i in missing if i not in found]
        if stale:
            _log.debug("keyword index holds %d passages the archive lacks", len(stale))
        return [replace(found[i], score=score) for i, score in page if i in found]

    async def count(self, owners: Sequence[str]) -> int:
        """How many passages these owners hold together (the vector archive's count)."""
        return await self.dense.count(owners)

    async def delete(self, owner: str, ids: Sequence[int] | None = None,
                     doc: str | None = None) -> int:
        """Delete an owner's passages (all, ``ids``, or file ``doc``'s) from both stores."""
        async with self._owner_lock:
            removed = await self.dense.delete(owner, ids, doc)
            await self.keywords.delete(owner, ids, doc)
        return removed

    # -- passed through to the vector archive -----------------------------------------------

    async def get(self, ids: Sequence[int], owners: Sequence[str]) -> list[Passage]:
        """The passages with these ids that belong to ``owners`` (vector archive)."""
        return await self.dense.get(ids, owners)

    def iter_passages(self, owner: str) -> AsyncIterator[tuple[Passage, Any]]:
        """Every passage of ``owner`` with its vector (vector archive)."""
        return self.dense.iter_passages(owner)

    async def flush(self) -> None:
        """Persist the vector archive's buffered rows (after a bulk load), if it buffers."""
        flush = getattr(self.dense, "flush", None)
        if flush is not None:
            await flush()

    async def warm(self, owners: Sequence[str]) -> None:
        """Let the vector archive preload these owners, if it can."""
        warm = getattr(self.dense, "warm", None)
        if warm is not None:
            await warm(owners)

    async def aclose(self) -> None:
        """Stop a running backfill, then close the keyword index and the vector archive."""
        if self._backfill is not None and not self._backfill.done():
            self._backfill.cancel()
            await asyncio.gather(self._backfill, return_exceptions=True)
        await self.keywords.aclose()
        await _close(self.dense)

    async def __aenter__(self) -> HybridArchive:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    # -- backfill ---------------------------------------------------------------------------

    async def start_backfill(self, directory: OwnerDirectory) -> None:
        """Rebuild the keyword index from the vector archive in the background, if needed.

        Needed when the index was never marked complete (a new index beside an existing
        archive, an interrupted rebuild, or a spell of dense-only retrieval). Until the
        rebuild finishes, searches use the dense ranking alone.
        """
        if await self.keywords.is_synced():
            return
        self._ready.clear()
        await self.keywords.clear()  # now: rows inserted from here on must stay
        self._backfill = asyncio.create_task(self._rebuild(directory),
                                             name="membot-keyword-backfill")
        self._backfill.add_done_callback(self._backfill_done)

    @property
    def backfilling(self) -> bool:
        """Whether the keyword index is still being rebuilt (searches are dense only)."""
        return not self._ready.is_set()

    async def wait_ready(self) -> None:
        """Wait until the keyword index is complete (returns at once if it is)."""
        if self._backfill is not None:
            await asyncio.shield(self._backfill)
        await self._ready.wait()

    def _backfill_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            _log.info("keyword index rebuild stopped; it starts again at the next open")
        elif task.exception() is not None:
            _log.error("keyword index rebuild failed (searches stay dense only until the "
                       "next start): %s", task.exception())

    async def _rebuild(self, directory: OwnerDirectory) -> None:
        started = time.perf_counter()
        owners = [a.id for a in await directory.all_agents()]
        owners += [s.id for s in await directory.all_sources()]
        _log.info("building the keyword index from the archive: %d owners", len(owners))
        total = 0
        for done, owner in enumerate(owners, start=1):
            async with self._owner_lock:
                total += await self._backfill_owner(owner)
            if done % 100 == 0 or done == len(owners):
                _log.info("keyword index: %d/%d owners, %d passages", done, len(owners), total)
        await self.keywords.set_synced(True)
        self._ready.set()
        _log.info("keyword index built: %d passages in %.1f s", total,
                  time.perf_counter() - started)

    async def _backfill_owner(self, owner: str) -> int:
        batch: list[Passage] = []
        added = 0
        async for passage, _vector in self.dense.iter_passages(owner):
            batch.append(passage)
            if len(batch) >= _BACKFILL_BATCH:
                added += await self._index(batch)
                batch = []
        return added + await self._index(batch)

    async def _index(self, passages: Sequence[Passage]) -> int:
        if passages:
            await self.keywords.add([p.id for p in passages], [p.owner for p in passages],
                                    [p.doc for p in passages], [p.text for p in passages])
        return len(passages)


async def with_retrieval(dense: DenseArchive, retrieval: Literal["hybrid", "dense"],
                         keywords_path: Path, directory: OwnerDirectory) -> ArchivalStore:
    """The archive the engine searches: ``dense`` wrapped for hybrid retrieval, or itself.

    Hybrid opens the keyword index at ``keywords_path`` and starts its backfill if
    needed. Dense marks an existing keyword index stale, because passages stored now
    will be missing from it. On failure ``dense`` is closed.
    """
    try:
        if retrieval == "hybrid":
            return await open_hybrid(dense, keywords_path, directory)
        await mark_keywords_stale(keywords_path)
        return dense
    except BaseException:
        await _close(dense)
        raise


async def open_hybrid(dense: DenseArchive, path: Path, directory: OwnerDirectory) -> HybridArchive:
    """Wrap ``dense`` with the keyword index at ``path`` and start its backfill if needed.

    On failure the keyword index is closed (``dense`` is left to the caller).
    """
    from agent_core.backends.keyword_index import KeywordIndex

    index = await KeywordIndex.open(path)
    hybrid = HybridArchive(dense, index)
    try:
        await hybrid.start_backfill(directory)
    except BaseException:
        await index.aclose()
        raise
    return hybrid


async def mark_keywords_stale(path: Path) -> None:
    """Record that the archive may change without the keyword index at ``path`` (dense-only
    retrieval), so that hybrid retrieval rebuilds it when it is next used."""
    if not await asyncio.to_thread(path.exists):
        return
    from agent_core.backends.keyword_index import KeywordIndex

    async with await KeywordIndex.open(path) as index:
        if await index.is_synced():
            await index.set_synced(False)
            _log.info("keyword index %s marked for a rebuild (dense-only retrieval)", path)


async def _close(part: object) -> None:
    closer = getattr(part, "aclose", None)
    if closer is not None:
        await closer()
