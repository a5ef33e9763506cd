"""Strict in-memory stand-ins for the archive and embedder ports (pipeline tests)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from agent_core.domain import PassageRecord


class HashEmbedder:
    """Deterministic unit vectors from text hashes; records every batch it embeds."""

    name = "hash-embedder"
    dimension = 16

    def __init__(self) -> None:
        self.batches: list[int] = []

    async def embed(self, texts: Sequence[str]) -> Any:
        if not texts:
            raise ValueError("embed() needs at least one text")
        self.batches.append(len(texts))
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:16], dtype=np.uint8)
                for t in texts]
        vectors = np.asarray(rows, dtype=np.float32) + 1.0
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class MemoryArchive:
    """Keeps records in a list; ``fail_on_insert=n`` makes the n-th insert raise."""

    def __init__(self, fail_on_insert: int | None = None) -> None:
        self.rows: dict[int, PassageRecord] = {}
        self.inserts = 0
        self.flushes = 0
        self.fail_on_insert = fail_on_insert

    async def insert(self, records: Sequence[PassageRecord]) -> list[int]:
        self.inserts += 1
        if self.fail_on_insert is not None and self.inserts == self.fail_on_insert:
            raise OSError("disk full")
        ids = []
        for record in records:
            assert record.owner and record.workspace and record.doc and record.page >= 1
            assert len(record.vector) == HashEmbedder.dimension
            new_id = len(self.rows) + 1 + max(self.rows, default=0)
            self.rows[new_id] = record
            ids.append(new_id)
        return ids

    async def delete(self, owner: str, ids: Sequence[int] | None = None,
                     doc: str | None = None) -> int:
        doomed = [i for i, r in self.rows.items() if r.owner == owner
                  and (ids is None or i in ids) and (doc is None or r.doc == doc)]
        for i in doomed:
            del self.rows[i]
        return len(doomed)

    async def flush(self) -> None:
        self.flushes += 1

    def of(self, owner: str) -> list[PassageRecord]:
        """Records of one owner, in insertion order."""
        return [r for r in self.rows.values() if r.owner == owner]
