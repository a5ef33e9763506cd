"""MilvusArchive against a real Milvus Lite on temporary paths."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent_core.backends.milvus_archive import Layout, MilvusArchive
from agent_core.backends.vector_cache import VectorCache, unit_rows
from agent_core.domain import PassageRecord
from agent_core.errors import EmbeddingMismatchError, StorageError
from agent_core.ports import ArchivalStore, Embedder

DIM = 384
MODEL = "all-MiniLM-L6-v2"
AGENT_A = "a_" + "a" * 32
AGENT_B = "a_" + "b" * 32
SOURCE = "s_" + "c" * 32
WHEN = datetime(2024, 3, 5, 14, 30, 15, 123000, tzinfo=UTC)


def unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


def record(owner: str, text: str, vector: Any, **extra: Any) -> PassageRecord:
    return PassageRecord(text, vector, owner, "ws1", extra.pop("created_at", WHEN), **extra)


@pytest.fixture(params=["partitions", "partitions-uncached", "partition_key"])
async def archive(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MilvusArchive]:
    """A fresh archive per layout: Lite's partitions (with and without the vector cache)
    and the server's partition key (Lite accepts it too)."""
    layout: Layout = "partition_key" if request.param == "partition_key" else "partitions"
    cache_rows = 0 if request.param == "partitions-uncached" else 10_000
    async with await MilvusArchive.open(
        str(tmp_path / "archive.db"),
        dimension=DIM,
        embedding_model=MODEL,
        layout=layout,
        cache_rows=cache_rows,
    ) as opened:
        yield opened


async def insert_random(
    archive: MilvusArchive, owner: str, n: int, seed: int = 0, doc: str = ""
) -> list[int]:
    records = [record(owner, f"{owner} #{i}", unit(seed + i), doc=doc, chunk=i) for i in range(n)]
    return await archive.insert(records)


async def test_implements_the_port(archive: MilvusArchive) -> None:
    assert isinstance(archive, ArchivalStore)


async def test_search_finds_passage_by_meaning(tmp_path: Path, local_embedder: Embedder) -> None:
    texts = [
        "My sister Alice lives in Lisbon and works as an architect.",
        "The quarterly budget for marketing was cut by fifteen percent.",
        "Our dog Biscuit is afraid of thunderstorms.",
        "The user prefers replies in French on weekends.",
    ]
    vectors = await local_embedder.embed(texts)
    async with await MilvusArchive.open(
        str(tmp_path / "a.db"), dimension=local_embedder.dimension, embedding_model=MODEL
    ) as archive:
        await archive.insert([record(AGENT_A, t, v) for t, v in zip(texts, vectors, strict=True)])
        query = "how much money did marketing lose?"
        found = await archive.search(query, (await local_embedder.embed([query]))[0], [AGENT_A], 2)
    assert found[0].text == texts[1]
    assert found[0].score is not None and found[1].score is not None
    assert found[0].score > found[1].score


async def test_insert_returns_ids_in_order_and_fields_round_trip(archive: MilvusArchive) -> None:
    records = [
        record(AGENT_A, "alpha", unit(1), source_name="", doc="x.pdf", page=3, chunk=7),
        record(SOURCE, "beta", unit(2), source_name="paper", doc='we"ird\\name.pdf', page=12),
        record(AGENT_A, "gamma", unit(3), created_at=WHEN + timedelta(days=1)),
    ]
    ids = await archive.insert(records)
    assert len(set(ids)) == 3
    for rec, new_id in zip(records, ids, strict=True):
        (hit,) = await archive.search("", rec.vector, [rec.owner], 1)
        assert (hit.id, hit.text, hit.owner, hit.workspace) == (new_id, rec.text, rec.owner, "ws1")
        assert (hit.source_name, hit.doc, hit.page, hit.chunk) == (
            rec.source_name,
            rec.doc,
            rec.page,
            rec.chunk,
        )
        assert hit.created_at == rec.created_at and hit.created_at.tzinfo is not None
        assert hit.score == pytest.approx(1.0, abs=1e-4)


async def test_owners_are_isolated(archive: MilvusArchive) -> None:
    await insert_random(archive, AGENT_A, 5, seed=0)
    await insert_random(archive, AGENT_B, 5, seed=100)
    await insert_random(archive, SOURCE, 5, seed=200)
    probe_b = unit(100)  # exactly B's first passage
    only_a = await archive.search("", probe_b, [AGENT_A], 20)
    assert {p.owner for p in only_a} == {AGENT_A} and len(only_a) == 5
    with_source = await archive.search("", probe_b, [AGENT_A, SOURCE], 20)
    assert {p.owner for p in with_source} == {AGENT_A, SOURCE} and len(with_source) == 10
    assert (await archive.search("", probe_b, [AGENT_B], 1))[0].text == f"{AGENT_B} #0"


async def test_unknown_or_no_owners_find_nothing(archive: MilvusArchive) -> None:
    await insert_random(archive, AGENT_A, 3)
    assert await archive.search("", unit(0), [], 5) == []
    assert await archive.search("", unit(0), [AGENT_B], 5) == []
    assert await archive.count([]) == 0
    assert await archive.count([AGENT_B]) == 0
    assert await archive.delete(AGENT_B) == 0


async def test_count_and_paging(archive: MilvusArchive) -> None:
    await insert_random(archive, AGENT_A, 12)
    await insert_random(archive, SOURCE, 7, seed=50)
    assert await archive.count([AGENT_A]) == 12
    assert await archive.count([AGENT_A, SOURCE]) == 19
    assert await archive.count([AGENT_A, AGENT_A]) == 12
    first = await archive.search("", unit(0), [AGENT_A], 5)
    second = await archive.search("", unit(0), [AGENT_A], 5, offset=5)
    last = await archive.search("", unit(0), [AGENT_A], 5, offset=10)
    assert len(first) == 5 and len(second) == 5 and len(last) == 2
    assert not {p.id for p in first} & {p.id for p in second}
    assert first[-1].score is not None and second[0].score is not None
    assert first[-1].score >= second[0].score


async def test_delete_by_ids_by_doc_and_all(archive: MilvusArchive) -> None:
    ids = await insert_random(archive, AGENT_A, 6, doc="notes.txt")
    await insert_random(archive, AGENT_A, 4, seed=10, doc="half loaded.pdf")
    await insert_random(archive, AGENT_B, 3, seed=20, doc="notes.txt")
    assert await archive.delete(AGENT_A, ids=ids[:2]) == 2
    assert await archive.delete(AGENT_A, ids=[]) == 0
    assert await archive.delete(AGENT_B, ids=ids[2:]) == 0  # not B's passages
    assert await archive.count([AGENT_A]) == 8
    assert await archive.delete(AGENT_A, doc="half loaded.pdf") == 4
    left = await archive.search("", unit(10), [AGENT_A], 20)
    assert {p.doc for p in left} == {"notes.txt"} and len(left) == 4
    assert await archive.delete(AGENT_A) == 4
    assert await archive.count([AGENT_A]) == 0
    assert await archive.search("", unit(2), [AGENT_A], 5) == []
    assert await archive.count([AGENT_B]) == 3
    await insert_random(archive, AGENT_A, 2)  # an owner can start again after deletion
    assert await archive.count([AGENT_A]) == 2


async def test_iter_passages_yields_every_passage_with_vector(archive: MilvusArchive) -> None:
    await insert_random(archive, AGENT_A, 25)
    await insert_random(archive, AGENT_B, 3, seed=99)
    seen = [(p, v) async for p, v in archive.iter_passages(AGENT_A, batch_size=10)]
    assert sorted(p.text for p, _ in seen) == sorted(f"{AGENT_A} #{i}" for i in range(25))
    for passage, vector in seen:
        assert vector.dtype == np.float32
        np.testing.assert_allclose(vector, unit(passage.chunk), atol=1e-6)
    assert [x async for x in archive.iter_passages(AGENT_B + "x")] == []


async def test_long_text_is_truncated_on_a_character_boundary(archive: MilvusArchive) -> None:
    text = "é" * 40000  # 80,000 UTF-8 bytes
    await archive.insert([record(AGENT_A, text, unit(1))])
    (hit,) = await archive.search("", unit(1), [AGENT_A], 1)
    assert hit.text == "é" * 32767


async def test_owner_that_is_not_a_partition_name(archive: MilvusArchive) -> None:
    odd = "agent-with-dashes:1"
    await insert_random(archive, odd, 2)
    await insert_random(archive, AGENT_A, 2, seed=9)
    assert await archive.count([odd]) == 2
    assert {p.owner for p in await archive.search("", unit(0), [odd], 10)} == {odd}


async def test_bad_input_is_refused_clearly(archive: MilvusArchive) -> None:
    with pytest.raises(EmbeddingMismatchError, match="768 dimensions"):
        await archive.insert([record(AGENT_A, "x", np.ones(768, dtype=np.float32))])
    with pytest.raises(ValueError, match="timezone-aware"):
        await archive.insert([record(AGENT_A, "x", unit(1), created_at=datetime(2024, 1, 1))])
    with pytest.raises(EmbeddingMismatchError):
        await archive.search("", np.ones(10), [AGENT_A], 5)
    assert await archive.count([AGENT_A]) == 0


async def open_lite(path: Path, dimension: int = DIM, model: str = MODEL) -> MilvusArchive:
    return await MilvusArchive.open(str(path), dimension=dimension, embedding_model=model)


async def test_reopen_after_close_searches_and_counts(tmp_path: Path) -> None:
    path = tmp_path / "data" / "archive.db"  # parent folder does not exist yet
    async with await open_lite(path) as archive:
        await insert_random(archive, AGENT_A, 30)
        await archive.flush()
        await insert_random(archive, AGENT_A, 5, seed=30)  # left unflushed
    async with await open_lite(path) as archive:
        assert await archive.count([AGENT_A]) == 35
        cold = await archive.search("", unit(31), [AGENT_A], 3)  # Milvus scans; cache loads
        assert cold[0].text == f"{AGENT_A} #1" and cold[0].chunk == 1
        await archive.warm([AGENT_A, AGENT_B])
        warm = await archive.search("", unit(31), [AGENT_A], 3)  # from the cache
        assert [p.id for p in warm] == [p.id for p in cold]
        await insert_random(archive, AGENT_B, 2, seed=500)
        assert await archive.count([AGENT_B]) == 2


@pytest.mark.parametrize(("dimension", "model"), [(DIM, "other-model"), (768, MODEL)])
async def test_other_model_or_dimension_is_refused(
    tmp_path: Path, dimension: int, model: str
) -> None:
    path = tmp_path / "archive.db"
    async with await open_lite(path) as archive:
        await insert_random(archive, AGENT_A, 1)
    with pytest.raises(EmbeddingMismatchError) as caught:
        await open_lite(path, dimension, model)
    assert MODEL in caught.value.message and f"{model!r} ({dimension} dimensions)" in str(
        caught.value
    )
    assert caught.value.hint and "MEMBOT_EMBEDDING_MODEL" in caught.value.hint
    async with await open_lite(path) as archive:  # the original still opens
        assert await archive.count([AGENT_A]) == 1


async def test_unreachable_server_names_uri_and_setting() -> None:
    with pytest.raises(StorageError) as caught:
        await MilvusArchive.open(
            "http://127.0.0.1:9", dimension=DIM, embedding_model=MODEL, call_timeout=2
        )
    assert "http://127.0.0.1:9" in str(caught.value)
    assert caught.value.hint and "MEMBOT_MILVUS_URI" in caught.value.hint


async def test_lite_path_must_end_in_db(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"must end in '\.db'"):
        await open_lite(tmp_path / "archive")


async def test_data_dir_used_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    holder = textwrap.dedent(
        f"""
        import sys, time
        from milvus_lite import MilvusLite
        db = MilvusLite({str(path)!r})
        print("locked", flush=True)
        sys.stdin.read()
        """
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", holder, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        assert (await asyncio.wait_for(child.stdout.readline(), 60)).strip() == b"locked"
        with pytest.raises(StorageError, match="another membot process"):
            await open_lite(path)
    finally:
        await asyncio.wait_for(child.communicate(b""), 30)
    async with await open_lite(path) as archive:  # free again once the other one exits
        assert await archive.count([AGENT_A]) == 0


async def test_cached_search_follows_every_write(tmp_path: Path) -> None:
    async with await MilvusArchive.open(
        str(tmp_path / "a.db"), dimension=DIM, embedding_model=MODEL, cache_rows=30
    ) as archive:
        ids = await insert_random(archive, AGENT_A, 10, doc="one.txt")
        assert len(await archive.search("", unit(0), [AGENT_A], 50)) == 10  # loads the cache
        new = await insert_random(archive, AGENT_A, 3, seed=1000, doc="two.txt")
        (hit,) = await archive.search("", unit(1001), [AGENT_A], 1)
        assert hit.id == new[1] and hit.score == pytest.approx(1.0, abs=1e-5)
        await archive.delete(AGENT_A, ids=[ids[4]])
        assert ids[4] not in {p.id for p in await archive.search("", unit(4), [AGENT_A], 50)}
        await archive.delete(AGENT_A, doc="two.txt")
        assert {p.doc for p in await archive.search("", unit(1001), [AGENT_A], 50)} == {"one.txt"}
        await insert_random(archive, AGENT_B, 40, seed=2000)  # more rows than the cache holds
        both = await archive.search("", unit(2001), [AGENT_A, AGENT_B], 50)
        assert both[0].text == f"{AGENT_B} #1" and len(both) == 49
        await archive.delete(AGENT_A)
        assert await archive.search("", unit(0), [AGENT_A], 5) == []


async def test_cached_and_milvus_search_agree(tmp_path: Path) -> None:
    path = str(tmp_path / "a.db")
    async with await MilvusArchive.open(path, dimension=DIM, embedding_model=MODEL) as archive:
        await insert_random(archive, AGENT_A, 60)
        await insert_random(archive, SOURCE, 60, seed=100)
        query = unit(7) + unit(107)
        cached = await archive.search("", query, [AGENT_A, SOURCE], 10, offset=3)
    async with await MilvusArchive.open(
        path, dimension=DIM, embedding_model=MODEL, cache_rows=0
    ) as archive:
        scanned = await archive.search("", query, [AGENT_A, SOURCE], 10, offset=3)
    assert [p.id for p in cached] == [p.id for p in scanned]
    for a, b in zip(cached, scanned, strict=True):
        assert a.score == pytest.approx(b.score, abs=1e-5)


def ids_and_rows(start: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(start, start + n, dtype=np.int64), unit_rows(
        [unit(start + i) for i in range(n)]
    )


def test_vector_cache_discards_a_load_that_raced_a_write() -> None:
    cache = VectorCache(max_rows=100)
    version = cache.version("p")  # a search starts loading "p"...
    cache.append("p", *ids_and_rows(50, 2))  # ...while an insert lands
    cache.put("p", version, *ids_and_rows(0, 10))  # the load's snapshot may miss it
    assert cache.get("p") is None
    cache.put("p", cache.version("p"), *ids_and_rows(0, 12))
    entry = cache.get("p")
    assert entry is not None and len(entry[0]) == 12
    cache.append("p", *ids_and_rows(12, 3))
    entry = cache.get("p")
    assert entry is not None and entry[0].tolist() == list(range(15))
    version = cache.version("p")
    cache.invalidate("p")
    cache.put("p", version, *ids_and_rows(0, 15))
    assert cache.get("p") is None


def test_vector_cache_evicts_least_recently_used_beyond_its_budget() -> None:
    cache = VectorCache(max_rows=25)
    for name in ("a", "b"):
        cache.put(name, 0, *ids_and_rows(0, 10))
    assert cache.get("a") is not None  # "a" is now more recent than "b"
    cache.put("c", 0, *ids_and_rows(0, 10))
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
    cache.put("huge", 0, *ids_and_rows(0, 26))  # larger than the whole budget: not kept
    assert cache.get("huge") is None
