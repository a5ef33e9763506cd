"""HybridArchive over real Milvus Lite and a real SQLite keyword index, real embeddings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from agent_core.backends.keyword_index import KeywordIndex
from agent_core.backends.milvus_archive import MilvusArchive
from agent_core.domain import Passage, PassageRecord
from agent_core.hybrid import HybridArchive, fuse, mark_keywords_stale, open_hybrid
from agent_core.ports import ArchivalStore, Embedder
from tests.conftest import MakeEngine

AGENT = "a_" + "1" * 32
OTHER = "a_" + "2" * 32
SOURCE = "s_" + "3" * 32
WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CODE = "K7Q-22913"

SHIPPING = (f"Shipping notes for March: the pallets left Rotterdam on the 4th, customs took "
            f"two days, the driver was late and the forklift in bay 3 broke down; lot {CODE} "
            f"was on the second truck.")
CORPUS = (
    SHIPPING,
    "Every batch is stored on a numbered shelf in the warehouse.",
    "Where a batch is stored is recorded in the tracking system.",
    "A batch that failed inspection is stored in quarantine.",
    "Ask the warehouse desk where a batch is stored.",
    "Batches are stored for at most two years.",
    "The office closes at six on Fridays during the summer.",
    "Employees may carry over five vacation days into the next year.",
    "Parental leave lasts sixteen weeks for either parent.",
    "The car park is reserved for visitors on weekdays.",
    "Coffee machines are cleaned every Thursday morning.",
)
LEAVE = CORPUS.index("Parental leave lasts sixteen weeks for either parent.")


@dataclass(frozen=True)
class Owner:
    id: str


class Directory:
    """The owners an installation knows (what the state store lists)."""

    def __init__(self, agents: Sequence[str], sources: Sequence[str] = ()) -> None:
        self.agents = [Owner(a) for a in agents]
        self.sources = [Owner(s) for s in sources]
        self.gate = asyncio.Event()
        self.gate.set()

    async def all_agents(self) -> list[Owner]:
        await self.gate.wait()
        return self.agents

    async def all_sources(self) -> list[Owner]:
        return self.sources


async def records(embedder: Embedder, owner: str, texts: Sequence[str],
                  doc: str = "notes.md") -> list[PassageRecord]:
    vectors = await embedder.embed(list(texts))
    return [PassageRecord(t, v, owner, "ws", WHEN, doc=doc, chunk=i)
            for i, (t, v) in enumerate(zip(texts, vectors, strict=True))]


async def open_dense(path: Path) -> MilvusArchive:
    return await MilvusArchive.open(str(path / "archive.db"), dimension=384,
                                    embedding_model="all-MiniLM-L6-v2")


@pytest.fixture
async def hybrid(tmp_path: Path, local_embedder: Embedder) -> AsyncIterator[HybridArchive]:
    archive = HybridArchive(await open_dense(tmp_path),
                            await KeywordIndex.open(tmp_path / "keywords.sqlite3"))
    await archive.insert(await records(local_embedder, AGENT, CORPUS))
    yield archive
    await archive.aclose()


async def both(archive: HybridArchive, embedder: Embedder, query: str,
               owners: Sequence[str] = (AGENT,), limit: int = 11,
               ) -> tuple[list[Passage], list[Passage]]:
    vector = (await embedder.embed([query]))[0]
    return (await archive.search(query, vector, owners, limit),
            await archive.dense.search(query, vector, owners, limit))


def rank(found: Sequence[Passage], text: str) -> int:
    return [p.text for p in found].index(text)


@pytest.mark.parametrize(("query", "hybrid_within"), [
    (f"{CODE} storage location", 1), (f"where is the {CODE} batch stored", 3)])
async def test_an_exact_code_is_found_by_hybrid_and_ranked_low_by_dense(
        hybrid: HybridArchive, local_embedder: Embedder, query: str, hybrid_within: int) -> None:
    fused, dense = await both(hybrid, local_embedder, query)
    assert rank(fused, SHIPPING) < hybrid_within
    assert rank(dense, SHIPPING) >= 3  # semantically closer generic passages win


async def test_a_paraphrase_is_still_found(hybrid: HybridArchive,
                                           local_embedder: Embedder) -> None:
    fused, _ = await both(hybrid, local_embedder,
                          "how long can new mothers and fathers stay home with the baby")
    assert fused[0].text == CORPUS[LEAVE]


async def test_scores_are_the_fused_reciprocal_ranks(hybrid: HybridArchive,
                                                     local_embedder: Embedder) -> None:
    query = f"{CODE} storage location"
    fused, dense = await both(hybrid, local_embedder, query)
    keyword_ids = await hybrid.keywords.search(query, [AGENT], 50)
    expected = fuse([[p.id for p in dense], keyword_ids])
    assert [(p.id, p.score) for p in fused] == expected[:len(fused)]
    assert all(a.score >= b.score for a, b in pairwise(fused))  # type: ignore[operator]


async def test_ranking_never_leaves_the_owners_given(hybrid: HybridArchive,
                                                     local_embedder: Embedder) -> None:
    await hybrid.insert(await records(local_embedder, OTHER, [f"Lot {CODE} is stored in bay 9."]))
    await hybrid.insert(await records(local_embedder, SOURCE, [f"{CODE} storage: bay 12."]))
    fused, _ = await both(hybrid, local_embedder, f"{CODE} storage location", limit=50)
    assert {p.owner for p in fused} == {AGENT}
    assert len(fused) == len(CORPUS)
    fused, _ = await both(hybrid, local_embedder, f"{CODE} storage location", [AGENT, SOURCE])
    assert fused[0].text == f"{CODE} storage: bay 12." and OTHER not in {p.owner for p in fused}
    fused, _ = await both(hybrid, local_embedder, CODE, [OTHER])
    assert [p.text for p in fused] == [f"Lot {CODE} is stored in bay 9."]


async def test_delete_by_doc_and_by_owner_removes_from_both(hybrid: HybridArchive,
                                                            local_embedder: Embedder) -> None:
    await hybrid.insert(await records(local_embedder, AGENT, [f"Lot {CODE} ships in May."],
                                      doc="may.pdf"))
    await hybrid.insert(await records(local_embedder, OTHER, [f"Lot {CODE} of the other."],
                                      doc="may.pdf"))
    assert await hybrid.delete(AGENT, doc="may.pdf") == 1
    fused, _ = await both(hybrid, local_embedder, f"Lot {CODE} ships in May", limit=50)
    assert f"Lot {CODE} ships in May." not in [p.text for p in fused]
    assert await hybrid.keywords.count([AGENT]) == await hybrid.count([AGENT]) == len(CORPUS)
    assert await hybrid.delete(AGENT) == len(CORPUS)
    assert await hybrid.keywords.count([AGENT]) == await hybrid.count([AGENT]) == 0
    assert (await both(hybrid, local_embedder, CODE))[0] == []
    assert await hybrid.keywords.count([OTHER]) == await hybrid.count([OTHER]) == 1


async def test_pages_partition_the_ranking(hybrid: HybridArchive,
                                           local_embedder: Embedder) -> None:
    query = "where is a batch stored"
    vector = (await local_embedder.embed([query]))[0]
    whole = await hybrid.search(query, vector, [AGENT], 11)
    pages = [await hybrid.search(query, vector, [AGENT], 3, offset) for offset in (0, 3, 6, 9)]
    assert [p.id for page in pages for p in page] == [p.id for p in whole]
    assert [len(page) for page in pages] == [3, 3, 3, 2]
    assert await hybrid.search(query, vector, [AGENT], 3, 11) == []
    assert await hybrid.search(query, vector, [AGENT], 0) == []
    assert await hybrid.count([AGENT]) == len(CORPUS)
    with pytest.raises(ValueError, match="offset"):
        await hybrid.search(query, vector, [AGENT], 3, -1)


async def test_a_failed_keyword_write_leaves_nothing_in_the_archive(
        hybrid: HybridArchive, local_embedder: Embedder) -> None:
    rows = await records(local_embedder, OTHER, ["one", "two"])
    await hybrid.keywords.aclose()
    with pytest.raises(Exception):  # noqa: B017 - whatever the closed connection raises
        await hybrid.insert(rows)
    assert await hybrid.dense.count([OTHER]) == 0
    hybrid.keywords = await KeywordIndex.open(hybrid.keywords.path)  # for teardown


async def test_backfill_indexes_an_existing_archive(tmp_path: Path,
                                                    local_embedder: Embedder) -> None:
    dense = await open_dense(tmp_path)
    await dense.insert(await records(local_embedder, AGENT, CORPUS))
    await dense.insert(await records(local_embedder, SOURCE, [f"{CODE} storage: bay 12."]))
    directory = Directory([AGENT], [SOURCE])
    directory.gate.clear()  # the rebuild waits here: searches must be dense only meanwhile
    archive = await open_hybrid(dense, tmp_path / "keywords.sqlite3", directory)
    try:
        assert archive.backfilling
        fused, dense_hits = await both(archive, local_embedder, f"{CODE} storage location")
        assert fused == dense_hits
        directory.gate.set()
        await archive.wait_ready()
        assert not archive.backfilling
        assert await archive.keywords.count() == len(CORPUS) + 1
        fused, _ = await both(archive, local_embedder, f"{CODE} storage location")
        assert fused[0].text == SHIPPING
    finally:
        await archive.keywords.aclose()
    archive = await open_hybrid(archive.dense, tmp_path / "keywords.sqlite3", Directory([]))
    try:
        assert not archive.backfilling  # complete: no rebuild at the next start
        assert await archive.keywords.count() == len(CORPUS) + 1
    finally:
        await archive.aclose()


async def test_dense_only_use_makes_the_next_hybrid_start_rebuild(
        tmp_path: Path, local_embedder: Embedder) -> None:
    path = tmp_path / "keywords.sqlite3"
    dense = await open_dense(tmp_path)
    archive = await open_hybrid(dense, path, Directory([AGENT]))
    await archive.wait_ready()
    await archive.keywords.aclose()
    await mark_keywords_stale(path)  # a start with retrieval = "dense"
    await dense.insert(await records(local_embedder, AGENT, CORPUS))
    archive = await open_hybrid(dense, path, Directory([AGENT]))
    try:
        await archive.wait_ready()
        assert await archive.keywords.count([AGENT]) == len(CORPUS)
    finally:
        await archive.aclose()


async def test_engine_wraps_its_archive_as_configured(make_engine: MakeEngine) -> None:
    from bot.settings import load_settings

    engine = await make_engine()
    assert isinstance(engine.archive, HybridArchive)
    assert isinstance(engine.archive, ArchivalStore)
    assert (engine.config.data_dir / "keywords.sqlite3").exists()
    await engine.aclose()
    assert isinstance((await make_engine(retrieval="dense")).archive, MilvusArchive)
    settings: Any = load_settings({"MEMBOT_RETRIEVAL": "dense"}, config_path=None)
    assert settings.engine_config().retrieval == "dense"
