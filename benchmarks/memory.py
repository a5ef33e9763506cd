"""Memory (issue 7, target 6): RSS with 1,000 agents that spoke in the last hour <= 1.5 GB.

One process (plus Milvus Lite, counted with its children) opens the engine with the
real local embedding model loaded, real SQLite and Milvus Lite, and an instant
in-process model. Each of 1,000 conversations then talks for a few turns (its agent
stays loaded: ``idle_seconds`` is one hour), stores passages in archival memory and
searches them once (so the archive's vector cache holds them too). RSS is read from
/proc at each stage.

    python benchmarks/memory.py            # ~2 minutes
    python benchmarks/memory.py --quick    # smoke run
"""

from __future__ import annotations

import asyncio
import gc
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from common import machine_info, parser, print_table, rss_bytes, script, write_json

from agent_core.backends.embedders import LocalEmbedder
from agent_core.config import EngineConfig
from agent_core.domain import (
    ChatMessage,
    Completion,
    ConversationKey,
    IncomingMessage,
    PassageRecord,
)
from agent_core.engine import Engine
from agent_core.testing import call_tool, last_user_text

TARGET_BYTES = int(1.5 * 2**30)
MB = 2**20


class InstantModel:
    """An in-process chat model: echoes, or searches archival memory when asked to."""

    model = "bench-model"

    async def complete(self, messages: Sequence[ChatMessage],
                       tools: Sequence[dict[str, Any]]) -> Completion:
        """Answer at once."""
        if tools and messages[-1].role == "user" and \
                last_user_text(messages).startswith("search"):
            return call_tool("archival_memory_search", heartbeat=True, query="the project plan")
        return script(messages, bool(tools))


async def populate(engine: Engine, agents: int, turns: int, passages: int) -> None:
    """Every agent talks ``turns`` times, gets ``passages`` archival passages, searches once."""
    rng = np.random.default_rng(3)
    now = datetime.now(UTC)
    for a in range(agents):
        key = ConversationKey("bench", f"w{a % 10}", f"user-{a}")
        for t in range(turns - 1):
            text = f"message {t} of user {a}: " + "some words about the week " * 6
            await engine.handle(IncomingMessage(key, text))
        rec = await engine.state.active_agent(str(key))
        assert rec is not None
        vectors = rng.standard_normal((passages, engine.embedder.dimension)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        await engine.archive.insert([PassageRecord(f"memory {i} of user {a} " * 8, v, rec.id,
                                                   key.workspace, now)
                                     for i, v in enumerate(vectors)])
        await engine.forget_cached(str(key))  # counts include the new passages
        await engine.handle(IncomingMessage(key, "search my memories"))
        if (a + 1) % 100 == 0:
            print(f"  {a + 1} agents, RSS {rss_bytes() / MB:.0f} MB", flush=True)


async def run(args: Any) -> dict[str, Any]:
    """RSS at each stage of building up ``args.agents`` live agents."""
    stages: list[tuple[str, int]] = [("interpreter + imports", rss_bytes())]
    embedder = LocalEmbedder()
    await embedder.warmup()
    await embedder.embed(["warm up the model"])
    stages.append(("+ embedding model loaded", rss_bytes()))
    with tempfile.TemporaryDirectory(prefix="membot-bench-mem-") as tmp:
        config = EngineConfig(data_dir=Path(tmp), model="bench-model", idle_seconds=3600)
        async with await Engine.open(config, chat_model=InstantModel(),
                                     embedder=embedder) as engine:
            stages.append(("+ engine open (SQLite, Milvus Lite)", rss_bytes()))
            await populate(engine, args.agents, args.turns, args.passages)
            gc.collect()
            loaded = engine.loaded_agents
            stages.append((f"+ {args.agents} agents loaded", rss_bytes()))
            own = rss_bytes(children=False)
    total = stages[-1][1]
    per_agent = (total - stages[2][1]) / max(1, args.agents)
    print_table(["stage", "RSS MB", "target MB"],
                [[name, round(b / MB), round(TARGET_BYTES / MB) if i == len(stages) - 1 else None]
                 for i, (name, b) in enumerate(stages)])
    print(f"agents held in memory: {loaded}; per agent: {per_agent / 1024:.0f} KB; "
          f"main process alone: {own / MB:.0f} MB")
    return {"benchmark": "memory", "machine": machine_info(),
            "params": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "stages_mb": {name: round(b / MB, 1) for name, b in stages},
            "rss_mb": round(total / MB, 1), "main_process_mb": round(own / MB, 1),
            "agents_loaded": loaded, "per_agent_kb": round(per_agent / 1024, 1),
            "target": {"rss_mb": round(TARGET_BYTES / MB), "met": total <= TARGET_BYTES}}


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run, print and write the JSON results."""
    p = parser(__doc__ or "", "memory")
    p.add_argument("--agents", type=int, default=1000)
    p.add_argument("--turns", type=int, default=6, help="turns per agent (the last searches)")
    p.add_argument("--passages", type=int, default=20, help="archival passages per agent")
    args = p.parse_args(argv)
    if args.quick:
        args.agents, args.turns, args.passages = 30, 2, 5
    write_json(args.out, asyncio.run(run(args)))


if __name__ == "__main__":
    main()
