"""The product path of the retrieval evaluation: membot's own engine end to end.

The three documents are loaded with ``Engine.load_source`` into a temporary data
directory (real Milvus Lite, the real local embedder, the real keyword index) and
every question is asked through ``Engine.search_sources`` — exactly what
``membot search`` and an agent's ``archival_memory_search`` run.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from agent_core.config import EngineConfig
from agent_core.domain import UploadedFile
from agent_core.engine import Engine
from agent_core.ports import Embedder
from agent_core.testing import ScriptedChatModel

WORKSPACE = "eval"
SOURCE = "licences"
DEPTH = 10  # passages fetched per question (recall@1, recall@5, MRR@10)

Top = list[tuple[str, int]]  # (file, page) of each retrieved passage, best first


async def product_rankings(
    embedder: Embedder, documents: Sequence[Path], questions: Sequence[dict[str, Any]],
    retrieval: Literal["hybrid", "dense"],
) -> tuple[list[Top], dict[str, Any]]:
    """Load ``documents`` into a fresh engine and ask every question.

    Returns each question's retrieved (file, page) list and facts about the run
    (passages stored, load seconds, median query milliseconds).
    """
    with tempfile.TemporaryDirectory(prefix="membot-eval-") as tmp:
        config = EngineConfig(data_dir=Path(tmp), retrieval=retrieval)
        # No chat model is ever called: the evaluation only loads and searches.
        async with await Engine.open(config, chat_model=ScriptedChatModel(),
                                     embedder=embedder) as engine:
            files = [UploadedFile(p.name, p.read_bytes()) for p in documents]
            started = time.perf_counter()
            report = await engine.load_source(WORKSPACE, SOURCE, files)
            load_seconds = time.perf_counter() - started
            if report.skipped:
                raise RuntimeError(f"documents were skipped: {report.summary()}")
            tops: list[Top] = []
            timings: list[float] = []
            for question in questions:
                started = time.perf_counter()
                found = await engine.search_sources(WORKSPACE, [SOURCE], question["question"],
                                                    k=DEPTH)
                timings.append(time.perf_counter() - started)
                tops.append([(p.doc, p.page) for p in found])
            archive = type(engine.archive).__name__
    facts = {"archive": archive, "passages": report.passages,
             "load_seconds": round(load_seconds, 2),
             "query_ms_median": round(1000 * statistics.median(timings), 1)}
    return tops, facts
