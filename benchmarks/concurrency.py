"""Concurrency (issue 7, target 4): 200 conversations at once, throughput >= 90% of 64 turns/s.

A local OpenAI-compatible model server (a child process) answers every request after
500 ms and serves at most 32 requests at a time, so no client can do better than
32 / 0.5 s = 64 one-step turns per second. The engine (real SQLite, real Milvus Lite,
the real ``openai`` client) gets ``llm_concurrency=32`` to match the provider.
Every conversation sends its messages all at once; the benchmark checks that each
message is answered exactly once, in the order it was sent (replies and recall), and
reports throughput against the ceiling, latency, and queueing:

- ``queue``: from sending a message to the start of its model call (includes waiting
  for the conversation's earlier messages: one agent answers in order);
- ``slot wait``: from the moment the agent was free (its previous turn done, or the
  message sent) to the start of the model call: waiting for one of the 32 model
  slots plus the engine's own work before the call.

    python benchmarks/concurrency.py            # ~30 s
    python benchmarks/concurrency.py --quick    # smoke run
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import (
    ModelServerProcess,
    TimedChatModel,
    machine_info,
    parser,
    percentiles,
    print_table,
    write_json,
)

from agent_core.backends.embedders import LocalEmbedder
from agent_core.backends.openai_chat import OpenAIChatModel
from agent_core.config import EngineConfig
from agent_core.domain import ChatMessage, ConversationKey, IncomingMessage, Reply
from agent_core.engine import Engine
from agent_core.testing import last_user_text

TARGET_FRACTION = 0.9


class Run:
    """What the benchmark records while turns run."""

    def __init__(self) -> None:
        self.submitted: dict[str, float] = {}
        self.done: dict[str, float] = {}
        self.replies: dict[int, list[str]] = defaultdict(list)
        self.errors: list[str] = []

    def collector(self, conv: int) -> Any:
        """An ``on_reply`` callback recording a conversation's replies in arrival order."""
        async def on_reply(reply: Reply) -> None:
            self.replies[conv].append(reply.text if reply.kind == "message" else
                                      f"[{reply.kind}] {reply.text}")
        return on_reply


def text_of(conv: int, j: int) -> str:
    """The j-th message of conversation ``conv`` (unique, so calls map back to turns)."""
    return f"c{conv} m{j}"


async def one_turn(engine: Engine, run: Run, conv: int, j: int) -> None:
    """Send one message and record when it was sent and answered."""
    key = ConversationKey("bench", "w1", f"user-{conv}")
    text = text_of(conv, j)
    run.submitted[text] = time.perf_counter()
    try:
        await engine.handle(IncomingMessage(key, text, message_id=f"{conv}-{j}"),
                            on_reply=run.collector(conv))
    except Exception as exc:
        run.errors.append(f"{text}: {exc!r}")
    run.done[text] = time.perf_counter()


async def order_in_recall(engine: Engine, conversations: int, per: int) -> int:
    """Conversations whose stored user messages are not exactly the sent ones, in order."""
    bad = 0
    for conv in range(conversations):
        rec = await engine.state.active_agent(str(ConversationKey("bench", "w1", f"user-{conv}")))
        stored = [] if rec is None else await engine.state.all_messages(rec.id)
        said = [last_user_text([ChatMessage("user", m.content)]) for m in stored
                if m.role == "user"]
        bad += said != [text_of(conv, j) for j in range(per)]
    return bad


def analyse(run: Run, model: TimedChatModel, conversations: int, per: int) -> dict[str, Any]:
    """Throughput, ordering and latency/queueing percentiles of a finished run."""
    starts = {text: start for start, _, text in model.calls}
    queue, slot_wait, latency = [], [], []
    for conv in range(conversations):
        free = 0.0
        for j in range(per):
            text = text_of(conv, j)
            sent, done = run.submitted[text], run.done[text]
            latency.append((done - sent) * 1000)
            if text in starts:
                queue.append((starts[text] - sent) * 1000)
                slot_wait.append((starts[text] - max(sent, free)) * 1000)
            free = done
    expected = {c: [f"echo: {text_of(c, j)}" for j in range(per)] for c in range(conversations)}
    out_of_order = sum(1 for c in range(conversations)
                       if sorted(run.replies[c]) == sorted(expected[c])
                       and run.replies[c] != expected[c])
    answered = sum(len(set(run.replies[c]) & set(expected[c])) for c in range(conversations))
    t0 = min(run.submitted.values())
    wall = max(run.done.values()) - t0
    turns = conversations * per
    firsts = [(starts[text_of(c, 0)] - t0) for c in range(conversations) if text_of(c, 0) in starts]
    return {"turns": turns, "wall_s": round(wall, 3), "turns_per_s": round(turns / wall, 2),
            "answered": answered, "lost": turns - answered, "errors": run.errors[:5],
            "extra_replies": sum(len(run.replies[c]) for c in run.replies) - answered,
            "out_of_order_conversations": out_of_order,
            "latency_ms": percentiles(latency), "queue_ms": percentiles(queue),
            "slot_wait_ms": percentiles(slot_wait),
            "model_call_ms": percentiles([(e - s) * 1000 for s, e, _ in model.calls]),
            "mean_model_calls_in_flight": round(sum(e - s for s, e, _ in model.calls) / wall, 2),
            "last_first_call_s": round(max(firsts, default=0.0), 3)}


async def run_load(args: Any, data_dir: Path) -> dict[str, Any]:
    """Open an engine against the model server and send every message at once."""
    async with ModelServerProcess(latency=args.latency, max_concurrency=args.provider_slots) as srv:
        config = EngineConfig(data_dir=data_dir, model="bench-model",
                              llm_concurrency=args.llm_concurrency, idle_seconds=3600)
        model = TimedChatModel(OpenAIChatModel("bench-model", api_key=srv.api_key,
                                               base_url=srv.base_url, max_retries=0))
        async with await Engine.open(config, chat_model=model, embedder=LocalEmbedder()) as eng:
            run = Run()
            cpu0, t0 = time.process_time(), time.perf_counter()
            tasks = [asyncio.create_task(one_turn(eng, run, c, j), name=f"bench-{c}-{j}")
                     for j in range(args.messages) for c in range(args.conversations)]
            await asyncio.gather(*tasks)
            cpu = time.process_time() - cpu0
            wall = time.perf_counter() - t0
            result = analyse(run, model, args.conversations, args.messages)
            result["recall_out_of_order_conversations"] = await order_in_recall(
                eng, args.conversations, args.messages)
    result["engine_cpu_fraction_of_one_core"] = round(cpu / wall, 3)
    result["server"] = srv.stats
    return result


def report(result: dict[str, Any], ceiling: float) -> None:
    """Print throughput against the ceiling, the checks, and latency/queueing."""
    print_table(["figure", "measured", "ceiling / target"], [
        ["throughput, turns/s", result["turns_per_s"], ceiling],
        ["  fraction of the ceiling", round(result["turns_per_s"] / ceiling, 3), TARGET_FRACTION],
        ["messages lost", result["lost"], 0],
        ["conversations answered out of order", result["out_of_order_conversations"], 0],
        ["conversations stored out of order", result["recall_out_of_order_conversations"], 0],
        ["peak concurrent model calls", result["server"].get("peak_concurrency"), None],
        ["mean concurrent model calls", result["mean_model_calls_in_flight"], None],
        ["s until every conversation's first model call", result["last_first_call_s"], None],
        ["engine CPU, fraction of one core", result["engine_cpu_fraction_of_one_core"], None]])
    print()
    rows = [[name, *(result[key][p] for p in ("p50", "p95", "p99", "max"))]
            for name, key in (("latency (send -> answered)", "latency_ms"),
                              ("queue (send -> model call)", "queue_ms"),
                              ("slot wait (agent free -> model call)", "slot_wait_ms"),
                              ("model call (client + HTTP + 500 ms)", "model_call_ms"))]
    print_table(["ms", "p50", "p95", "p99", "max"], rows)


async def run(args: Any) -> dict[str, Any]:
    """One load run on a fresh data directory."""
    with tempfile.TemporaryDirectory(prefix="membot-bench-conc-") as tmp:
        result = await run_load(args, Path(tmp))
    ceiling = args.provider_slots / args.latency
    report(result, ceiling)
    fraction = result["turns_per_s"] / ceiling
    return {"benchmark": "concurrency", "machine": machine_info(),
            "params": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "ceiling_turns_per_s": ceiling,
            "target": {"fraction_of_ceiling": TARGET_FRACTION,
                       "measured_fraction": round(fraction, 3),
                       "met": fraction >= TARGET_FRACTION and result["lost"] == 0
                       and result["out_of_order_conversations"] == 0},
            "result": result}


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run, print and write the JSON results."""
    p = parser(__doc__ or "", "concurrency")
    p.add_argument("--conversations", type=int, default=200)
    p.add_argument("--messages", type=int, default=5, help="messages each conversation sends")
    p.add_argument("--latency", type=float, default=0.5, help="model server seconds per call")
    p.add_argument("--provider-slots", type=int, default=32,
                   help="concurrent calls the model server serves")
    p.add_argument("--llm-concurrency", type=int, default=32, help="the engine's model slots")
    args = p.parse_args(argv)
    if args.quick:
        args.conversations, args.messages, args.latency = 40, 2, 0.1
    write_json(args.out, asyncio.run(run(args)))


if __name__ == "__main__":
    main()
