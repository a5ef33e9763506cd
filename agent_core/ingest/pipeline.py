"""The ingest pipeline: files -> pages -> passages -> vectors -> the shared archive.

Three stages run concurrently and talk through bounded queues, so parsing and
inserting overlap with embedding (the slow part)::

    parse (thread, page by page) --chunks--> embed --records--> insert

Every file is recorded as *pending* in the state store before its first passage is
inserted and marked *done* after its last one. A load that dies half-way leaves a
pending record; the next load of that source deletes the file's passages first, so
nothing is ever orphaned or duplicated, and loading the same bytes again is a no-op.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from agent_core.config import EngineConfig
from agent_core.domain import (
    LoadProgress,
    LoadReport,
    ProgressCallback,
    SkippedFile,
    SourceInfo,
    UploadedFile,
)
from agent_core.errors import EmbeddingMismatchError, IngestError
from agent_core.ingest.chunking import Chunker
from agent_core.ingest.stages import (
    FileDone,
    FileFailed,
    FileStart,
    Inserter,
    Parsed,
    Producer,
    passage_records,
)
from agent_core.ports import Embedder

_log = logging.getLogger(__name__)
MAX_SOURCE_NAME = 100


class SourceCatalog(Protocol):
    """The state store's source bookkeeping that the pipeline needs."""

    async def create_source(self, workspace: str, name: str,
                            embedding_model: str) -> SourceInfo: ...
    async def get_source(self, workspace: str, name: str) -> SourceInfo | None: ...
    async def source_file_status(self, source_id: str, sha256: str) -> str | None: ...
    async def begin_source_file(self, source_id: str, name: str, sha256: str) -> None: ...
    async def finish_source_file(self, source_id: str, sha256: str, pages: int,
                                 passages: int) -> None: ...
    async def pending_source_files(self, source_id: str) -> list[tuple[str, str]]: ...
    async def drop_source_file(self, source_id: str, sha256: str) -> None: ...
    async def source_file_names(self, source_id: str) -> list[str]: ...
    async def delete_source(self, source_id: str) -> None: ...


class DocumentArchive(Protocol):
    """The archival store's calls the pipeline needs (``flush`` is optional)."""

    async def insert(self, records: Sequence[Any]) -> list[int]: ...
    async def delete(self, owner: str, ids: Sequence[int] | None = None,
                     doc: str | None = None) -> int: ...


@dataclass(slots=True)
class _Tally:
    files_total: int
    loaded: int = 0
    unchanged: int = 0
    pages: int = 0
    passages: int = 0


class IngestPipeline:
    """Loads uploaded files into a workspace's source.

    Args:
        state: the state store (source and file records).
        archive: the archival store (passages, owner = the source's id).
        embedder: the engine's embedder.
        config: chunk size/overlap, the file size limit, the embedding batch size.
    """

    def __init__(self, state: SourceCatalog, archive: DocumentArchive, embedder: Embedder,
                 config: EngineConfig) -> None:
        self.state = state
        self.archive = archive
        self.embedder = embedder
        self.config = config
        self.chunker = Chunker(config.chunk_tokens, config.chunk_overlap)

    async def load(self, workspace: str, name: str, files: Sequence[UploadedFile],
                   progress: ProgressCallback | None = None) -> LoadReport:
        """Ingest ``files`` into source ``name`` of ``workspace`` (created if new).

        Files already loaded (same sha256) are counted as unchanged; files that fail
        to parse are listed in ``LoadReport.skipped``; other failures (embedding,
        storage) abort the load after removing the current file's passages.

        Raises:
            IngestError: reason ``bad_name`` for an empty or over-long source name.
            EmbeddingMismatchError: the source was built with another embedding model.
        """
        started = time.perf_counter()
        source = await self._open_source(workspace, name.strip())
        await self.recover(source)
        todo, unchanged = await self._new_files(source, files)
        tally = _Tally(files_total=len(files), unchanged=unchanged)
        skipped = await self._run(source, todo, tally, progress)
        if tally.loaded:
            await self._flush()
        elif source.files == 0 and not tally.unchanged:
            await self.state.delete_source(source.id)  # nothing could be read: no empty source
        await _notify(progress, LoadProgress("done", "", len(files), len(files),
                                             tally.pages, tally.passages))
        return LoadReport(source.name, tally.loaded, tally.unchanged, tally.pages,
                          tally.passages, time.perf_counter() - started, tuple(skipped))

    async def recover(self, source: SourceInfo) -> int:
        """Delete the passages of files whose load never finished; returns how many files."""
        pending = await self.state.pending_source_files(source.id)
        for filename, sha in pending:
            removed = await self.archive.delete(source.id, doc=filename)
            await self.state.drop_source_file(source.id, sha)
            _log.info("source %s: removed %d passages of the unfinished load of %s",
                      source.id, removed, filename)
        return len(pending)

    async def _open_source(self, workspace: str, name: str) -> SourceInfo:
        if not name or len(name) > MAX_SOURCE_NAME:
            raise IngestError(f"A source name needs 1 to {MAX_SOURCE_NAME} characters.",
                              reason="bad_name")
        source = await self.state.get_source(workspace, name)
        if source is None:
            return await self.state.create_source(workspace, name, self.embedder.name)
        if source.embedding_model != self.embedder.name:
            raise EmbeddingMismatchError(
                f"The source '{name}' was built with {source.embedding_model}, "
                f"but this bot embeds with {self.embedder.name}.",
                hint="Delete the source and load it again, or load into a new name.")
        return source

    async def _new_files(self, source: SourceInfo, files: Sequence[UploadedFile]
                         ) -> tuple[list[tuple[UploadedFile, str]], int]:
        """Files whose content is not in the source yet (duplicates in the batch once)."""
        todo: list[tuple[UploadedFile, str]] = []
        seen: set[str] = set()
        unchanged = 0
        for file in files:
            sha = hashlib.sha256(file.data).hexdigest()
            if sha in seen or await self.state.source_file_status(source.id, sha) == "done":
                unchanged += 1
                continue
            seen.add(sha)
            todo.append((file, sha))
        return todo, unchanged

    async def _run(self, source: SourceInfo, todo: list[tuple[UploadedFile, str]],
                   tally: _Tally, progress: ProgressCallback | None) -> list[SkippedFile]:
        chunks: asyncio.Queue[Parsed | None] = asyncio.Queue(maxsize=4)
        records: asyncio.Queue[Any] = asyncio.Queue(maxsize=2)
        taken = set(await self.state.source_file_names(source.id))
        producer = Producer(todo, self.chunker, self.config.max_file_bytes,
                            self.config.embedding_batch_size, taken)
        inserter = Inserter(self.state, self.archive, source)
        tasks = [
            asyncio.create_task(producer.run(chunks), name=f"ingest-parse-{source.id}"),
            asyncio.create_task(self._embed(source, chunks, records, tally, progress),
                                name=f"ingest-embed-{source.id}"),
            asyncio.create_task(inserter.run(records), name=f"ingest-insert-{source.id}"),
        ]
        try:
            await _gather_or_cancel(tasks)
        finally:
            await inserter.cleanup()
        return producer.skipped

    async def _embed(self, source: SourceInfo, chunks: asyncio.Queue[Parsed | None],
                     records: asyncio.Queue[Any], tally: _Tally,
                     progress: ProgressCallback | None) -> None:
        """Embed batches of chunks in order and hand them on as records."""
        while (item := await chunks.get()) is not None:
            if isinstance(item, FileStart):
                await _notify(progress, self._progress("parsing", item.name, tally))
                await records.put(item)
            elif isinstance(item, FileDone):
                tally.loaded += 1
                tally.pages += item.pages
                tally.passages += item.passages
                await records.put(item)
                await _notify(progress, self._progress("storing", item.name, tally))
            elif isinstance(item, FileFailed):
                await records.put(item)
            else:
                vectors = await self.embedder.embed([c.text for c in item])
                await records.put(passage_records(source, item, vectors))
                await _notify(progress, self._progress("embedding", item[0].doc, tally))
        await records.put(None)

    def _progress(self, stage: Any, filename: str, tally: _Tally) -> LoadProgress:
        done = tally.loaded + tally.unchanged
        return LoadProgress(stage, filename, done, tally.files_total, tally.pages,
                            tally.passages)

    async def _flush(self) -> None:
        flush = getattr(self.archive, "flush", None)
        if flush is not None:
            await flush()


async def _notify(progress: ProgressCallback | None, event: LoadProgress) -> None:
    if progress is not None:
        await progress(event)


async def _gather_or_cancel(tasks: list[asyncio.Task[Any]]) -> None:
    """Wait for all stages; on the first failure cancel the others and re-raise."""
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
