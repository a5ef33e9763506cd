"""Retrieval evaluation: recall@1, recall@5 and MRR@10 of source passages.

Run from the repository root: ``python -m eval.retrieval [--json OUT]``.

Two measurements over the same documents and 42 paraphrased questions:

* **product**: the documents are loaded through ``Engine.load_source`` into a
  temporary data directory (Milvus Lite, the local embedder, the keyword index) and
  each question goes through ``Engine.search_sources``, once with
  ``retrieval="hybrid"`` (the default) and once with ``retrieval="dense"``.
* **in memory**: membot's loaders and chunker, then three rankings computed here
  over the same passages: dense (exact cosine, what a FLAT index returns), Okapi
  BM25, and their reciprocal rank fusion (k=60) — a reference for the product path.

A question counts as found at k when one of the first k passages comes from the
expected file and page.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agent_core.config import EngineConfig
from agent_core.domain import UploadedFile
from agent_core.ingest.chunking import Chunk, Chunker
from agent_core.ingest.loaders import load_document
from agent_core.ports import Embedder
from eval.product import Top, product_rankings

HERE = Path(__file__).resolve().parent
DOCS = ("gpl-3.0.pdf", "apache-2.0.pdf", "mpl-2.0.pdf")
_WORD = re.compile(r"\w+")


def load_chunks() -> list[Chunk]:
    """The evaluation documents as membot would store them."""
    config = EngineConfig(data_dir=HERE)
    chunker = Chunker(config.chunk_tokens, config.chunk_overlap)
    chunks: list[Chunk] = []
    for name in DOCS:
        doc = load_document(UploadedFile(name, (HERE / "documents" / name).read_bytes()),
                            max_bytes=config.max_file_bytes)
        chunks.extend(chunker.chunk_pages(name, doc.pages))
    return chunks


class BM25:
    """Okapi BM25 (k1=1.2, b=0.75) over lower-cased word tokens."""

    def __init__(self, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.docs = [Counter(_WORD.findall(t.lower())) for t in texts]
        self.lengths = [sum(d.values()) for d in self.docs]
        self.avg = sum(self.lengths) / len(self.lengths)
        df = Counter(w for d in self.docs for w in d)
        n = len(self.docs)
        self.idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in df.items()}
        self.k1, self.b = k1, b

    def scores(self, query: str) -> np.ndarray[Any, Any]:
        """BM25 score of every passage for ``query``."""
        out = np.zeros(len(self.docs))
        for word in set(_WORD.findall(query.lower())):
            idf = self.idf.get(word, 0.0)
            for i, doc in enumerate(self.docs):
                tf = doc.get(word, 0)
                if tf:
                    norm = self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avg)
                    out[i] += idf * tf * (self.k1 + 1) / (tf + norm)
        return out


def rrf(rankings: Sequence[Sequence[int]], k: int = 60) -> list[int]:
    """Reciprocal rank fusion of several rankings of passage indices."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, idx in enumerate(ranking):
            fused[idx] = fused.get(idx, 0.0) + 1.0 / (k + rank + 1)
    return sorted(fused, key=lambda i: -fused[i])


def evaluate(tops: Sequence[Top], questions: Sequence[dict[str, Any]]) -> dict[str, float]:
    """recall@1, recall@5 and MRR@10 of each question's retrieved (file, page) list."""
    found1 = found5 = 0
    mrr = 0.0
    for top, q in zip(tops, questions, strict=True):
        hits = [r for r, where in enumerate(top[:10]) if where == (q["doc"], q["page"])]
        if hits:
            found1 += hits[0] == 0
            found5 += hits[0] < 5
            mrr += 1.0 / (hits[0] + 1)
    n = len(questions)
    return {"recall@1": round(found1 / n, 3), "recall@5": round(found5 / n, 3),
            "mrr@10": round(mrr / n, 3)}


async def in_memory(embedder: Embedder, questions: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Dense, BM25 and fused rankings computed here over membot's chunks."""
    chunks = load_chunks()
    started = time.perf_counter()
    passages = await embedder.embed([c.text for c in chunks])
    queries = await embedder.embed([q["question"] for q in questions])
    embed_s = time.perf_counter() - started
    dense = np.argsort(-(queries @ passages.T), axis=1)
    bm25 = BM25([c.text for c in chunks])
    keyword = [list(np.argsort(-bm25.scores(q["question"]))) for q in questions]

    def where(rankings: Sequence[Sequence[int]]) -> list[Top]:
        return [[(chunks[i].doc, chunks[i].page) for i in ranking[:10]] for ranking in rankings]

    return {
        "passages": len(chunks), "embedding_seconds": round(embed_s, 2),
        "dense": evaluate(where([list(row) for row in dense]), questions),
        "bm25": evaluate(where(keyword), questions),
        "hybrid_rrf": evaluate(where([rrf([list(dense[i][:50]), keyword[i][:50]])
                                      for i in range(len(questions))]), questions),
    }


async def run() -> dict[str, Any]:
    """Every measurement, as the JSON document ``main`` prints."""
    from agent_core.backends.embedders import LocalEmbedder

    questions = [json.loads(line) for line in
                 (HERE / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    embedder = LocalEmbedder()
    await embedder.warmup()
    started = time.perf_counter()
    documents = [HERE / "documents" / name for name in DOCS]
    product: dict[str, Any] = {"default": EngineConfig(data_dir=HERE).retrieval}
    for retrieval in ("hybrid", "dense"):
        tops, facts = await product_rankings(embedder, documents, questions, retrieval)
        product[retrieval] = {**evaluate(tops, questions), **facts}
    return {"documents": list(DOCS), "questions": len(questions),
            "embedding_model": embedder.name, "product": product,
            "in_memory": await in_memory(embedder, questions),
            "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    """Run the evaluation and print (and optionally save) the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = asyncio.run(run())
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
