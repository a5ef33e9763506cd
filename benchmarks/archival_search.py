"""Archival search latency and recall: membot's Milvus layout against the baselines.

One agent plus 5 attached sources are searched (6 owners of ``--owners``) over
``--rows`` synthetic normalized vectors (dim 384). Each case reports p50/p95 per query
and recall@10 against exact numpy search over the same owners:

* membot (Lite, one partition per owner, FLAT): (a) right after an ingest returns,
  (b) after a restart (close, reopen), (c) while another source is being ingested;
* the naive layout: one shared collection filtered by ``owner in [...]`` (what a
  partition key gives on Lite, and membot's server layout);
* the numpy floors: brute force over all rows, and over the searched owners' rows.

    python benchmarks/archival_search.py --out benchmarks/results/archival_search.json
    python benchmarks/archival_search.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent_core.backends.milvus_archive import Layout, MilvusArchive
from agent_core.domain import PassageRecord

DIM = 384
K = 10
SCOPE = 6  # one agent + 5 attached sources
INSERT_BATCH = 1000
NOW = datetime.now(UTC)


@dataclass
class Case:
    """One measured row of the table."""

    case: str
    p50_ms: float
    p95_ms: float
    recall_at_10: float | None
    queries: int
    note: str = ""


@dataclass
class Data:
    """Synthetic corpus, owner of each row, and queries with their scopes."""

    vectors: np.ndarray
    owner_of: np.ndarray
    owners: list[str]
    queries: np.ndarray
    scopes: list[list[int]]


def make_data(rows: int, owners: int, queries: int, seed: int = 7) -> Data:
    """Normalized random vectors; queries are noisy copies of rows of their own scope."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((rows, DIM), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    owner_of = rng.integers(0, owners, rows)
    names = [f"{'a' if i % 5 == 0 else 's'}_{i:032x}" for i in range(owners)]
    scopes = [list(rng.choice(owners, SCOPE, replace=False)) for _ in range(queries)]
    picks = [rng.choice(np.flatnonzero(np.isin(owner_of, s))) for s in scopes]
    noisy = vectors[picks] + 0.05 * rng.standard_normal((queries, DIM), dtype=np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    return Data(vectors, owner_of, names, noisy, scopes)


def exact_top(data: Data, q: int) -> set[int]:
    """Row indexes of the exact top K within query ``q``'s scope."""
    rows = np.flatnonzero(np.isin(data.owner_of, data.scopes[q]))
    scores = data.vectors[rows] @ data.queries[q]
    return set(rows[np.argsort(-scores)[:K]].tolist())


def records(data: Data, rows: np.ndarray) -> list[PassageRecord]:
    return [
        PassageRecord(f"passage {i}", data.vectors[i], data.owners[data.owner_of[i]], "bench", NOW)
        for i in rows
    ]


def summarize(
    name: str, latencies: list[float], recalls: list[float] | None, note: str = ""
) -> Case:
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    recall = round(statistics.fmean(recalls), 4) if recalls else None
    return Case(
        name,
        round(statistics.median(ordered) * 1e3, 3),
        round(p95 * 1e3, 3),
        recall,
        len(ordered),
        note,
    )


def numpy_cases(data: Data, truth: list[set[int]], n: int) -> list[Case]:
    """The floors: exact search over every row, and over the searched owners' rows only."""
    per_owner = [np.flatnonzero(data.owner_of == o) for o in range(len(data.owners))]
    matrices = [data.vectors[rows] for rows in per_owner]
    full, scoped = [], []
    for q in range(n):
        query = data.queries[q]
        start = time.perf_counter()
        top = np.argpartition(-(data.vectors @ query), K)[:K]
        full.append(time.perf_counter() - start)
        start = time.perf_counter()
        scores = np.concatenate([matrices[o] @ query for o in data.scopes[q]])
        rows = np.concatenate([per_owner[o] for o in data.scopes[q]])
        best = rows[np.argpartition(-scores, K)[:K]]
        scoped.append(time.perf_counter() - start)
        assert set(best.tolist()) == truth[q] and len(top) == K
    return [
        summarize("numpy brute force, all rows", full, None, "floor; no owner filter"),
        summarize("numpy, searched owners' rows only", scoped, [1.0] * n, "floor"),
    ]


async def ingest(archive: MilvusArchive, data: Data) -> tuple[dict[int, int], float, float]:
    """Insert the corpus one owner at a time (as sources load); returns (id map, s, flush s)."""
    id_to_row: dict[int, int] = {}
    start = time.perf_counter()
    for owner in range(len(data.owners)):
        rows = np.flatnonzero(data.owner_of == owner)
        for at in range(0, len(rows), INSERT_BATCH):
            chunk = rows[at : at + INSERT_BATCH]
            ids = await archive.insert(records(data, chunk))
            id_to_row.update(zip(ids, chunk.tolist(), strict=True))
    inserted = time.perf_counter() - start
    start = time.perf_counter()
    await archive.flush()
    return id_to_row, inserted, time.perf_counter() - start


async def measure(
    archive: MilvusArchive,
    data: Data,
    truth: list[set[int]],
    id_to_row: dict[int, int],
    n: int,
    keep_going: Callable[[int], bool] | None = None,
) -> tuple[list[float], list[float]]:
    """Latency and recall@K of queries 0..n-1 (or while ``keep_going(i)``, cycling)."""
    latencies, recalls = [], []
    i = 0
    while keep_going(i) if keep_going else i < n:
        q = i % n
        owners = [data.owners[o] for o in data.scopes[q]]
        start = time.perf_counter()
        hits = await archive.search("", data.queries[q], owners, K)
        latencies.append(time.perf_counter() - start)
        recalls.append(len({id_to_row.get(h.id, -1) for h in hits} & truth[q]) / K)
        i += 1
    return latencies, recalls


async def writer(archive: MilvusArchive, rows: int, batch: int, rate: float | None) -> float:
    """Ingest a new source of ``rows`` passages; returns rows/s achieved."""
    rng = np.random.default_rng(99)
    owner = "s_" + "f" * 32
    start = time.perf_counter()
    for done in range(0, rows, batch):
        vectors = rng.standard_normal((batch, DIM), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        await archive.insert(
            [
                PassageRecord(f"new {done + j}", v, owner, "bench", NOW)
                for j, v in enumerate(vectors)
            ]
        )
        if rate:
            await asyncio.sleep(max(0.0, (done + batch) / rate - (time.perf_counter() - start)))
    return rows / (time.perf_counter() - start)


async def during_ingest(
    archive: MilvusArchive,
    data: Data,
    truth: list[set[int]],
    id_to_row: dict[int, int],
    n: int,
    rows: int,
    batch: int,
    rate: float | None,
) -> Case:
    """Queries while a writer task ingests another source through the same archive."""
    task = asyncio.create_task(writer(archive, rows, batch, rate), name="bench-writer")
    await asyncio.sleep(0)
    latencies, recalls = await measure(
        archive, data, truth, id_to_row, n, keep_going=lambda i: not task.done() or i < 5
    )
    achieved = await task
    pace = f"paced at {rate:.0f} rows/s" if rate else "unpaced"
    name = f"membot (c) during ingest, {pace}"
    note = f"writer: {rows} rows in batches of {batch}, {achieved:.0f} rows/s"
    return summarize(name, latencies, recalls, note)


async def open_archive(path: Path, layout: Layout, cache_rows: int = 250_000) -> MilvusArchive:
    return await MilvusArchive.open(
        str(path), dimension=DIM, embedding_model="synthetic", layout=layout, cache_rows=cache_rows
    )


async def membot_cases(
    root: Path, data: Data, truth: list[set[int]], args: argparse.Namespace
) -> tuple[list[Case], dict[str, float]]:
    """Cases (a), (c), (b) on membot's Lite layout; also ingest and restart timings."""
    path, n = root / "membot.db", args.queries
    archive = await open_archive(path, "partitions")
    id_to_row, inserted, flushed = await ingest(archive, data)
    cases = [
        summarize(
            "membot (a) right after ingest (flushed)",
            *await measure(archive, data, truth, id_to_row, n),
        )
    ]
    scanning = await open_archive(path, "partitions", cache_rows=0)
    latencies, recalls = await measure(scanning, data, truth, id_to_row, n)
    await scanning.aclose()
    note = "Milvus Lite scans the partitions"
    cases.append(summarize("membot without its vector cache (a)", latencies, recalls, note))
    for rate, batch in ((args.paced_rate, 64), (None, 256)):
        cases.append(
            await during_ingest(archive, data, truth, id_to_row, n, args.writer_rows, batch, rate)
        )
    await archive.aclose()
    start = time.perf_counter()
    archive = await open_archive(path, "partitions")
    reopened = time.perf_counter() - start
    first, _ = await measure(archive, data, truth, id_to_row, 1)
    cold = await measure(archive, data, truth, id_to_row, n)
    note = "first searches after reopen: Milvus scans while the cache warms in the background"
    cases.append(summarize("membot (b) after restart, cold", *cold, note))
    start = time.perf_counter()
    await archive.warm(data.owners)  # what the engine does when an agent wakes up
    warmed = time.perf_counter() - start
    warm = await measure(archive, data, truth, id_to_row, n)
    cases.append(summarize("membot (b) after restart, warmed", *warm))
    await archive.aclose()
    timings = {
        "insert_rows_per_s": round(len(data.vectors) / inserted),
        "insert_seconds": round(inserted, 2),
        "flush_seconds": round(flushed, 2),
        "reopen_seconds": round(reopened, 2),
        "first_query_after_reopen_ms": round(first[0] * 1e3, 2),
        "warm_all_owners_seconds": round(warmed, 2),
    }
    return cases, timings


async def naive_case(root: Path, data: Data, truth: list[set[int]], n: int) -> Case:
    """One shared collection searched with an ``owner in [...]`` filter (flushed, FLAT)."""
    archive = await open_archive(root / "naive.db", "partition_key")
    id_to_row, _, _ = await ingest(archive, data)
    latencies, recalls = await measure(archive, data, truth, id_to_row, n)
    await archive.aclose()
    return summarize("naive: shared collection + owner filter", latencies, recalls, "flushed")


def machine() -> dict[str, Any]:
    import os

    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pymilvus": version("pymilvus"),
        "milvus_lite": version("milvus-lite"),
        "numpy": np.__version__,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def print_table(cases: Sequence[Case]) -> None:
    print(f"{'case':<58} {'p50 ms':>9} {'p95 ms':>9} {'recall@10':>9}  n")
    for c in cases:
        recall = "-" if c.recall_at_10 is None else f"{c.recall_at_10:.3f}"
        print(f"{c.case:<58} {c.p50_ms:>9.2f} {c.p95_ms:>9.2f} {recall:>9}  {c.queries}")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    data = make_data(args.rows, args.owners, args.queries)
    truth = [exact_top(data, q) for q in range(args.queries)]
    cases = numpy_cases(data, truth, args.queries)
    with tempfile.TemporaryDirectory(prefix="membot-bench-") as tmp:
        membot, timings = await membot_cases(Path(tmp), data, truth, args)
        cases += membot
        if not args.skip_naive:
            cases.append(await naive_case(Path(tmp), data, truth, args.naive_queries))
    print_table(cases)
    print(json.dumps(timings))
    params = {k: v for k, v in vars(args).items() if k != "out"}
    return {
        "machine": machine(),
        "params": params,
        "ingest": timings,
        "cases": [asdict(c) for c in cases],
    }


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--owners", type=int, default=100)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--naive-queries", type=int, default=40)
    parser.add_argument("--writer-rows", type=int, default=10_000)
    parser.add_argument(
        "--paced-rate",
        type=float,
        default=400.0,
        help="rows/s of the paced writer (about the local model's speed)",
    )
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--quick", action="store_true", help="10k rows: a smoke run")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.queries, args.naive_queries, args.writer_rows = 10_000, 50, 20, 1_000
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    result = asyncio.run(run(args))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
