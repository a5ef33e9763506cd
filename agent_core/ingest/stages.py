"""The producer (parse + chunk) and inserter stages of the ingest pipeline."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from agent_core.domain import PassageRecord, SkippedFile, SourceInfo, UploadedFile
from agent_core.errors import IngestError
from agent_core.ingest.chunking import Chunk, Chunker
from agent_core.ingest.loaders import OpenedDocument, Page, no_text_error, open_document

_log = logging.getLogger(__name__)
PAGES_PER_STEP = 4  # pages parsed per thread hop: small enough to start embedding early


@dataclass(frozen=True, slots=True)
class FileStart:
    """A file's passages follow."""

    name: str
    sha256: str


@dataclass(frozen=True, slots=True)
class FileDone:
    """All of a file's passages were sent."""

    name: str
    sha256: str
    pages: int
    passages: int


@dataclass(frozen=True, slots=True)
class FileFailed:
    """A file failed part-way; whatever of it was stored must go."""

    name: str
    sha256: str


Marker = FileStart | FileDone | FileFailed
Parsed = Marker | list[Chunk]


class Producer:
    """Parses files off the event loop, page by page, into batches of chunks."""

    def __init__(self, files: Sequence[tuple[UploadedFile, str]], chunker: Chunker,
                 max_bytes: int, batch_size: int, taken: set[str] | None = None) -> None:
        self.files = files
        self.taken = taken or set()  # file names the source already holds
        self.chunker = chunker
        self.max_bytes = max_bytes
        self.batch_size = max(1, batch_size)
        self.skipped: list[SkippedFile] = []

    async def run(self, out: asyncio.Queue[Parsed | None]) -> None:
        """Put every file's markers and chunk batches on ``out``, then ``None``."""
        used: set[str] = set(self.taken)
        for file, sha in self.files:
            name = _unique_name(file.name, used)
            await out.put(FileStart(name, sha))
            try:
                pages, passages = await self._parse(file, name, out)
            except Exception as exc:
                await out.put(FileFailed(name, sha))
                self.skipped.append(_skip(name, exc))
                continue
            await out.put(FileDone(name, sha, pages, passages))
        await out.put(None)

    async def _parse(self, file: UploadedFile, name: str,
                     out: asyncio.Queue[Parsed | None]) -> tuple[int, int]:
        named = UploadedFile(name, file.data, file.content_type)
        doc = await asyncio.to_thread(open_document, named, max_bytes=self.max_bytes)
        pages_iter = doc.iter_pages()
        pending: list[Chunk] = []
        passages = 0
        while step := await asyncio.to_thread(self._step, doc, pages_iter, passages
                                              + len(pending)):
            pending.extend(step)
            while len(pending) >= self.batch_size:
                batch, pending = pending[:self.batch_size], pending[self.batch_size:]
                await out.put(batch)
                passages += len(batch)
        if pending:
            await out.put(pending)
            passages += len(pending)
        if passages == 0:
            raise no_text_error(name, doc.kind)
        return doc.page_count, passages

    def _step(self, doc: OpenedDocument, pages: Iterator[Page], first: int) -> list[Chunk] | None:
        """Parse and chunk the next few pages; ``None`` at the end of the document."""
        batch = [page for _, page in zip(range(PAGES_PER_STEP), pages, strict=False)]
        if not batch:
            return None
        chunks = self.chunker.chunk_pages(doc.name, batch, first_index=first)
        return chunks or []


class RecordStore(Protocol):
    """What the inserter needs from the state store."""

    async def begin_source_file(self, source_id: str, name: str, sha256: str) -> None: ...
    async def finish_source_file(self, source_id: str, sha256: str, pages: int,
                                 passages: int) -> None: ...
    async def drop_source_file(self, source_id: str, sha256: str) -> None: ...


class PassageSink(Protocol):
    """What the inserter needs from the archival store."""

    async def insert(self, records: Sequence[Any]) -> list[int]: ...
    async def delete(self, owner: str, ids: Sequence[int] | None = None,
                     doc: str | None = None) -> int: ...


class Inserter:
    """Stores record batches; keeps each file pending until its last batch is in."""

    def __init__(self, state: RecordStore, archive: PassageSink, source: SourceInfo) -> None:
        self.state = state
        self.archive = archive
        self.source = source
        self._open: FileStart | None = None  # the file being stored
        self._begun = False  # whether its pending record exists

    async def run(self, records: asyncio.Queue[Any]) -> None:
        """Consume markers and record batches until ``None``."""
        while (item := await records.get()) is not None:
            if isinstance(item, FileStart):
                self._open, self._begun = item, False
            elif isinstance(item, FileDone):
                if self._begun:
                    await self.state.finish_source_file(self.source.id, item.sha256,
                                                        item.pages, item.passages)
                self._open, self._begun = None, False
            elif isinstance(item, FileFailed):
                await self.cleanup()
            else:
                await self._insert(item)

    async def _insert(self, batch: list[PassageRecord]) -> None:
        if self._open is None:
            raise RuntimeError("passages arrived outside of a file")
        if not self._begun:
            await self.state.begin_source_file(self.source.id, self._open.name,
                                               self._open.sha256)
            self._begun = True
        await self.archive.insert(batch)

    async def cleanup(self) -> None:
        """Remove the passages and pending record of a file that did not finish."""
        current, begun = self._open, self._begun
        self._open, self._begun = None, False
        if current is None or not begun:
            return
        removed = await self.archive.delete(self.source.id, doc=current.name)
        await self.state.drop_source_file(self.source.id, current.sha256)
        _log.info("source %s: removed %d passages of unfinished %s",
                  self.source.id, removed, current.name)


def passage_records(source: SourceInfo, chunks: Sequence[Chunk],
                    vectors: Any) -> list[PassageRecord]:
    """Archive records for chunks and their vectors (owner = the source's id)."""
    if len(vectors) != len(chunks):
        raise ValueError(f"{len(vectors)} vectors for {len(chunks)} passages")
    now = datetime.now(UTC)
    return [PassageRecord(text=c.text, vector=v, owner=source.id, workspace=source.workspace,
                          created_at=now, source_name=source.name, doc=c.doc, page=c.page,
                          chunk=c.index)
            for c, v in zip(chunks, vectors, strict=True)]


def _unique_name(name: str, used: set[str]) -> str:
    """The file's name, suffixed " (2)", " (3)"... if another file of the load has it."""
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name} ({n})"
    used.add(candidate)
    return candidate


def _skip(name: str, exc: Exception) -> SkippedFile:
    if isinstance(exc, IngestError):
        _log.info("skipped %s: %s", name, exc.message)
        return SkippedFile(name, exc.reason, exc.message)
    _log.exception("unexpected error while reading %s", name)
    return SkippedFile(name, "error", f"could not be read ({type(exc).__name__}: {exc})")
