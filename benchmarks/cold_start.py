"""Cold start (issue 7, target 5): from launching ``membot chat`` to the first reply <= 3 s.

``membot chat`` (``python -m bot.cli chat``) is started as a child process with its
stdin piped; one line is written at once, and the clock stops when the process prints
the agent's reply. The model is an instant local OpenAI-compatible server (a separate
process). Two cases: a fresh data directory (the state database and the Milvus Lite
archive are created) and an existing one (second start). Baselines beside it: the
bare interpreter, and importing the heavy libraries a naive start would load eagerly.

    python benchmarks/cold_start.py            # ~1 minute
    python benchmarks/cold_start.py --quick    # smoke run
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from common import (
    ROOT,
    ModelServerProcess,
    machine_info,
    parser,
    percentiles,
    print_table,
    write_json,
)

TARGET_S = 3.0
BASELINES = {
    "python -c pass": "pass",
    "import torch + sentence_transformers": "import sentence_transformers",
    "import pymilvus + milvus_lite": "import pymilvus, milvus_lite",
    "import openai": "import openai",
    "import + open a fresh Milvus Lite archive": (
        "import asyncio, tempfile\n"
        "from agent_core.backends.milvus_archive import MilvusArchive\n"
        "async def main():\n"
        "    with tempfile.TemporaryDirectory() as d:\n"
        "        a = await MilvusArchive.open(d + '/archive.db', dimension=384,"
        " embedding_model='m')\n"
        "        await a.aclose()\n"
        "asyncio.run(main())"),
}


async def first_reply(env: dict[str, str], limit: float = 120.0) -> tuple[float, float]:
    """Seconds from launch to the first ``agent>`` line, and to exit after stdin closes."""
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "chat", cwd=ROOT, env={**os.environ, **env},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(b"hello there\n")
    await proc.stdin.drain()
    try:
        while True:
            line = await asyncio.wait_for(proc.stdout.readline(), limit)
            if not line:
                err = (await proc.stderr.read()).decode(errors="replace")[-2000:]
                raise RuntimeError(f"membot chat exited without a reply:\n{err}")
            if line.startswith(b"agent> "):
                break
        replied = time.perf_counter() - start
        proc.stdin.close()
        closing = time.perf_counter()
        await asyncio.wait_for(proc.wait(), limit)
        return replied, time.perf_counter() - closing
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def baseline(code: str) -> float:
    """Seconds a fresh interpreter takes to run ``code``."""
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, cwd=ROOT)
    await proc.wait()
    return time.perf_counter() - start


async def run(args: Any) -> dict[str, Any]:
    """Measure fresh and existing data directories, then the baselines."""
    cases: dict[str, dict[str, Any]] = {}
    async with ModelServerProcess() as server:
        env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": server.api_key,
               "MEMBOT_MODEL": "bench-model", "MEMBOT_LOG_LEVEL": "WARNING"}
        fresh, again, exits = [], [], []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="membot-bench-cold-") as tmp:
                env["MEMBOT_DATA_DIR"] = tmp
                reply, exit_s = await first_reply(env)
                fresh.append(reply)
                exits.append(exit_s)
                again.append((await first_reply(env))[0])
    cases["membot chat, fresh data dir"] = percentiles(fresh)
    cases["membot chat, existing data dir"] = percentiles(again)
    cases["exit after stdin closes"] = percentiles(exits)
    baselines = list(BASELINES.items())[:1] if args.quick else BASELINES.items()
    for name, code in baselines:
        cases[f"baseline: {name}"] = percentiles([await baseline(code)
                                                  for _ in range(max(1, args.runs // 2))])
    print_table(["seconds", "p50", "max", "target"],
                [[name, c["p50"], c["max"], TARGET_S if name.startswith("membot") else None]
                 for name, c in cases.items()])
    worst = max(cases["membot chat, fresh data dir"]["p50"],
                cases["membot chat, existing data dir"]["p50"])
    return {"benchmark": "cold_start", "machine": machine_info(),
            "params": {"runs": args.runs, "quick": args.quick},
            "target": {"seconds": TARGET_S, "measured_p50_s": worst, "met": worst <= TARGET_S},
            "cases": cases}


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run, print and write the JSON results."""
    p = parser(__doc__ or "", "cold_start")
    p.add_argument("--runs", type=int, default=5, help="launches per case")
    args = p.parse_args(argv)
    if args.quick:
        args.runs = 1
    write_json(args.out, asyncio.run(run(args)))


if __name__ == "__main__":
    main()
