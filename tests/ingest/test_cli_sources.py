"""The `membot load/sources/search` handlers over the real pipeline and state store."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent_core.backends.sqlite_state import SqliteState
from agent_core.config import EngineConfig
from agent_core.domain import LoadReport, Passage, SourceInfo, UploadedFile
from agent_core.ingest.pipeline import IngestPipeline
from bot import cli_sources
from tests.ingest.docs import DOCS
from tests.ingest.fakes import HashEmbedder, MemoryArchive


class SourcesEngine:
    """The engine's source verbs over the real pipeline; search = word overlap."""

    def __init__(self, state: SqliteState, tmp_path: Path) -> None:
        self.state = state
        self.archive = MemoryArchive()
        self.pipeline = IngestPipeline(state, self.archive, HashEmbedder(),
                                       EngineConfig(data_dir=tmp_path))

    async def load_source(self, workspace: str, name: str, files: Sequence[UploadedFile],
                          progress: Any = None) -> LoadReport:
        return await self.pipeline.load(workspace, name, files, progress)

    async def sources(self, workspace: str) -> list[SourceInfo]:
        return await self.state.list_sources(workspace)

    async def delete_source(self, workspace: str, name: str) -> SourceInfo:
        source = await self.state.get_source(workspace, name)
        assert source is not None
        await self.archive.delete(source.id)
        await self.state.delete_source(source.id)
        return source

    async def search_sources(self, workspace: str, names: Sequence[str], query: str,
                             k: int = 5) -> list[Passage]:
        owners = {s.id for s in await self.state.list_sources(workspace) if s.name in names}
        words = set(query.lower().split())
        hits = [(len(words & set(r.text.lower().split())), i, r)
                for i, r in self.archive.rows.items() if r.owner in owners]
        hits.sort(key=lambda h: -h[0])
        return [Passage(i, r.text, r.owner, r.workspace, datetime.now(UTC), r.source_name,
                        r.doc, r.page, r.chunk, float(score)) for score, i, r in hits[:k]]


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[SourcesEngine]:
    state = await SqliteState.open(tmp_path / "s.sqlite3")
    yield SourcesEngine(state, tmp_path)
    await state.aclose()


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli_sources.register(parser.add_subparsers())
    return parser.parse_args(argv)


async def test_load_directory_then_list_search_delete(
        engine: SourcesEngine, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "docs" / "nested"
    folder.mkdir(parents=True)
    (folder / "guide.pdf").write_bytes((DOCS / "guide.pdf").read_bytes())
    (tmp_path / "docs" / "notes.md").write_text("# Notes\n\nBees dance to share directions.")
    (tmp_path / "docs" / ".hidden").write_text("secret")
    args = parse("load", "--name", "bees", str(tmp_path / "docs"))
    assert await args.handler(args, engine) == 0
    out = capsys.readouterr()
    assert out.out.strip() == out.out.strip().splitlines()[0]  # one summary line
    assert out.out.startswith("Loaded 3 passages from 2 files (3 pages) into 'bees'")
    assert "storing guide.pdf" in out.err  # plain progress lines when not a terminal

    args = parse("sources")
    assert await args.handler(args, engine) == 0
    listing = capsys.readouterr().out
    assert "bees" in listing and "2 files" in listing and "3 passages" in listing

    monkeypatch.setattr("sys.stdin", io.StringIO("honey frames capped\n\nbees dance\n"))
    args = parse("search", "--source", "bees", "-k", "1", "-")
    assert await args.handler(args, engine) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first[0]["doc"] == "guide.pdf" and first[0]["page"] == 2
    assert second[0]["doc"] == "notes.md" and second[0]["source"] == "bees"
    assert set(first[0]) >= {"text", "source", "doc", "page", "score"}

    args = parse("sources", "--delete", "bees")
    assert await args.handler(args, engine) == 0
    assert "Deleted source 'bees'" in capsys.readouterr().out
    assert engine.archive.rows == {}


async def test_load_missing_path_is_a_clear_error(
        engine: SourcesEngine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = parse("load", "--name", "x", str(tmp_path / "nope.pdf"))
    assert await args.handler(args, engine) == 2
    assert "no such file or directory" in capsys.readouterr().err


async def test_load_only_bad_files_fails(
        engine: SourcesEngine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "scan.pdf").write_bytes((DOCS / "scanned.pdf").read_bytes())
    args = parse("load", "--name", "x", str(tmp_path / "scan.pdf"))
    assert await args.handler(args, engine) == 1
    assert "skipped 1 (scan.pdf:" in capsys.readouterr().out
