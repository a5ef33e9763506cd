"""The ingest pipeline over the real SQLite state store and strict in-memory ports."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent_core.backends.sqlite_state import SqliteState
from agent_core.config import EngineConfig
from agent_core.domain import LoadProgress, UploadedFile
from agent_core.errors import EmbeddingMismatchError, IngestError
from agent_core.ingest.pipeline import IngestPipeline
from tests.ingest.docs import fixture_file
from tests.ingest.fakes import HashEmbedder, MemoryArchive


@pytest.fixture
async def state(tmp_path: Path) -> AsyncIterator[SqliteState]:
    store = await SqliteState.open(tmp_path / "state.sqlite3")
    yield store
    await store.aclose()


def pipeline(state: SqliteState, archive: MemoryArchive, tmp_path: Path,
             **config: object) -> IngestPipeline:
    cfg = EngineConfig(data_dir=tmp_path, embedding_batch_size=2, **config)  # type: ignore[arg-type]
    return IngestPipeline(state, archive, HashEmbedder(), cfg)


async def test_load_stores_passages_with_pages_and_owner(state: SqliteState,
                                                         tmp_path: Path) -> None:
    archive = MemoryArchive()
    events: list[LoadProgress] = []

    async def progress(event: LoadProgress) -> None:
        events.append(event)

    report = await pipeline(state, archive, tmp_path).load(
        "w1", "harbour", [fixture_file("report.pdf"), fixture_file("guide.pdf")], progress)
    source = await state.get_source("w1", "harbour")
    assert source is not None
    assert (report.files_loaded, report.pages, report.passages) == (2, 6, 6)
    assert (source.files, source.passages) == (2, 6)
    rows = archive.of(source.id)
    assert [(r.doc, r.page) for r in rows] == [
        ("report.pdf", 1), ("report.pdf", 2), ("report.pdf", 3), ("report.pdf", 4),
        ("guide.pdf", 1), ("guide.pdf", 2)]
    assert all(r.workspace == "w1" and r.source_name == "harbour" for r in rows)
    assert [r.chunk for r in rows] == [0, 1, 2, 3, 0, 1]
    assert archive.flushes == 1
    assert events[-1].stage == "done" and events[-1].passages == 6
    assert {"parsing", "embedding", "storing"} <= {e.stage for e in events}
    assert report.summary().startswith("Loaded 6 passages from 2 files (6 pages) into 'harbour'")


async def test_reload_is_idempotent_and_new_files_extend(state: SqliteState,
                                                         tmp_path: Path) -> None:
    archive = MemoryArchive()
    pipe = pipeline(state, archive, tmp_path)
    await pipe.load("w1", "docs", [fixture_file("report.pdf")])
    again = await pipe.load("w1", "docs", [fixture_file("report.pdf")])
    assert (again.files_loaded, again.files_unchanged, again.passages) == (0, 1, 0)
    assert len(archive.rows) == 4
    more = await pipe.load("w1", "docs", [fixture_file("report.pdf"), fixture_file("guide.pdf")])
    assert (more.files_loaded, more.files_unchanged, more.passages) == (1, 1, 2)
    source = await state.get_source("w1", "docs")
    assert source is not None and (source.files, source.passages) == (2, 6)
    assert len(archive.of(source.id)) == 6


async def test_bad_files_are_skipped_and_the_rest_loads(state: SqliteState,
                                                        tmp_path: Path) -> None:
    archive = MemoryArchive()
    files = [fixture_file(n) for n in ("encrypted.pdf", "truncated.pdf", "scanned.pdf")]
    files += [UploadedFile("empty.txt", b""), UploadedFile("latin.txt", "é".encode("latin-1")),
              UploadedFile("img.png", b"\x89PNG\r\n\x1a\n"), fixture_file("guide.pdf")]
    report = await pipeline(state, archive, tmp_path).load("w1", "mixed", files)
    assert report.files_loaded == 1 and report.passages == 2
    assert {(s.name, s.reason) for s in report.skipped} == {
        ("encrypted.pdf", "encrypted"), ("truncated.pdf", "corrupt"),
        ("scanned.pdf", "no_text"), ("empty.txt", "empty"), ("latin.txt", "encoding"),
        ("img.png", "unsupported")}
    assert {r.doc for r in archive.rows.values()} == {"guide.pdf"}
    assert "skipped 6" in report.summary()
    source = await state.get_source("w1", "mixed")
    assert source is not None and await state.pending_source_files(source.id) == []


async def test_size_limit_from_config(state: SqliteState, tmp_path: Path) -> None:
    report = await pipeline(state, MemoryArchive(), tmp_path, max_file_bytes=5000).load(
        "w1", "s", [fixture_file("report.pdf")])
    assert [s.reason for s in report.skipped] == ["too_large"]


async def test_failed_insert_leaves_nothing_and_reload_works(state: SqliteState,
                                                             tmp_path: Path) -> None:
    archive = MemoryArchive(fail_on_insert=3)  # batches of 2: fails inside report.pdf
    with pytest.raises(OSError, match="disk full"):
        await pipeline(state, archive, tmp_path).load(
            "w1", "docs", [fixture_file("guide.pdf"), fixture_file("report.pdf")])
    source = await state.get_source("w1", "docs")
    assert source is not None
    assert {r.doc for r in archive.of(source.id)} == {"guide.pdf"}  # the finished file stays
    assert await state.pending_source_files(source.id) == []
    archive.fail_on_insert = None
    report = await pipeline(state, archive, tmp_path).load(
        "w1", "docs", [fixture_file("guide.pdf"), fixture_file("report.pdf")])
    assert (report.files_loaded, report.files_unchanged) == (1, 1)
    assert sorted((r.doc, r.page) for r in archive.of(source.id)) == [
        ("guide.pdf", 1), ("guide.pdf", 2), ("report.pdf", 1), ("report.pdf", 2),
        ("report.pdf", 3), ("report.pdf", 4)]


async def test_crash_leftovers_are_removed_on_next_load(state: SqliteState,
                                                        tmp_path: Path) -> None:
    archive = MemoryArchive()
    pipe = pipeline(state, archive, tmp_path)
    await pipe.load("w1", "docs", [fixture_file("guide.pdf")])
    source = await state.get_source("w1", "docs")
    assert source is not None
    # A process killed mid-file: pending record plus some of its passages.
    report_sha = hashlib.sha256(fixture_file("report.pdf").data).hexdigest()
    await state.begin_source_file(source.id, "report.pdf", report_sha)
    await archive.insert([dataclasses.replace(archive.of(source.id)[0], doc="report.pdf")])
    result = await pipe.load("w1", "docs", [fixture_file("report.pdf")])
    assert result.files_loaded == 1
    assert sorted((r.doc, r.page) for r in archive.of(source.id) if r.doc == "report.pdf") == [
        ("report.pdf", 1), ("report.pdf", 2), ("report.pdf", 3), ("report.pdf", 4)]


async def test_workspaces_are_isolated(state: SqliteState, tmp_path: Path) -> None:
    archive = MemoryArchive()
    pipe = pipeline(state, archive, tmp_path)
    await pipe.load("w1", "docs", [fixture_file("guide.pdf")])
    second = await pipe.load("w2", "docs", [fixture_file("guide.pdf")])
    assert second.files_loaded == 1  # same bytes, other workspace: loaded again
    one, two = await state.get_source("w1", "docs"), await state.get_source("w2", "docs")
    assert one is not None and two is not None and one.id != two.id
    assert {r.workspace for r in archive.of(one.id)} == {"w1"}
    assert {r.workspace for r in archive.of(two.id)} == {"w2"}
    assert [s.name for s in await state.list_sources("w3")] == []


async def test_same_name_different_files_in_one_load(state: SqliteState, tmp_path: Path) -> None:
    archive = MemoryArchive()
    files = [UploadedFile("notes.txt", b"Alpha text."), UploadedFile("notes.txt", b"Beta text.")]
    report = await pipeline(state, archive, tmp_path).load("w1", "n", files)
    assert report.files_loaded == 2
    assert sorted(r.doc for r in archive.rows.values()) == ["notes.txt", "notes.txt (2)"]


async def test_bad_source_name_and_model_mismatch(state: SqliteState, tmp_path: Path) -> None:
    with pytest.raises(IngestError) as info:
        await pipeline(state, MemoryArchive(), tmp_path).load("w1", "  ", [])
    assert info.value.reason == "bad_name"
    await state.create_source("w1", "old", "another-model")
    with pytest.raises(EmbeddingMismatchError, match="another-model"):
        await pipeline(state, MemoryArchive(), tmp_path).load("w1", "old",
                                                             [fixture_file("guide.pdf")])
