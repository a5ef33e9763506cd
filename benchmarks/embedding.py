"""Local embedding speed, and what a faster path costs in retrieval quality.

Embeds ~300-token chunks of English prose (docstrings of Python's standard library:
deterministic, offline) with the shipped all-MiniLM-L6-v2 through membot's
``LocalEmbedder`` (sentence-transformers, float32), and with the same model after
PyTorch dynamic int8 quantization of its Linear layers. For each: chunks/s at the
ingest batch size, single-query latency, and retrieval quality: top-1 self-retrieval
(a sentence from a chunk must find that chunk), recall@10 against the float32
ranking, and mean cosine to the float32 vectors.

    python benchmarks/embedding.py --out benchmarks/results/embedding.json
    python benchmarks/embedding.py --quick
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import pkgutil
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent_core.backends.embedders import LocalEmbedder, _load

WORDS_PER_CHUNK = 220  # ~300 word-piece tokens: the ingest pipeline's chunk size
K = 10
Encode = Callable[[list[str]], np.ndarray]


def corpus(chunks: int) -> list[str]:
    """Chunks of prose from standard-library docstrings, in a fixed order."""
    words: list[str] = []
    names = sorted(
        m.name
        for m in pkgutil.iter_modules()
        if m.module_finder
        and "lib/python3" in str(getattr(m.module_finder, "path", ""))
        and not m.name.startswith("_")
    )
    for name in names:
        try:
            module = importlib.import_module(name)
        except Exception:
            continue
        for obj in [module, *(v for _, v in sorted(vars(module).items()) if callable(v))]:
            doc = inspect.getdoc(obj) or ""
            if len(doc) > 400 and ">>>" not in doc:
                words.extend(doc.split())
        if len(words) >= chunks * WORDS_PER_CHUNK:
            break
    out = [" ".join(words[i : i + WORDS_PER_CHUNK]) for i in range(0, len(words), WORDS_PER_CHUNK)]
    return out[:chunks]


def queries_for(chunks: Sequence[str], count: int) -> list[tuple[str, int]]:
    """A mid-chunk sentence of ~8-30 words per chunk, with the chunk it came from."""
    found = []
    step = max(1, len(chunks) // count)
    for index in range(0, len(chunks), step):
        sentences = [
            s for s in re.split(r"(?<=[.!?])\s+", chunks[index]) if 8 <= len(s.split()) <= 30
        ]
        if sentences:
            found.append((sentences[len(sentences) // 2], index))
    return found[:count]


def variants(batch_size: int) -> dict[str, Encode]:
    """The encoders compared: membot's float32 path and a dynamic-int8 copy of the model."""
    import copy

    import torch

    embedder = LocalEmbedder(batch_size=batch_size)
    model, _ = _load(embedder._path)
    quantized = torch.ao.quantization.quantize_dynamic(
        copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8
    )

    def encoder(m: Any) -> Encode:
        return lambda texts: np.asarray(
            m.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ),
            dtype=np.float32,
        )

    return {
        "LocalEmbedder (sentence-transformers, float32)": embedder._encode,
        "torch dynamic int8 (Linear layers)": encoder(quantized),
    }


def measure(encode: Encode, chunks: list[str], queries: list[str]) -> dict[str, Any]:
    encode(chunks[:8])  # warm-up
    start = time.perf_counter()
    docs = encode(chunks)
    seconds = time.perf_counter() - start
    single = []
    for text in queries[:30]:
        begin = time.perf_counter()
        encode([text])
        single.append(time.perf_counter() - begin)
    return {
        "chunks_per_s": round(len(chunks) / seconds, 1),
        "seconds": round(seconds, 2),
        "query_p50_ms": round(statistics.median(single) * 1e3, 2),
        "docs": docs,
        "queries": encode(queries),
    }


def quality(result: dict[str, Any], base: dict[str, Any], sources: list[int]) -> dict[str, float]:
    scores = result["queries"] @ result["docs"].T
    base_scores = base["queries"] @ base["docs"].T
    top = np.argsort(-scores, axis=1)[:, :K]
    base_top = np.argsort(-base_scores, axis=1)[:, :K]
    overlap = [len(set(a) & set(b)) / K for a, b in zip(top, base_top, strict=True)]
    return {
        "top1_self_retrieval": round(float(np.mean(top[:, 0] == np.asarray(sources))), 4),
        "recall_at_10_vs_float32": round(float(np.mean(overlap)), 4),
        "mean_cosine_to_float32": round(
            float(np.mean(np.sum(result["docs"] * base["docs"], 1))), 5
        ),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    chunks = corpus(args.chunks)
    pairs = queries_for(chunks, args.queries)
    queries, sources = [q for q, _ in pairs], [i for _, i in pairs]
    results: dict[str, dict[str, Any]] = {}
    for name, encode in variants(args.batch_size).items():
        results[name] = measure(encode, chunks, queries)
    base = next(iter(results.values()))
    rows = []
    for name, result in results.items():
        row = {"variant": name, **{k: v for k, v in result.items() if k not in ("docs", "queries")}}
        row.update(quality(result, base, sources))
        row["speedup"] = round(result["chunks_per_s"] / base["chunks_per_s"], 2)
        rows.append(row)
    print(f"{len(chunks)} chunks of ~{WORDS_PER_CHUNK} words, {len(queries)} queries")
    print(
        f"{'variant':<48} {'chunks/s':>9} {'x':>5} {'q p50 ms':>9}"
        f" {'top1':>6} {'R@10':>6} {'cos':>8}"
    )
    for r in rows:
        print(
            f"{r['variant']:<48} {r['chunks_per_s']:>9} {r['speedup']:>5} {r['query_p50_ms']:>9}"
            f" {r['top1_self_retrieval']:>6} {r['recall_at_10_vs_float32']:>6}"
            f" {r['mean_cosine_to_float32']:>8}"
        )
    import torch

    machine = {
        "cpus": torch.get_num_threads(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    params = {k: v for k, v in vars(args).items() if k != "out"}
    return {"machine": machine, "params": params, "chunks": len(chunks), "variants": rows}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=512)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="96 chunks: a smoke run")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.chunks, args.queries = 96, 40
    result = run(args)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
