"""Engine overhead per turn (issue 7, target 3): p50 <= 15 ms for a turn with one tool call.

An agent with 10,000 messages in recall and 5,000 archival passages (real SQLite, real
Milvus Lite, the real local embedding model) answers turns from an instant model, two
ways side by side:

- ``in-process``: a scripted in-process chat model (no HTTP): the turn's wall time is the
  engine's own work;
- ``http``: the real ``openai`` client against a local OpenAI-compatible server
  (``FakeOpenAIServer``, same process); the time spent inside the chat model
  (client, HTTP, server) is measured per call and subtracted.

Three turn shapes: the model answers with ``send_message`` (one model call, one tool
call: the target's case); ``conversation_search`` then ``send_message``; and
``archival_memory_search`` (embeds the query, searches 5,000 passages) then
``send_message``. The baseline is Letta 0.16.8 on this machine (issue 7): 624 ms per
one-step turn, 195 ms with pooled database connections.

    python benchmarks/engine_turn.py            # ~1-2 minutes
    python benchmarks/engine_turn.py --quick    # smoke run
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from common import (
    TimedChatModel,
    body_messages,
    machine_info,
    parser,
    percentiles,
    print_table,
    script,
    write_json,
)

from agent_core import prompts
from agent_core.backends.embedders import LocalEmbedder
from agent_core.config import EngineConfig
from agent_core.domain import (
    ChatMessage,
    Completion,
    ConversationKey,
    IncomingMessage,
    PassageRecord,
    ToolCall,
)
from agent_core.engine import Engine
from agent_core.state import NewMessage
from agent_core.testing import FakeOpenAIServer, call_tool

Shape = Literal["send_message", "conversation_search", "archival_memory_search"]
SHAPES: tuple[Shape, ...] = ("send_message", "conversation_search", "archival_memory_search")
CONVERSATION = ConversationKey("bench", "w1", "heavy-user")
LETTA_MS = 624.0
LETTA_POOLED_MS = 195.0
TARGET_MS = 15.0
WORDS = ("budget offsite meeting report travel invoice project deadline family garden "
         "recipe concert holiday doctor insurance mortgage python database kitchen train "
         "weather football novel camera laptop schedule birthday salary contract").split()


class Scenario:
    """Which tool the model calls first; shared by both model transports."""

    def __init__(self) -> None:
        self.shape: Shape = "send_message"
        self.model = "bench-model"

    def answer(self, messages: Sequence[ChatMessage], last_role: str,
               has_tools: bool) -> Completion:
        """The model's answer to a request."""
        if not has_tools or last_role == "tool" or self.shape == "send_message":
            return script(messages, has_tools)
        return call_tool(self.shape, heartbeat=True, query="offsite budget meeting")

    async def complete(self, messages: Sequence[ChatMessage],
                       tools: Sequence[dict[str, Any]]) -> Completion:
        """In-process ``ChatModel``: answer at once, with no transport at all."""
        return self.answer(messages, messages[-1].role, bool(tools))

    def http(self, body: dict[str, Any]) -> Completion:
        """Over HTTP: answer from the request body."""
        return self.answer(body_messages(body), body["messages"][-1]["role"],
                           bool(body.get("tools")))


def _sentence(rng: random.Random, n: int = 12) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _exchange(rng: random.Random, i: int, now: datetime) -> list[NewMessage]:
    said = _sentence(rng)
    answer = _sentence(rng, 16)
    call = ToolCall(f"call_seed_{i}", "send_message", f'{{"message": "{answer}"}}')
    return [NewMessage("user", prompts.pack_user_message(said, None, now), search_text=said),
            NewMessage("assistant", None, tool_calls=(call,), search_text=answer),
            NewMessage("tool", '{"status": "OK", "message": "None"}', tool_call_id=call.id,
                       name="send_message")]


async def seed(engine: Engine, messages: int, passages: int, window: int) -> str:
    """Give the conversation's agent ``messages`` in recall and ``passages`` in archival."""
    await engine.handle(IncomingMessage(CONVERSATION, "hello"))
    rec = await engine.state.active_agent(str(CONVERSATION))
    assert rec is not None
    rng, now = random.Random(7), datetime.now(UTC)
    batch: list[NewMessage] = []
    for i in range(messages // 3):
        batch += _exchange(rng, i, now)
        if len(batch) >= 600 or i == messages // 3 - 1:
            last = i >= messages // 3 - window // 3
            await engine.state.commit_step(rec, batch, in_context=last)
            batch = []
    vectors = np.random.default_rng(7).standard_normal((passages, engine.embedder.dimension))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for start in range(0, passages, 500):
        await engine.archive.insert([
            PassageRecord(_sentence(rng, 40), vectors[j].astype(np.float32), rec.id, "w1", now)
            for j in range(start, min(passages, start + 500))])
    flush = getattr(engine.archive, "flush", None)
    if flush is not None:
        await flush()
    await engine.forget_cached(str(CONVERSATION))
    return rec.id


async def measure(engine: Engine, model: TimedChatModel, scenario: Scenario, shape: Shape,
                  turns: int, warmup: int) -> dict[str, Any]:
    """Run turns of one shape; overhead = wall time minus time inside the chat model."""
    scenario.shape = shape
    overhead, wall, model_ms = [], [], []
    for i in range(warmup + turns):
        before = len(model.calls)
        start = time.perf_counter()
        result = await engine.handle(IncomingMessage(CONVERSATION, f"turn {i} about {shape}"))
        elapsed = time.perf_counter() - start
        assert result.replies and result.replies[0].text.startswith("echo: turn"), result
        if i >= warmup:
            spent = model.model_seconds(before)
            wall.append(elapsed * 1000)
            model_ms.append(spent * 1000)
            overhead.append((elapsed - spent) * 1000)
    return {"shape": shape, "overhead_ms": percentiles(overhead), "wall_ms": percentiles(wall),
            "model_ms": percentiles(model_ms)}


async def run_transport(transport: str, args: Any, embedder: LocalEmbedder,
                        data_dir: Path) -> dict[str, Any]:
    """Seed one agent and measure every turn shape over one transport."""
    scenario = Scenario()
    config = EngineConfig(data_dir=data_dir, model="bench-model", idle_seconds=3600)
    server = FakeOpenAIServer(scenario.http, api_key="bench-key") if transport == "http" else None
    if server is not None:
        await server.__aenter__()
        from agent_core.backends.openai_chat import OpenAIChatModel

        inner: Any = OpenAIChatModel("bench-model", api_key="bench-key",
                                     base_url=server.base_url)
    else:
        inner = scenario
    model = TimedChatModel(inner)
    try:
        async with await Engine.open(config, chat_model=model, embedder=embedder) as engine:
            t0 = time.perf_counter()
            agent_id = await seed(engine, args.messages, args.passages, args.window)
            seeded = time.perf_counter() - t0
            recall = await engine.state.count_messages(agent_id)
            archival = await engine.archive.count([agent_id])
            rows = [await measure(engine, model, scenario, shape, args.turns, args.warmup)
                    for shape in SHAPES]
            summaries = sum(1 for c in model.calls if not c[2])
    finally:
        if server is not None:
            await server.__aexit__(None, None, None)
    return {"transport": transport, "recall_messages": recall, "archival_passages": archival,
            "seed_seconds": round(seeded, 1), "summaries_during_run": summaries, "shapes": rows}


def report(results: list[dict[str, Any]]) -> None:
    """Print overhead per shape and transport beside the target and Letta's baseline."""
    rows = []
    for res in results:
        for s in res["shapes"]:
            o = s["overhead_ms"]
            rows.append([f"{res['transport']}: {s['shape']}", o["p50"], o["p95"], o["p99"],
                         s["model_ms"]["p50"], TARGET_MS if s["shape"] == "send_message" else None,
                         LETTA_MS, round(LETTA_MS / o["p50"], 1)])
    print_table(["turn (engine overhead, ms)", "p50", "p95", "p99", "model p50", "target",
                 "Letta", "x better"], rows)
    print(f"Letta with pooled connections: {LETTA_POOLED_MS:.0f} ms per one-step turn")


async def run(args: Any) -> dict[str, Any]:
    """Both transports on fresh data directories with one loaded embedding model."""
    embedder = LocalEmbedder()
    await embedder.warmup()
    results = []
    for transport in ("in-process", "http"):
        with tempfile.TemporaryDirectory(prefix="membot-bench-turn-") as tmp:
            results.append(await run_transport(transport, args, embedder, Path(tmp)))
    report(results)
    target_row = next(s for s in results[1]["shapes"] if s["shape"] == "send_message")
    p50 = target_row["overhead_ms"]["p50"]
    return {"benchmark": "engine_turn", "machine": machine_info(),
            "params": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "target": {"p50_ms": TARGET_MS, "case": "http: send_message",
                       "measured_p50_ms": p50, "met": p50 <= TARGET_MS},
            "baseline": {"letta_one_step_turn_ms": LETTA_MS,
                         "letta_pooled_one_step_turn_ms": LETTA_POOLED_MS},
            "results": results}


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run, print and write the JSON results."""
    p = parser(__doc__ or "", "engine_turn")
    p.add_argument("--messages", type=int, default=10_000, help="messages in recall")
    p.add_argument("--passages", type=int, default=5_000, help="archival passages")
    p.add_argument("--window", type=int, default=30, help="seeded messages in the window")
    p.add_argument("--turns", type=int, default=150, help="measured turns per shape")
    p.add_argument("--warmup", type=int, default=10)
    args = p.parse_args(argv)
    if args.quick:
        args.messages, args.passages, args.turns, args.warmup = 600, 300, 10, 2
    write_json(args.out, asyncio.run(run(args)))


if __name__ == "__main__":
    main()
