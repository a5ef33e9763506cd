"""Ingestion benchmark: time to make a 50-page PDF searchable vs embedding its chunks alone.

Run from the repository root: ``python -m benchmarks.ingestion``. Writes
``benchmarks/results/ingestion.json``. The PDF is generated with fpdf2 from the
licence texts of ``eval/documents``; the embedder is the local model and the
archive a fresh Milvus Lite file, as in a default install.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from fpdf import FPDF

from agent_core.backends.embedders import LocalEmbedder
from agent_core.backends.milvus_archive import MilvusArchive
from agent_core.backends.sqlite_state import SqliteState
from agent_core.config import EngineConfig
from agent_core.domain import UploadedFile
from agent_core.ingest.chunking import Chunker
from agent_core.ingest.loaders import load_document
from agent_core.ingest.pipeline import IngestPipeline

ROOT = Path(__file__).resolve().parents[1]
PAGES = 50


def make_pdf(pages: int = PAGES) -> bytes:
    """A text PDF of exactly ``pages`` pages."""
    texts = [(ROOT / "eval" / "documents" / n).read_text() for n in ("GPL-3", "MPL-2.0")]
    paragraphs = [" ".join(p.split()) for t in texts for p in t.split("\n\n") if p.strip()]
    pdf = FPDF(format="A4")
    pdf.set_font("Times", size=11)
    i = 0
    while pdf.pages_count < pages or pdf.get_y() < 250:
        if pdf.pages_count == 0:
            pdf.add_page()
        pdf.multi_cell(0, 5, paragraphs[i % len(paragraphs)])
        pdf.ln(2)
        i += 1
        if pdf.pages_count > pages:
            raise RuntimeError("overshot the page count")
        if pdf.pages_count == pages and pdf.get_y() > 240:
            break
    return bytes(pdf.output())


async def embed_alone(embedder: LocalEmbedder, texts: list[str], batch: int) -> float:
    """Seconds to embed ``texts`` in batches, nothing else."""
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        await embedder.embed(texts[i:i + batch])
    return time.perf_counter() - started


async def ingest(embedder: LocalEmbedder, data: bytes, config: EngineConfig) -> dict[str, Any]:
    """Load the PDF into a fresh state store and archive; time load and first searches."""
    state = await SqliteState.open(config.state_path)
    archive = await MilvusArchive.open(config.archive_uri, dimension=embedder.dimension,
                                       embedding_model=embedder.name)
    try:
        pipeline = IngestPipeline(state, archive, embedder, config)
        started = time.perf_counter()
        report = await pipeline.load("bench", "paper", [UploadedFile("paper.pdf", data)])
        loaded = time.perf_counter() - started
        source = await state.get_source("bench", "paper")
        assert source is not None
        vector = (await embedder.embed(["patent licence termination"]))[0]
        lat = []
        for _ in range(5):
            t0 = time.perf_counter()
            hits = await archive.search("patent", vector, [source.id], 5)
            lat.append(time.perf_counter() - t0)
        assert hits, "nothing searchable after the load"
        return {"load_s": loaded, "passages": report.passages, "pages": report.pages,
                "first_search_ms": lat[0] * 1000,
                "later_search_ms": statistics.median(lat[1:]) * 1000}
    finally:
        await archive.aclose()
        await state.aclose()


async def main() -> None:
    """Run both measurements side by side and write the JSON result."""
    data = make_pdf()
    with tempfile.TemporaryDirectory() as tmp:
        config = EngineConfig(data_dir=Path(tmp))
        doc = load_document(UploadedFile("paper.pdf", data), max_bytes=config.max_file_bytes)
        chunks = Chunker(config.chunk_tokens, config.chunk_overlap).chunk_pages("p", doc.pages)
        texts = [c.text for c in chunks]
        embedder = LocalEmbedder()
        await embedder.warmup()
        await embed_alone(embedder, texts[:64], config.embedding_batch_size)  # warm kernels
        alone = [await embed_alone(embedder, texts, config.embedding_batch_size)]
        run = await ingest(embedder, data, config)
        alone.append(await embed_alone(embedder, texts, config.embedding_batch_size))
    embed_s = statistics.mean(alone)
    searchable_s = run["load_s"] + run["first_search_ms"] / 1000
    result = {
        "pages": run["pages"], "passages": run["passages"], "pdf_bytes": len(data),
        "embedding_alone_s": round(embed_s, 3),
        "embedding_alone_runs_s": [round(a, 3) for a in alone],
        "load_s": round(run["load_s"], 3), "searchable_s": round(searchable_s, 3),
        "ratio_searchable_to_embedding": round(searchable_s / embed_s, 3), "target_ratio": 1.2,
        "pages_per_s": round(run["pages"] / searchable_s, 1),
        "chunks_per_s": round(run["passages"] / searchable_s, 1),
        "first_search_ms": round(run["first_search_ms"], 2),
        "later_search_ms": round(run["later_search_ms"], 2),
    }
    out = ROOT / "benchmarks" / "results" / "ingestion.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
